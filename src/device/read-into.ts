import type { BlockDevice } from './types.js';

/**
 * Fills `target` with the bytes of `dev` from `offset`: through the device's own `readInto`
 * where it has one (no allocation), else through `read` and a copy.
 */
export async function readInto(dev: BlockDevice, offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (dev.readInto) return dev.readInto(offset, target, signal);
  target.set(await dev.read(offset, target.length, signal));
}
