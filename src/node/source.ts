import { cached } from '../device/cached.js';
import { fromUrl, type HttpOptions } from '../device/http.js';
import type { BlockDevice } from '../device/types.js';
import { openFile } from './file.js';

/** Options of {@link openSource}. */
export interface SourceOptions {
  /** Options for `http:` and `https:` sources. */
  http?: HttpOptions;
  /** Block size of the cache put in front of HTTP sources. Default 256 KiB. */
  httpBlockSize?: number;
}

/** Whether a command-line argument names a URL rather than a path. */
export function isUrl(arg: string): boolean {
  return /^https?:\/\//i.test(arg);
}

/**
 * Opens a path or an `http(s)://` URL as a device. URLs get a block cache in front, since
 * probes and parsers make many small reads and each is a request.
 */
export async function openSource(arg: string, options: SourceOptions = {}): Promise<BlockDevice> {
  if (isUrl(arg)) {
    const http = await fromUrl(arg, options.http);
    return cached(http, { blockSize: options.httpBlockSize ?? 256 * 1024 });
  }
  return openFile(arg);
}
