import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import { MAX_READ_BYTES } from './types.js';

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
