/**
 * The decompression interface the container readers use (qcow2 compressed clusters, later
 * VMDK grains and initramfs members). One function per algorithm; each platform supplies the
 * fastest implementation it has behind the same signature.
 */
import { DiskProbeError, ErrorCode, type ErrorDetails } from '../errors.js';

/**
 * Decompresses `input` into exactly `output.length` bytes.
 *
 * `input` may carry trailing bytes after the compressed stream (a qcow2 compressed cluster is
 * read as whole 512-byte sectors, so padding or the start of the next cluster follows it);
 * they are ignored. The stream must end and must produce exactly `output.length` bytes: a
 * stream that ends early, that would produce more, or that is not valid gives a
 * `DiskProbeError` with code `E_CORRUPT` (layer `container`, format naming the codec, offset
 * within `input` where known). Other codes: `E_ARGUMENT` for an empty output, `E_UNSUPPORTED`
 * for a valid stream diskprobe cannot decode (a zstd frame that needs a dictionary) or a
 * decoder that cannot start (WebAssembly unavailable), `E_LIMIT` if a WebAssembly heap is full.
 *
 * A decoder may finish synchronously (returning `undefined`) or return a promise, and may
 * throw synchronously: callers `await` it. `input` and `output` must not change until it has
 * finished; it keeps no reference to either afterwards. The contents of `output` are
 * unspecified after an error.
 */
export interface Decoder {
  (input: Uint8Array, output: Uint8Array, hint?: DecodeHint): void | Promise<void>;
}

/** What the caller knows about the load, for decoders that can spread work over cores. */
export interface DecodeHint {
  /** Other decodes are in flight or will follow at once (a reader with many requests out). */
  concurrent?: boolean;
}

/** One decoder per algorithm. */
export interface Codecs {
  /** Raw deflate (RFC 1951), no zlib or gzip header: qcow2 `compression_type` 0. */
  deflateRaw: Decoder;
  /** One Zstandard frame (RFC 8878): qcow2 `compression_type` 1. */
  zstd: Decoder;
}

/** The codec names used as `format` in errors. */
export type CodecName = 'deflate' | 'zstd' | 'gzip' | 'xz' | 'lzma' | 'lz4' | 'bzip2';

/** A codec's error: layer `container`, format the codec's name. */
export function codecError(
  codec: CodecName,
  reason: string,
  details: Omit<ErrorDetails, 'layer' | 'format'> = {},
  code: ErrorCode = ErrorCode.CORRUPT,
): DiskProbeError {
  return new DiskProbeError(code, reason, { layer: 'container', format: codec, ...details });
}

/**
 * The error for output that is not exactly the size asked for. `produced` is the count the
 * implementation reported; any count above `expected` means "more" (implementations stop early).
 */
export function sizeError(codec: CodecName, produced: number, expected: number): DiskProbeError {
  return produced < expected
    ? codecError(codec, 'stream ends before the output is full', { field: 'decompressed size', value: produced, expected: `${expected}` })
    : codecError(codec, 'stream produces more than the output holds', { field: 'decompressed size', expected: `${expected}` });
}

/** Checks what every decoder needs of its arguments. */
export function checkArguments(codec: CodecName, input: Uint8Array, output: Uint8Array): void {
  if (output.length === 0) {
    throw codecError(codec, 'the output buffer is empty', { field: 'output.length', value: 0, expected: '>= 1' }, ErrorCode.ARGUMENT);
  }
  if (input.length === 0) throw codecError(codec, 'no compressed data', { field: 'input.length', value: 0, expected: '>= 1' });
}
