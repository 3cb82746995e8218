import { DiskProbeError, ErrorCode } from '../errors.js';
import { checkRead } from './check.js';
import type { BlockDevice } from './types.js';

/**
 * A window `[offset, offset + size)` of another device, clamped to that device's end. Reads
 * past the window's end are `E_RANGE` errors that name the window, never reads of the bytes
 * beyond it.
 */
export function slice(dev: BlockDevice, offset: number, size: number, label?: string): BlockDevice {
  const name = label ?? `${dev.label}[${offset}+${size}]`;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(size) || size < 0) {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'slice offset and size must be non-negative integers', {
      layer: 'device',
      format: 'slice',
      device: name,
      offset,
      value: size,
    });
  }
  const start = Math.min(offset, dev.size);
  const length = Math.min(size, dev.size - start);
  return {
    size: length,
    label: name,
    read(at, n, signal) {
      try {
        checkRead('slice', name, length, at, n, signal);
      } catch (e) {
        return Promise.reject(e);
      }
      return dev.read(start + at, n, signal);
    },
  };
}
