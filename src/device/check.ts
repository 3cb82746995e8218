import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import { MAX_READ_BYTES, type BlockDevice } from './types.js';

/**
 * Validates a read request against a device's size: integers, non-negative, inside the device,
 * at most MAX_READ_BYTES. Every device calls it first, so the contract holds everywhere.
 */
export function checkRead(
  format: string,
  label: string,
  size: number,
  offset: number,
  length: number,
  signal: AbortSignal | undefined,
): void {
  const where = { layer: 'device' as const, format, device: label };
  throwIfAborted(signal, where);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new DiskProbeError(ErrorCode.RANGE, 'read offset must be a non-negative integer', {
      ...where,
      field: 'offset',
      value: offset,
    });
  }
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) {
    throw new DiskProbeError(ErrorCode.RANGE, 'read length out of range', {
      ...where,
      field: 'length',
      value: length,
      expected: `0..${MAX_READ_BYTES}`,
    });
  }
  if (offset + length > size) {
    throw new DiskProbeError(ErrorCode.RANGE, `read of ${length} bytes runs past the end (size ${size})`, {
      ...where,
      offset,
      value: length,
      expected: `offset + length <= ${size}`,
    });
  }
}

/** Checks a size given for or learned by a device. */
export function checkSize(format: string, label: string, size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'device size must be a non-negative integer below 2^53', {
      layer: 'device',
      format,
      device: label,
      value: size,
    });
  }
  return size;
}

/**
 * `dev` with its contract enforced: a read that resolves to fewer or more bytes than asked (a
 * device or proxy that breaks the contract) rejects with `E_IO` instead of handing a parser bytes
 * that are not the ones it asked for. For devices diskprobe did not make (a caller's own, a
 * resolver's); its own devices keep the contract by construction.
 */
export function exactReads<D extends BlockDevice>(dev: D): D {
  const read = (offset: number, length: number, signal?: AbortSignal) =>
    dev.read(offset, length, signal).then((bytes) => {
      if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
        throw new DiskProbeError(ErrorCode.IO, `the device returned ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes} for a read of ${length}`, { layer: 'device', device: dev.label, offset, value: bytes instanceof Uint8Array ? bytes.length : undefined, expected: `${length} bytes` });
      }
      return bytes;
    });
  // Everything else is the device's own (methods bound to it, so that its private state works).
  return new Proxy(dev, {
    get(target, key) {
      if (key === 'read') return read;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
