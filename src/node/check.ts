/**
 * `check` for a path or URL, the way the CLI runs it: Node's codecs, backing files and extents
 * resolved next to the image, the files' MD5 and SHA-256 (for local files; an image at a URL is
 * hashed only when asked, since that reads all of it), and for a URL the bytes fetched.
 */
import { check, evaluate, prepare, selectProfiles, type CheckOptions } from '../check/engine.js';
import { withTimeBudget } from '../limits.js';
import type { CheckReport } from '../check/report.js';
import type { Resolver } from '../container/types.js';
import { cached } from '../device/cached.js';
import { fromUrl, type HttpDevice } from '../device/http.js';
import type { BlockDevice } from '../device/types.js';
import { nodeCodecs } from './codecs.js';
import { digestDevice, digestFiles } from './digest.js';
import { openFile } from './file.js';
import { fileResolver, type FileResolverOptions } from './resolver.js';
import { isUrl, type SourceOptions } from './source.js';

export interface CheckImageOptions extends Omit<CheckOptions, 'digests' | 'files' | 'open'>, SourceOptions {
  /** Compute MD5 and SHA-256 of the image's files (default true for files, false for URLs). */
  digest?: boolean;
  /** Progress of the digest, in bytes. */
  onDigestProgress?: (bytes: number, total: number) => void;
  files?: FileResolverOptions;
}

export interface CheckImageResult {
  report: CheckReport;
  /** For an image at a URL: requests sent and bytes fetched. */
  http?: { requests: number; bytesFetched: number };
}

/** Checks the image at a path or an `http(s)://` URL. */
export async function checkImage(pathOrUrl: string, options: CheckImageOptions = {}): Promise<CheckImageResult> {
  const url = isUrl(pathOrUrl);
  let http: HttpDevice | undefined;
  let source: BlockDevice;
  if (url) {
    http = await fromUrl(pathOrUrl, options.http);
    source = cached(http, { blockSize: options.httpBlockSize ?? 256 * 1024 });
  } else source = await openFile(pathOrUrl);
  const opened: BlockDevice[] = [source];
  const inner = fileResolver(options.files);
  const resolver: Resolver = async (ref, signal) => {
    const dev = await inner(ref, signal);
    opened.push(dev);
    return dev;
  };
  try {
    // The time budget (limits.timeoutMs) covers opening, hashing and the rules.
    return await withTimeBudget(options, (o) => run(o));
  } finally {
    await Promise.all(opened.map((d) => d.close?.()));
  }

  async function run(options: CheckImageOptions): Promise<CheckImageResult> {
    const { files: _files, digest: _digest, onDigestProgress: _progress, http: _http, httpBlockSize: _block, ...rest } = options;
    const base: CheckOptions = { ...rest, open: { codecs: nodeCodecs, resolver } };
    const paths = (devs: BlockDevice[]) => devs.map((d) => (d as { path?: string }).path).filter((p): p is string => typeof p === 'string');
    const wantDigest = options.digest ?? !url;
    if (!wantDigest) base.digestSkipped = url ? 'the image is at a URL: hashing it would download all of it (pass --md5 to do so)' : 'skipped (--no-md5)';
    // Open (and so resolve every file) first, then hash the files found, then check.
    const profiles = selectProfiles(options.profile);
    const ctx = await prepare(source, base);
    ctx.image.files = opened.map((d) => ({ label: d.label, size: d.size }));
    ctx.image.fileSize = ctx.image.files.reduce((s, f) => s + f.size, 0);
    if (wantDigest) {
      if (url) {
        ctx.image.digests = [await digestDevice(source, pathOrUrl, { ...(options.onDigestProgress ? { onProgress: options.onDigestProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) })];
      } else {
        ctx.image.digests = await digestFiles(paths(opened), { ...(options.onDigestProgress ? { onProgress: options.onDigestProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      }
    }
    const report = await evaluate(ctx, profiles, base);
    const result: CheckImageResult = { report };
    if (http) result.http = { requests: http.stats.requests, bytesFetched: http.stats.bytesFetched };
    return result;
  }
}

export { check };
