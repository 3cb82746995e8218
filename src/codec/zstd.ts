/**
 * Zstandard (RFC 8878) through zstddec: the reference libzstd decoder compiled to WebAssembly
 * (decoder only, embedded in the module, ~75 KB), for browsers and Node alike.
 *
 * The frame is found first by walking its headers (zstd-frame.ts), so the padding qcow2 leaves
 * after it is never handed to libzstd (whose `ZSTD_decompress` would take it for another
 * frame). libzstd then decodes that one frame with `dstCapacity` equal to the output size: it
 * stops with an error rather than write past it, checks the content checksum when the frame
 * has one, and needs no window buffer (single-pass decoding into the destination), so a hostile
 * Window_Descriptor allocates nothing.
 *
 * The WebAssembly module is compiled on first use (an async step), so the first call returns a
 * promise; calls after that are synchronous. zstddec's `decode()` allocates its input and
 * output in the wasm heap and copies the result into a new array on every call; when the wasm
 * instance can be reached (zstddec hands it to `_init`, which we wrap) we call libzstd directly
 * with input and output buffers kept in the wasm heap between calls: 15-25% faster, nothing
 * allocated per call, and libzstd's error name in the message. If another user of zstddec in
 * the same page initialised it first, libzstd cannot be reached and `decode()` is used.
 */
import { ZSTDDecoder } from 'zstddec';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { readZstdFrame } from './zstd-frame.js';
import { joined } from './output.js';
import { checkArguments, codecError, sizeError, type Decoder } from './types.js';
import { u32le } from '../util/bytes.js';

/** The libzstd functions zstddec's wasm module exports. */
interface ZstdExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  ZSTD_isError(code: number): number;
}

function isZstdExports(e: WebAssembly.Exports | undefined): e is WebAssembly.Exports & ZstdExports {
  return (
    e !== undefined &&
    e.memory instanceof WebAssembly.Memory &&
    typeof e.malloc === 'function' &&
    typeof e.free === 'function' &&
    typeof e.ZSTD_decompress === 'function' &&
    typeof e.ZSTD_isError === 'function'
  );
}

/** zstd_errors.h `ZSTD_ErrorCode` (values are stable across libzstd versions). */
const ZSTD_ERRORS: Record<number, string> = {
  1: 'GENERIC',
  10: 'prefix_unknown',
  12: 'version_unsupported',
  14: 'frameParameter_unsupported',
  16: 'frameParameter_windowTooLarge',
  20: 'corruption_detected',
  22: 'checksum_wrong',
  24: 'literals_headerWrong',
  30: 'dictionary_corrupted',
  32: 'dictionary_wrong',
  44: 'tableLog_tooLarge',
  46: 'maxSymbolValue_tooLarge',
  48: 'maxSymbolValue_tooSmall',
  64: 'memory_allocation',
  70: 'dstSize_tooSmall',
  72: 'srcSize_wrong',
};

/** A libzstd result as an i32: errors are -(ZSTD_ErrorCode). */
export function zstdErrorName(result: number): string {
  return ZSTD_ERRORS[-result] ?? `error ${-result}`;
}

/**
 * Returns the first Zstandard frame of `input` (after any skippable frames, which libzstd also
 * skips), having checked what its header says against the output size. Any fault in the frame
 * is `E_CORRUPT` here: to a decoder, a frame that runs past its input is damaged data.
 */
export function firstZstdFrame(input: Uint8Array, expected: number): Uint8Array {
  let at = 0;
  // Each skippable frame is at least 8 bytes long, so this ends within input.length / 8 rounds.
  for (;;) {
    let info;
    try {
      info = readZstdFrame(input, at);
    } catch (e) {
      if (e instanceof DiskProbeError && e.code !== ErrorCode.CORRUPT) {
        const { structure, field, offset, value, expected } = e;
        throw codecError('zstd', e.reason, { structure, field, offset, value, expected, cause: e });
      }
      throw e;
    }
    if (info.skippable) {
      at += info.length;
      continue;
    }
    if (info.dictionaryId !== 0) {
      throw codecError('zstd', 'frame needs a dictionary', { structure: 'Frame_Header', field: 'Dictionary_ID', offset: at, value: info.dictionaryId, expected: '0' }, ErrorCode.UNSUPPORTED);
    }
    if (info.hasContentSize && info.contentSize !== expected) {
      throw codecError('zstd', 'frame content size is not the output size', {
        structure: 'Frame_Header',
        field: 'Frame_Content_Size',
        offset: at,
        value: info.contentSize ?? '>= 2^53',
        expected: `${expected}`,
      });
    }
    return input.subarray(at, at + info.length);
  }
}

/** zstddec's decoder, and libzstd's exports and compiled module when they could be reached. */
interface Runtime {
  decoder: ZSTDDecoder;
  exports: ZstdExports | undefined;
  module: WebAssembly.Module | undefined;
}

/** zstddec instantiates its module once per page; so do we. */
let runtime: Promise<Runtime> | undefined;

async function instantiate(): Promise<Runtime> {
  const decoder = new ZSTDDecoder();
  let instance: WebAssembly.Instance | undefined;
  let module: WebAssembly.Module | undefined;
  const init = decoder._init;
  decoder._init = (result) => {
    instance = result.instance;
    module = result.module;
    init.call(decoder, result);
  };
  await decoder.init();
  const e = instance?.exports;
  return { decoder, exports: isZstdExports(e) ? e : undefined, module: isZstdExports(e) && module instanceof WebAssembly.Module ? module : undefined };
}

/**
 * libzstd's compiled WebAssembly module, for decoders on other threads: a worker instantiates
 * it without compiling it again (the compiled code is shared). `undefined` where zstddec's
 * internals could not be reached.
 */
export async function zstdModule(): Promise<WebAssembly.Module | undefined> {
  return (await loadRuntime()).module;
}

function loadRuntime(): Promise<Runtime> {
  runtime ??= instantiate().catch((e: unknown) => {
    runtime = undefined; // let a later call try again
    throw codecError('zstd', `the WebAssembly decoder could not be started (${e instanceof Error ? e.message : String(e)})`, { cause: e }, ErrorCode.UNSUPPORTED);
  });
  return runtime;
}

/** A block in the wasm heap, kept between calls and grown when too small. */
interface HeapBlock {
  pointer: number;
  capacity: number;
}

/** The pointer of a heap block of at least `size` bytes. */
function reserve(e: ZstdExports, block: HeapBlock, size: number): number {
  if (block.capacity >= size) return block.pointer;
  if (block.pointer) e.free(block.pointer);
  block.pointer = e.malloc(size);
  block.capacity = block.pointer ? size : 0;
  if (!block.pointer) throw codecError('zstd', 'the WebAssembly heap is full', { value: size }, ErrorCode.LIMIT);
  return block.pointer;
}

/** One decoder's state: the runtime once loaded, and its buffers in the wasm heap. */
class ZstdWasm {
  runtime: Runtime | undefined;
  private readonly src: HeapBlock = { pointer: 0, capacity: 0 };
  private readonly dst: HeapBlock = { pointer: 0, capacity: 0 };

  /** Use zstddec's `decode()` even when libzstd's exports are reachable (for tests). */
  constructor(private readonly publicApiOnly = false) {}

  async load(): Promise<void> {
    this.runtime = await loadRuntime();
  }


  /** A frame of unknown size into at most `capacity` bytes: the output, or undefined if it does not fit. */
  decodeUpTo(frame: Uint8Array, capacity: number): Uint8Array | undefined {
    const { decoder, exports: e } = this.runtime!;
    if (!e) {
      // zstddec's decode() reports every failure as an empty result: treat it as "does not fit"
      // until the limit, where the caller reports it.
      const result = decoder.decode(frame, capacity);
      return result.length ? result.slice() : undefined;
    }
    const src = reserve(e, this.src, frame.length);
    const dst = reserve(e, this.dst, capacity);
    new Uint8Array(e.memory.buffer, src, frame.length).set(frame);
    const result = e.ZSTD_decompress(dst, capacity, src, frame.length);
    if (e.ZSTD_isError(result)) {
      if (-result === 70) return undefined;
      throw codecError('zstd', `invalid compressed data (${zstdErrorName(result)})`);
    }
    return new Uint8Array(e.memory.buffer, dst, result).slice();
  }

  /**
   * A frame of `size` bytes decoded into the wasm heap, and `use` called with a view of it
   * before anything else can touch the heap; `undefined` where libzstd cannot be reached.
   */
  decodeInPlace<T>(frame: Uint8Array, size: number, use: (output: Uint8Array) => T): { value: T } | undefined {
    const e = this.runtime!.exports;
    if (!e || this.publicApiOnly) return undefined;
    const src = reserve(e, this.src, frame.length);
    const dst = reserve(e, this.dst, Math.max(1, size));
    new Uint8Array(e.memory.buffer, src, frame.length).set(frame);
    const result = e.ZSTD_decompress(dst, size, src, frame.length);
    if (e.ZSTD_isError(result)) {
      if (-result === 70) throw sizeError('zstd', size + 1, size);
      throw codecError('zstd', `invalid compressed data (${zstdErrorName(result)})`);
    }
    if (result !== size) throw sizeError('zstd', result, size);
    return { value: use(new Uint8Array(e.memory.buffer, dst, size)) };
  }

  decode(frame: Uint8Array, output: Uint8Array): void {
    const { decoder, exports: e } = this.runtime!;
    if (!e || this.publicApiOnly) {
      decodePublic(decoder, frame, output);
      return;
    }
    const src = reserve(e, this.src, frame.length);
    const dst = reserve(e, this.dst, output.length);
    // Views after the allocations: malloc may grow the memory, which detaches older views.
    new Uint8Array(e.memory.buffer, src, frame.length).set(frame);
    const result = e.ZSTD_decompress(dst, output.length, src, frame.length);
    if (e.ZSTD_isError(result)) {
      if (-result === 70) throw sizeError('zstd', output.length + 1, output.length); // dstSize_tooSmall
      throw codecError('zstd', `invalid compressed data (${zstdErrorName(result)})`);
    }
    if (result !== output.length) throw sizeError('zstd', result, output.length);
    output.set(new Uint8Array(e.memory.buffer, dst, output.length));
  }
}

/** The decoder {@link zstdExpand} uses for frames without a content size. */
let expander: ZstdWasm | undefined;

/**
 * Decodes the Zstandard frames at the start of `input` (skippable frames skipped), whose
 * decompressed size may not be stated (zstd writing to a pipe leaves it out): a frame with a
 * content size is decoded into exactly that; one without into a buffer that doubles, from four
 * times the frame, up to `limit`. Returns the output and the input bytes consumed.
 */
export async function zstdExpand(input: Uint8Array, limit: number): Promise<{ output: Uint8Array; consumed: number }> {
  expander ??= new ZstdWasm();
  if (!expander.runtime) await expander.load();
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  while (pos + 4 <= input.length) {
    const magic = u32le(input, pos);
    if (magic !== 0xfd2fb528 && (magic & 0xfffffff0) >>> 0 !== 0x184d2a50) break;
    const info = readZstdFrame(input, pos);
    const frame = input.subarray(pos, pos + info.length);
    pos += info.length;
    if (info.skippable) continue;
    if (info.contentSize !== undefined) {
      if (total + info.contentSize > limit) throw codecError('zstd', `the stream expands to more than ${limit} bytes`, { field: 'decompressed size' }, ErrorCode.LIMIT);
      const out = new Uint8Array(info.contentSize);
      if (out.length) expander.decode(frame, out);
      parts.push(out);
      total += out.length;
      continue;
    }
    let size = Math.min(limit - total, Math.max(64 * 1024, frame.length * 4));
    for (;;) {
      const got = expander.decodeUpTo(frame, size);
      if (got) {
        parts.push(got);
        total += got.length;
        break;
      }
      if (size >= limit - total) throw codecError('zstd', `the stream expands to more than ${limit} bytes`, { field: 'decompressed size' }, ErrorCode.LIMIT);
      size = Math.min(limit - total, size * 2);
    }
  }
  if (pos === 0) throw codecError('zstd', 'not a Zstandard frame', { offset: 0 }, ErrorCode.BAD_MAGIC);
  return { output: joined(parts), consumed: pos };
}

/** The decoder of {@link zstdExpandWith}, apart from {@link zstdExpand}'s so neither frees the other's output. */
let inPlace: ZstdWasm | undefined;

/**
 * Like {@link zstdExpand}, but hands the output to `use` instead of returning it: when the
 * input is one frame that states its size (as the kernel's and dracut's zstd write it), the
 * output is decoded into the wasm heap and `use` reads it there, synchronously, with no copy
 * into a new array — an initramfs expands to 100+ MiB, and this halves the memory and time. The
 * view must not be kept after `use` returns.
 */
export async function zstdExpandWith<T>(input: Uint8Array, limit: number, use: (output: Uint8Array) => T): Promise<{ value: T; size: number; consumed: number }> {
  if (input.length >= 4 && u32le(input, 0) === 0xfd2fb528) {
    const info = readZstdFrame(input, 0);
    const next = info.length + 4 <= input.length ? u32le(input, info.length) : 0;
    const more = next === 0xfd2fb528 || (next & 0xfffffff0) >>> 0 === 0x184d2a50;
    if (!info.skippable && info.contentSize !== undefined && !more) {
      if (info.contentSize > limit) throw codecError('zstd', `the stream expands to more than ${limit} bytes`, { field: 'decompressed size' }, ErrorCode.LIMIT);
      inPlace ??= new ZstdWasm();
      if (!inPlace.runtime) await inPlace.load();
      const size = info.contentSize;
      const done = inPlace.decodeInPlace(input.subarray(0, info.length), size, use);
      if (done) return { value: done.value, size, consumed: info.length };
    }
  }
  const { output, consumed } = await zstdExpand(input, limit);
  return { value: use(output), size: output.length, consumed };
}

/**
 * Through zstddec's `decode()`: it returns what libzstd wrote, and on an error libzstd's
 * negative result makes that an empty array, so any fault shows as a short result.
 */
function decodePublic(decoder: ZSTDDecoder, frame: Uint8Array, output: Uint8Array): void {
  const result = decoder.decode(frame, output.length);
  if (result.length !== output.length) {
    throw codecError('zstd', 'invalid compressed data, or a frame shorter than the output', { field: 'decompressed size', value: result.length, expected: `${output.length}` });
  }
  output.set(result);
}

/**
 * A zstd decoder with its own input and output blocks in the (shared) wasm heap. `publicApiOnly`
 * makes it use zstddec's `decode()` even when libzstd can be called directly (for tests).
 */
export function makeZstdDecoder(publicApiOnly = false): Decoder {
  const wasm = new ZstdWasm(publicApiOnly);
  return (input, output) => {
    checkArguments('zstd', input, output);
    const frame = firstZstdFrame(input, output.length);
    if (wasm.runtime) return wasm.decode(frame, output);
    return wasm.load().then(() => wasm.decode(frame, output));
  };
}

/** One Zstandard frame into exactly `output.length` bytes (WebAssembly libzstd, via zstddec). */
export const zstdWasm: Decoder = makeZstdDecoder();
