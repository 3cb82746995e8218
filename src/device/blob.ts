import { DiskProbeError, ErrorCode } from '../errors.js';
import { checkRead, checkSize } from './check.js';
import type { BlockDevice } from './types.js';

/**
 * A device over a `Blob` — in a browser, the `File` a user picked or dropped; in Node, a Blob
 * from `fs.openAsBlob`. Reads slice the blob, so only the bytes asked for are loaded.
 */
export function fromBlob(blob: Blob, label?: string): BlockDevice {
  const name = label ?? ((blob as { name?: unknown }).name as string | undefined) ?? 'blob';
  const size = checkSize('blob', name, blob.size);
  return {
    size,
    label: name,
    async read(offset, length, signal) {
      checkRead('blob', name, size, offset, length, signal);
      let buffer: ArrayBuffer;
      try {
        buffer = await blob.slice(offset, offset + length).arrayBuffer();
      } catch (cause) {
        throw new DiskProbeError(ErrorCode.IO, 'reading the blob failed', {
          layer: 'device',
          format: 'blob',
          device: name,
          offset,
          cause,
        });
      }
      checkRead('blob', name, size, offset, length, signal);
      if (buffer.byteLength !== length) {
        // A File whose underlying file shrank after it was picked.
        throw new DiskProbeError(ErrorCode.TRUNCATED, `blob returned ${buffer.byteLength} of ${length} bytes`, {
          layer: 'device',
          format: 'blob',
          device: name,
          offset,
        });
      }
      return new Uint8Array(buffer);
    },
  };
}
