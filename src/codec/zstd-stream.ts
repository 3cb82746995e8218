/**
 * Zstandard decoded as a stream, in pieces of libzstd's output block (128 KiB), for data that is
 * only scanned once — an initramfs's cpio — so that a 140 MiB expansion never sits in memory
 * whole. libzstd's streaming decoder (ZSTD_decompressStream) comes from zstddec's `stream`
 * build; its own generator is not used, because it does not look at libzstd's errors (on damaged
 * data it would loop). Here every call's result is checked, a call that neither reads nor
 * writes ends the loop, and the output is bounded by `limit`. Memory: libzstd's window (at most
 * what the frame asks, which libzstd caps) and two fixed blocks.
 */
import { ZSTDDecoder } from 'zstddec/stream';
import { ErrorCode } from '../errors.js';
import { codecError } from './types.js';
import { readZstdFrame } from './zstd-frame.js';
import { zstdErrorName } from './zstd.js';
import { u32le } from '../util/bytes.js';

interface StreamExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
  ZSTD_DStreamInSize(): number;
  ZSTD_DStreamOutSize(): number;
}

let exportsPromise: Promise<StreamExports> | undefined;

function load(): Promise<StreamExports> {
  exportsPromise ??= (async () => {
    const decoder = new ZSTDDecoder();
    let instance: WebAssembly.Instance | undefined;
    const init = decoder._init;
    decoder._init = (result) => {
      instance = result.instance;
      init.call(decoder, result);
    };
    await decoder.init();
    const e = instance?.exports as unknown as StreamExports | undefined;
    if (!e || typeof e.ZSTD_decompressStream !== 'function' || !(e.memory instanceof WebAssembly.Memory)) {
      throw codecError('zstd', "libzstd's streaming decoder could not be reached in zstddec/stream", {}, ErrorCode.UNSUPPORTED);
    }
    return e;
  })();
  exportsPromise.catch(() => (exportsPromise = undefined));
  return exportsPromise;
}

/** libzstd's error codes as size_t in wasm32: -1 … -119 as an i32. */
const isError = (ret: number) => ret < 0 && ret > -200;

/** The length of the zstd frames (and skippable frames) at the start of `input`. */
export function zstdFramesLength(input: Uint8Array): number {
  let at = 0;
  while (at + 4 <= input.length) {
    const magic = u32le(input, at);
    if (magic !== 0xfd2fb528 && (magic & 0xfffffff0) >>> 0 !== 0x184d2a50) break;
    at += readZstdFrame(input, at).length;
  }
  return at;
}

/**
 * Decodes the zstd frames at the start of `input`, handing each piece of output to `onChunk` (a
 * view valid only during the call: copy what you keep). Returns the bytes produced and the input
 * consumed. Damaged data is E_CORRUPT, data that ends inside a frame E_TRUNCATED, more than
 * `limit` bytes of output E_LIMIT.
 */
export async function zstdStream(input: Uint8Array, limit: number, onChunk: (chunk: Uint8Array) => void): Promise<{ size: number; consumed: number }> {
  let consumed: number;
  try {
    consumed = zstdFramesLength(input);
  } catch (e) {
    throw codecError('zstd', `the frame headers do not hold together (${(e as Error).message})`, {});
  }
  if (consumed === 0) throw codecError('zstd', 'no zstd frame at the start of the data', { offset: 0 });
  const z = await load();
  const inSize = Math.max(z.ZSTD_DStreamInSize(), 64 * 1024);
  const outSize = z.ZSTD_DStreamOutSize();
  const inBuf = z.malloc(inSize);
  const outBuf = z.malloc(outSize);
  const inStruct = z.malloc(12);
  const outStruct = z.malloc(12);
  const dctx = z.ZSTD_createDCtx();
  let size = 0;
  let last = 0;
  try {
    if (!inBuf || !outBuf || !inStruct || !outStruct || !dctx) throw codecError('zstd', 'the decoder could not allocate its buffers', {}, ErrorCode.LIMIT);
    for (let at = 0; at < consumed; ) {
      const n = Math.min(inSize, consumed - at);
      new Uint8Array(z.memory.buffer, inBuf, n).set(input.subarray(at, at + n));
      let view = new DataView(z.memory.buffer);
      view.setUint32(inStruct, inBuf, true);
      view.setUint32(inStruct + 4, n, true);
      view.setUint32(inStruct + 8, 0, true);
      for (;;) {
        view = new DataView(z.memory.buffer);
        const inPos = view.getUint32(inStruct + 8, true);
        view.setUint32(outStruct, outBuf, true);
        view.setUint32(outStruct + 4, outSize, true);
        view.setUint32(outStruct + 8, 0, true);
        last = z.ZSTD_decompressStream(dctx, outStruct, inStruct);
        if (isError(last)) throw codecError('zstd', `libzstd: ${zstdErrorName(last)}`, { offset: at + inPos });
        view = new DataView(z.memory.buffer);
        const produced = view.getUint32(outStruct + 8, true);
        const read = view.getUint32(inStruct + 8, true) - inPos;
        if (produced > 0) {
          size += produced;
          if (size > limit) throw codecError('zstd', `the stream expands to more than ${limit} bytes`, { field: 'decompressed size' }, ErrorCode.LIMIT);
          onChunk(new Uint8Array(z.memory.buffer, outBuf, produced));
        }
        const inputLeft = view.getUint32(inStruct + 8, true) < n;
        // Done with this block when its input is used and the output block was not filled
        // (a full block may mean more output is waiting inside the decoder).
        if (!inputLeft && produced < outSize) break;
        if (produced === 0 && read === 0) break;
      }
      at += n;
    }
  } finally {
    if (dctx) z.ZSTD_freeDCtx(dctx);
    for (const p of [inBuf, outBuf, inStruct, outStruct]) if (p) z.free(p);
  }
  // libzstd returns 0 when a frame is complete; anything else means it expects more input.
  if (last !== 0) throw codecError('zstd', 'the data ends inside a frame', { field: 'frame' }, ErrorCode.TRUNCATED);
  return { size, consumed };
}
