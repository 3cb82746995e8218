/**
 * Decompression for the container readers: one interface, the implementations that run
 * everywhere (pure JavaScript or WebAssembly). Node's faster ones are in `src/node/codecs.ts`.
 */
import { inflateRaw } from './inflate.js';
import type { Codecs } from './types.js';
import { zstdWasm } from './zstd.js';

export type { Codecs, Decoder } from './types.js';
export { zstdFrameLength, readZstdFrame } from './zstd-frame.js';
export type { ZstdFrameInfo } from './zstd-frame.js';

/**
 * Decoders that run in browsers, workers and Node: raw deflate in JavaScript (inflate.ts),
 * zstd in WebAssembly (libzstd via zstddec; compiled on its first call, which therefore returns
 * a promise; later calls are synchronous).
 */
export const browserCodecs: Codecs = Object.freeze({ deflateRaw: inflateRaw, zstd: zstdWasm });
