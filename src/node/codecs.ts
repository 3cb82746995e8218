/**
 * Node's decoders: raw deflate through node:zlib (native zlib), asynchronously, so that it runs
 * in libuv's thread pool and several clusters decompress in parallel while the main thread
 * goes on; zstd is the WebAssembly decoder of the core (Node 20's zlib has no zstd).
 *
 * Measured by bench/codecs.ts on 64 KiB clusters (2 cores): node:zlib's sync call is about twice
 * as fast as the JavaScript inflate; the async call costs a thread hop (with one decompression
 * in flight it is about a third slower than sync), and with 4 or more in flight it beats sync,
 * since the clusters decompress on both cores while the main thread goes on.
 */
import { inflateRaw } from 'node:zlib';
import { checkArguments, codecError, sizeError, type Codecs, type Decoder } from '../codec/types.js';
import { zstdParallel } from './zstd-pool.js';

/** zlib's smallest chunk size (Z_MIN_CHUNK). */
const MIN_CHUNK = 64;

/**
 * Raw deflate into exactly `output.length` bytes with node:zlib, in the thread pool.
 *
 * zlib inflates into one buffer one byte longer than the output (so a stream that ends, or
 * would go on, is seen in one pass) and `maxOutputLength` stops it as soon as it produces more
 * than the output holds, so hostile input costs no more than the output size. Bytes after the
 * end of the stream are ignored by node:zlib.
 */
export const inflateRawNode: Decoder = (input, output) => {
  checkArguments('deflate', input, output);
  return new Promise<void>((resolve, reject) => {
    inflateRaw(input, { chunkSize: Math.max(output.length + 1, MIN_CHUNK), maxOutputLength: output.length }, (error, result) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          code === 'ERR_BUFFER_TOO_LARGE'
            ? sizeError('deflate', output.length + 1, output.length)
            : codecError('deflate', `invalid compressed data (${error.message})`, { cause: error }),
        );
      } else if (result.length !== output.length) {
        reject(sizeError('deflate', result.length, output.length));
      } else {
        output.set(result);
        resolve();
      }
    });
  });
};

/**
 * The fastest decoders on Node: native zlib for deflate (in the thread pool), WebAssembly
 * libzstd for zstd (inline for a lone request, in worker threads when several come together).
 */
export const nodeCodecs: Codecs = Object.freeze({ deflateRaw: inflateRawNode, zstd: zstdParallel });
