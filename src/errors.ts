/**
 * The one error type diskprobe throws for bad input, I/O failures and refusals.
 *
 * Every error says where: the layer, the format, the device's label, the on-disk structure and
 * field, the byte offset, the value seen and what was expected, with a stable `code` that
 * callers can switch on. The message is built from those parts so that it reads like
 * `qcow2: QCowHeader.cluster_bits at 0x14 = 31 (expected 9..21) in disk.qcow2`.
 */

/** Stable error codes. New codes may be added; existing ones keep their meaning. */
export const ErrorCode = {
  /** A read was asked for outside a device's bounds, or with a bad offset or length. */
  RANGE: 'E_RANGE',
  /** The input ends before a structure it declares. */
  TRUNCATED: 'E_TRUNCATED',
  /** A structure's signature is not what the format requires. */
  BAD_MAGIC: 'E_BAD_MAGIC',
  /** A field holds a value the specification does not allow. */
  CORRUPT: 'E_CORRUPT',
  /** A checksum does not match. */
  CHECKSUM: 'E_CHECKSUM',
  /** A number read from the input exceeds one of diskprobe's named limits. */
  LIMIT: 'E_LIMIT',
  /** The input is valid but uses something diskprobe does not read. */
  UNSUPPORTED: 'E_UNSUPPORTED',
  /** The image is encrypted; diskprobe does not decrypt. */
  ENCRYPTED: 'E_ENCRYPTED',
  /** The input is not a disk image (an ISO, an archive, a compressed file, an empty file). */
  NOT_A_DISK: 'E_NOT_A_DISK',
  /** No probe recognised the input and the caller did not allow raw. */
  UNKNOWN_FORMAT: 'E_UNKNOWN_FORMAT',
  /** A reference to another file (backing file, extent, parent) was not allowed to be followed. */
  REFUSED: 'E_REFUSED',
  /** The underlying source failed to read (file system error, network failure after retries). */
  IO: 'E_IO',
  /** An HTTP server answered something other than the partial content asked for. */
  HTTP: 'E_HTTP',
  /** An HTTP server does not honour range requests. */
  HTTP_NO_RANGE: 'E_HTTP_NO_RANGE',
  /** The object behind a source changed while it was being read. */
  CHANGED: 'E_CHANGED',
  /** The caller's AbortSignal fired. */
  ABORTED: 'E_ABORTED',
  /** A caller passed an invalid argument. */
  ARGUMENT: 'E_ARGUMENT',
  /** A path names nothing in the filesystem. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** A path goes through something that is not a directory, or readdir was given one. */
  NOT_DIRECTORY: 'E_NOT_DIRECTORY',
  /** A file operation was given a directory. */
  IS_DIRECTORY: 'E_IS_DIRECTORY',
  /** Resolving a path followed too many symbolic links (a loop). */
  SYMLINK_LOOP: 'E_SYMLINK_LOOP',
  /** A part the input needs was not given: an LVM logical volume on a physical volume that is not among the disks. */
  MISSING: 'E_MISSING',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The layers of DESIGN.md, as named in errors. */
export type Layer = 'device' | 'container' | 'volume' | 'fs' | 'registry' | 'guest' | 'check' | 'cli';

/** Where and what: everything an error can say about its place in the input. */
export interface ErrorDetails {
  layer: Layer;
  /** The format or source kind: `qcow2`, `vhd`, `http`, `file`, … */
  format?: string;
  /** The label of the device being read. */
  device?: string;
  /** The on-disk structure, with the specification's name (`QCowHeader`). */
  structure?: string;
  /** The field within the structure, with the specification's name (`cluster_bits`). */
  field?: string;
  /** The absolute byte offset of the structure or field in the device. */
  offset?: number;
  /** The value found. */
  value?: unknown;
  /** What was expected, in words or as a range (`9..21`). */
  expected?: string;
  /** The underlying error. */
  cause?: unknown;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${hex(value.subarray(0, 16))}${value.length > 16 ? '…' : ''}>`;
  return String(value);
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Formats a byte offset the way every message shows it. */
export function showOffset(offset: number): string {
  return `0x${offset.toString(16)}`;
}

/** The error diskprobe throws. `code` is stable; the message is for people. */
export class DiskProbeError extends Error {
  override readonly name = 'DiskProbeError';
  readonly code: ErrorCode;
  readonly layer: Layer;
  readonly format: string | undefined;
  readonly device: string | undefined;
  readonly structure: string | undefined;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  readonly value: unknown;
  readonly expected: string | undefined;
  /** The problem in words, without the location prefix. */
  readonly reason: string;

  constructor(code: ErrorCode, reason: string, details: ErrorDetails) {
    super(DiskProbeError.compose(reason, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.reason = reason;
    this.layer = details.layer;
    this.format = details.format;
    this.device = details.device;
    this.structure = details.structure;
    this.field = details.field;
    this.offset = details.offset;
    this.value = details.value;
    this.expected = details.expected;
  }

  private static compose(reason: string, d: ErrorDetails): string {
    let where = '';
    if (d.structure !== undefined) where += d.field !== undefined ? `${d.structure}.${d.field}` : d.structure;
    else if (d.field !== undefined) where += d.field;
    if (d.offset !== undefined) where += `${where ? ' ' : ''}at ${showOffset(d.offset)}`;
    if (d.value !== undefined) where += `${where ? ' ' : ''}= ${showValue(d.value)}`;
    if (d.expected !== undefined) where += ` (expected ${d.expected})`;
    let message = `${d.format ?? d.layer}: ${where ? `${where}: ` : ''}${reason}`;
    if (d.device !== undefined) message += ` in ${d.device}`;
    return message;
  }

  /** A plain object for JSON output (the CLI's `--json`, reports). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      layer: this.layer,
      format: this.format,
      device: this.device,
      structure: this.structure,
      field: this.field,
      offset: this.offset,
      value: typeof this.value === 'bigint' || this.value instanceof Uint8Array ? showValue(this.value) : this.value,
      expected: this.expected,
    };
  }
}

/** Whether `e` is a DiskProbeError, optionally with the given code. */
export function isDiskProbeError(e: unknown, code?: ErrorCode): e is DiskProbeError {
  return e instanceof DiskProbeError && (code === undefined || e.code === code);
}

/** Where a number read from the input came from, for the error if it is out of bounds. */
export type Where = Omit<ErrorDetails, 'value' | 'expected' | 'cause'>;

/**
 * Checks that a number read from the input lies in `[min, max]` (both inclusive) and is an
 * integer, before it sizes an allocation, a loop or a recursion. Values past a named limit
 * (rather than past what the specification allows) should pass `code: E_LIMIT`.
 */
export function bounded(
  value: number,
  min: number,
  max: number,
  where: Where,
  code: ErrorCode = ErrorCode.CORRUPT,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DiskProbeError(code, code === ErrorCode.LIMIT ? 'value exceeds a limit' : 'value out of range', {
      ...where,
      value,
      expected: `${min}..${max}`,
    });
  }
  return value;
}

const TWO_53 = 2n ** 53n;

/**
 * Reads an unsigned 64-bit field as a `number`, throwing if it is 2^53 or more (where a
 * `number` stops being exact). `where.offset` should be the field's absolute offset.
 */
export function u64(view: DataView, at: number, littleEndian: boolean, where: Where): number {
  const hi = view.getUint32(at + (littleEndian ? 4 : 0), littleEndian);
  const lo = view.getUint32(at + (littleEndian ? 0 : 4), littleEndian);
  if (hi >= 0x200000) {
    throw new DiskProbeError(ErrorCode.LIMIT, '64-bit value does not fit in 2^53', {
      ...where,
      value: (BigInt(hi) << 32n) | BigInt(lo),
      expected: `< ${TWO_53}`,
    });
  }
  return hi * 0x1_0000_0000 + lo;
}

/**
 * Checks that a value derived from input (a product of a count and a unit, a sum of sizes) is
 * still an exact integer below 2^53.
 */
export function exact(value: number, where: Where): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DiskProbeError(ErrorCode.LIMIT, 'derived size does not fit in 2^53', { ...where, value, expected: `< 2^53` });
  }
  return value;
}

/** Rethrows an AbortSignal's reason as a DiskProbeError with code E_ABORTED. */
export function throwIfAborted(signal: AbortSignal | undefined, where: Where): void {
  if (signal?.aborted) throw abortError(signal, where);
}

/** The error for an aborted operation. */
export function abortError(signal: AbortSignal, where: Where): DiskProbeError {
  return new DiskProbeError(ErrorCode.ABORTED, 'aborted by the caller', { ...where, cause: signal.reason });
}
