/**
 * Node's decoders. Raw deflate is native zlib writing straight into the output; zstd is the
 * core's WebAssembly libzstd (Node 20's zlib has no zstd). For both, a lone request is decoded
 * on the calling thread and requests that arrive together go to worker threads, one per core
 * (src/node/decode-pool.ts).
 *
 * Measured by bench/codecs.ts on 64 KiB clusters (2 cores): native zlib is about twice as fast
 * as the JavaScript inflate. node:zlib's public asynchronous call, used here before, spread
 * clusters over libuv's thread pool as well, but allocated a result per cluster, and those
 * dead buffers held up to 64 MiB of resident memory over a 1 GiB image.
 */
import type { Codecs } from '../codec/types.js';
import { deflateParallel, zstdParallel } from './decode-pool.js';

/**
 * The fastest decoders on Node: native zlib for deflate, WebAssembly libzstd for zstd, inline
 * for a lone request, in worker threads when several come together.
 */
export const nodeCodecs: Codecs = Object.freeze({ deflateRaw: deflateParallel, zstd: zstdParallel });
