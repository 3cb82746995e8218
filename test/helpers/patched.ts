/** Devices that change another device's bytes the way a test needs, without copying it whole. */
import type { BlockDevice } from '../../src/index.js';
import { copyBytes } from '../../src/util/bytes.js';

/** `dev` with `bytes` written over it at `at`. */
export function patched(dev: BlockDevice, at: number, bytes: Uint8Array): BlockDevice {
  return {
    size: dev.size,
    label: `${dev.label} (patched)`,
    async read(offset, length, signal) {
      const out = copyBytes(await dev.read(offset, length, signal));
      const from = Math.max(at, offset);
      const to = Math.min(at + bytes.length, offset + length);
      for (let i = from; i < to; i++) out[i - offset] = bytes[i - at]!;
      return out;
    },
  };
}

/** `dev` followed by zeros up to `size` bytes (an image enlarged without touching its contents). */
export function grown(dev: BlockDevice, size: number): BlockDevice {
  return {
    size,
    label: `${dev.label} (grown)`,
    async read(offset, length, signal) {
      const out = new Uint8Array(length);
      const inside = Math.max(0, Math.min(length, dev.size - offset));
      if (inside > 0) out.set(await dev.read(offset, inside, signal));
      return out;
    },
  };
}
