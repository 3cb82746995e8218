/**
 * Node adapters for diskprobe: read-only files, and sources named by path or URL.
 *
 * @packageDocumentation
 */
export { openFile } from './file.js';
export type { FileDevice, OpenFileOptions } from './file.js';
export { openSource, isUrl } from './source.js';
export type { SourceOptions } from './source.js';
export { fileResolver } from './resolver.js';
export type { FileResolverOptions } from './resolver.js';
export { openImage } from './image.js';
export type { OpenImageOptions, OpenedImage } from './image.js';
export { nodeCodecs } from './codecs.js';
export { checkImage } from './check.js';
export type { CheckImageOptions, CheckImageResult } from './check.js';
export { digestFiles, digestDevice } from './digest.js';
export type { DigestOptions } from './digest.js';
export { nodeHasher } from './hasher.js';
