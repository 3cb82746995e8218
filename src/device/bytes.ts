import { checkRead } from './check.js';
import type { BlockDevice } from './types.js';

/**
 * A device over bytes in memory. Reads return views of `bytes` (no copy); diskprobe never
 * writes to them.
 */
export function fromBytes(bytes: Uint8Array, label = 'memory'): BlockDevice {
  const size = bytes.length;
  return {
    size,
    label,
    read(offset, length, signal) {
      try {
        checkRead('memory', label, size, offset, length, signal);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}
