/**
 * A device over an HTTP(S) URL that answers range requests: a presigned S3/GCS/Azure URL, a CDN,
 * any static file server. Only the bytes asked for are fetched, and a server that would send the
 * whole object instead is cut off at once.
 *
 * References: RFC 9110 (HTTP Semantics) §14.2 Range, §14.4 Content-Range, §13.1.5 If-Range,
 * §15.3.7 206 Partial Content, §8.8.2.2 Last-Modified as a strong validator, §10.2.3 Retry-After.
 *
 * In a browser, a cross-origin server must list Content-Range (and ETag, to detect changes) in
 * Access-Control-Expose-Headers, or every read fails with E_HTTP.
 */
import { DiskProbeError, ErrorCode, abortError, throwIfAborted, type Where } from '../errors.js';
import { checkRead, checkSize } from './check.js';
import type { BlockDevice } from './types.js';

/** Options of {@link fromUrl}. */
export interface HttpOptions {
  /** Headers sent on every request (for example `Authorization`). */
  headers?: HeadersInit;
  /** The fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** The object's size in bytes, if known: skips the request that learns it. */
  size?: number;
  /** Extra attempts after a network error, a timeout, a 5xx or a 429. Default 4. */
  retries?: number;
  /** Base delay before a retry, doubled each attempt, with jitter. Default 200 ms. */
  retryDelayMs?: number;
  /** Cap on a retry delay, including one a Retry-After header asks for. Default 5000 ms. */
  maxRetryDelayMs?: number;
  /** Longest wait for an answer, or between two chunks of its body. Default 60000 ms. */
  timeoutMs?: number;
  /** Aborts the request that learns the size. */
  signal?: AbortSignal;
  /** The label for messages. Default: the URL without credentials, query string or fragment. */
  label?: string;
}

/** Counters of an HTTP device. */
export interface HttpStats {
  /** Requests sent, including the one that learned the size and every retry. */
  requests: number;
  /** Body bytes received. */
  bytesFetched: number;
  /** Attempts repeated after a retryable failure. */
  retries: number;
}

/** A device over an HTTP URL. */
export interface HttpDevice extends BlockDevice {
  readonly stats: HttpStats;
  /** The strong ETag, else the Last-Modified date, that every answer must still carry. */
  readonly validator?: string;
}

/** What identifies the version of the object being read. */
interface Validator {
  header: 'etag' | 'last-modified';
  value: string;
  /** Whether it may be sent in If-Range (RFC 9110 §13.1.5 allows only strong validators). */
  ifRange: boolean;
}

/** A failure worth another attempt; it becomes a DiskProbeError with `code` once attempts run out. */
class Retry {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    readonly cause?: unknown,
    readonly afterMs?: number,
  ) {}
}

/**
 * Opens `url` as a read-only device. Learns the size with HEAD, or, where HEAD is refused (a
 * presigned URL signed for GET only), with `Range: bytes=0-0`; pins the object's ETag or
 * Last-Modified so that a change between reads is an E_CHANGED error, never mixed bytes.
 */
export async function fromUrl(url: string | URL, options: HttpOptions = {}): Promise<HttpDevice> {
  const { target, label, authorization } = parseUrl(url, options.label);
  const where = { layer: 'device', format: 'http', device: label } as const;
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new DiskProbeError(ErrorCode.ARGUMENT, 'no fetch implementation', where);
  const retries = option('retries', options.retries, 4);
  const retryDelayMs = option('retryDelayMs', options.retryDelayMs, 200);
  const maxRetryDelayMs = option('maxRetryDelayMs', options.maxRetryDelayMs, 5000);
  const timeoutMs = option('timeoutMs', options.timeoutMs, 60_000);

  const base = new Headers(options.headers);
  if (authorization !== undefined && !base.has('authorization')) base.set('authorization', authorization);
  // Compressed bytes are not the object's bytes; browsers drop this header, Node sends it.
  base.set('accept-encoding', 'identity');
  const stats: HttpStats = { requests: 0, bytesFetched: 0, retries: 0 };
  let pinned: Validator | undefined;
  // Once a 206 has come back, a 200 to an If-Range request means the object changed.
  let rangesWork = false;

  function option(name: string, value: number | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new DiskProbeError(ErrorCode.ARGUMENT, `${name} must be a non-negative integer`, { ...where, value });
    }
    return value;
  }

  /** Sends one request, with retries; `handle` turns the answer into a result or throws. */
  async function request<T>(
    method: string,
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
    at: Where,
    handle: (res: Response, alive: () => void) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal, at);
      // One controller per attempt carries both the caller's abort and our timeout.
      const ctrl = new AbortController();
      const onAbort = (): void => ctrl.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort);
      let timedOut = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const alive = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          ctrl.abort();
        }, timeoutMs);
      };
      let res: Response | undefined;
      let failure: Retry;
      try {
        alive();
        const headers = new Headers(base);
        for (const [name, value] of Object.entries(extra)) headers.set(name, value);
        stats.requests++;
        res = await doFetch(target, { method, headers, signal: ctrl.signal });
        if (res.status >= 500 || res.status === 429) {
          throw new Retry(ErrorCode.HTTP, `server answered ${show(res)}`, undefined, retryAfter(res.headers));
        }
        return await handle(res, alive);
      } catch (e) {
        // Drop an unread body at once, so a 50 GB answer is never downloaded.
        if (res !== undefined && !res.bodyUsed) res.body?.cancel().catch(() => {});
        if (signal?.aborted) throw abortError(signal, at);
        if (e instanceof DiskProbeError) throw e;
        if (timedOut) failure = new Retry(ErrorCode.IO, `no answer for ${timeoutMs} ms`, e);
        else failure = e instanceof Retry ? e : new Retry(ErrorCode.IO, `request failed: ${describe(e)}`, e);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (attempt >= retries) {
        const tries = attempt + 1;
        throw new DiskProbeError(failure.code, `${failure.reason} (${tries} attempt${tries > 1 ? 's' : ''})`, {
          ...at,
          cause: failure.cause,
        });
      }
      stats.retries++;
      const delay = failure.afterMs ?? retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
      await sleep(Math.min(delay, maxRetryDelayMs), signal, at);
    }
  }

  /** Reads exactly `length` body bytes; a short, long or broken body is worth a retry. */
  async function readBody(res: Response, length: number, alive: () => void): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let got = 0;
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Retry(ErrorCode.TRUNCATED, `answer has no body (expected ${length} bytes)`);
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          throw new Retry(ErrorCode.IO, `body broke off after ${got} of ${length} bytes: ${describe(cause)}`, cause);
        }
        if (chunk.done) break;
        alive();
        stats.bytesFetched += chunk.value.length;
        if (got + chunk.value.length > length) {
          throw new Retry(ErrorCode.IO, `body is longer than the ${length} bytes asked for`);
        }
        out.set(chunk.value, got);
        got += chunk.value.length;
      }
    } catch (e) {
      reader.cancel().catch(() => {});
      throw e;
    }
    if (got < length) throw new Retry(ErrorCode.TRUNCATED, `body ended after ${got} of ${length} bytes`);
    return out;
  }

  /** The header on `res` that shows the object is no longer the pinned version, if any. */
  function changedBy(h: Headers): string | undefined {
    if (pinned === undefined) return undefined;
    const seen = h.get(pinned.header);
    // Compare opaque tags, so that a proxy that weakens an ETag is not taken for a change.
    if (seen === null || opaque(seen) === opaque(pinned.value)) return undefined;
    return `${pinned.header} ${seen} (was ${pinned.value})`;
  }

  function changed(reason: string, at: Where): DiskProbeError {
    return new DiskProbeError(ErrorCode.CHANGED, `the object changed while it was being read: ${reason}`, at);
  }

  function noRange(res: Response, at: Where): DiskProbeError {
    const length = res.headers.get('content-length') ?? 'not given';
    const reason =
      `server answered ${show(res)} with the whole object (Content-Length ${length}) ` +
      'instead of 206 Partial Content: it does not support range requests';
    return new DiskProbeError(ErrorCode.HTTP_NO_RANGE, reason, at);
  }

  async function learnSize(): Promise<number> {
    const signal = options.signal;
    const head = (res: Response): Promise<number> => {
      const length = res.headers.get('content-length');
      const encoding = res.headers.get('content-encoding');
      // A compressed answer's Content-Length is not the object's size.
      if (res.status !== 200 || length === null || !/^\d{1,16}$/.test(length) || !identity(encoding)) {
        throw new DiskProbeError(ErrorCode.HTTP, `HEAD answered ${show(res)} without a usable Content-Length`, where);
      }
      pinned = validatorOf(res.headers);
      return Promise.resolve(Number(length));
    };
    try {
      return await request('HEAD', {}, signal, where, head);
    } catch (e) {
      if (e instanceof DiskProbeError && e.code === ErrorCode.ABORTED) throw e;
    }
    // HEAD refused (403 on a GET-only presigned URL, 405): ask for the first byte instead.
    const at = { ...where, offset: 0 };
    return request('GET', { range: 'bytes=0-0' }, signal, at, async (res, alive) => {
      const range = parseContentRange(res.headers.get('content-range'));
      // An empty object cannot satisfy bytes=0-0; its 416 says `bytes */0` (RFC 9110 §15.5.17).
      if (res.status === 416 && range?.first === undefined && range?.total === 0) return 0;
      if (res.status === 200) throw noRange(res, at);
      if (res.status !== 206) {
        throw new DiskProbeError(ErrorCode.HTTP, `server answered ${show(res)} to Range: bytes=0-0`, at);
      }
      if (range?.first !== 0 || range.last !== 0 || range.total === undefined) {
        throw new DiskProbeError(ErrorCode.HTTP, 'server sent a Content-Range that does not give the size', {
          ...at,
          field: 'Content-Range',
          value: res.headers.get('content-range') ?? 'missing',
          expected: 'bytes 0-0/size',
        });
      }
      await readBody(res, 1, alive);
      rangesWork = true;
      pinned = validatorOf(res.headers);
      return range.total;
    });
  }

  const size = checkSize('http', label, options.size ?? (await learnSize()));

  return {
    size,
    label,
    stats,
    get validator() {
      return pinned?.value;
    },
    async read(offset, length, signal) {
      checkRead('http', label, size, offset, length, signal);
      if (length === 0) return new Uint8Array(0);
      const at = { ...where, offset };
      const last = offset + length - 1;
      // RFC 9110 §14.2: both ends of a byte range are inclusive.
      const extra: Record<string, string> = { range: `bytes=${offset}-${last}` };
      const sent = pinned;
      // RFC 9110 §13.1.5: if the object changed, the server sends 200 rather than stale ranges.
      if (sent?.ifRange) extra['if-range'] = sent.value;
      return request('GET', extra, signal, at, async (res, alive) => {
        if (res.status === 200) {
          const by = changedBy(res.headers);
          if (by !== undefined) throw changed(by, at);
          if (sent?.ifRange && rangesWork) throw changed(`server answered 200 OK to If-Range ${sent.value}`, at);
          throw noRange(res, at);
        }
        const contentRange = res.headers.get('content-range');
        const range = parseContentRange(contentRange);
        if (res.status === 416 && range?.total !== undefined && range.total !== size) {
          throw changed(`server answered 416 with size ${range.total} (was ${size})`, at);
        }
        if (res.status !== 206) {
          throw new DiskProbeError(ErrorCode.HTTP, `server answered ${show(res)} to Range: ${extra.range}`, at);
        }
        // RFC 9110 §15.3.7: a 206 describes its part in Content-Range (§14.4).
        const encoding = res.headers.get('content-encoding');
        if (!identity(encoding)) {
          throw new DiskProbeError(ErrorCode.HTTP, `206 Partial Content with Content-Encoding ${encoding}`, at);
        }
        if (range?.total !== undefined && range.total !== size) {
          throw changed(`its size is now ${range.total} (was ${size})`, at);
        }
        const by = changedBy(res.headers);
        if (by !== undefined) throw changed(by, at);
        if (range?.first !== offset || range.last !== last || range.total !== size) {
          throw new DiskProbeError(ErrorCode.HTTP, 'server sent the wrong Content-Range', {
            ...at,
            field: 'Content-Range',
            value: contentRange ?? 'missing',
            expected: `bytes ${offset}-${last}/${size}`,
          });
        }
        const bytes = await readBody(res, length, alive);
        rangesWork = true;
        pinned ??= validatorOf(res.headers);
        return bytes;
      });
    },
  };
}

/** Splits a URL into what fetch gets and what messages may show: no credentials, no query. */
function parseUrl(url: string | URL, label?: string): { target: string; label: string; authorization?: string } {
  let u: URL;
  try {
    // Relative URLs resolve against the page in a browser.
    u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    // No cause: the parser's error carries the URL, and with it any secret in the query.
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'not a valid URL', { layer: 'device', format: 'http', device: label });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new DiskProbeError(ErrorCode.ARGUMENT, `not an HTTP URL (${u.protocol})`, {
      layer: 'device',
      format: 'http',
      device: label,
    });
  }
  // fetch refuses URLs with credentials, so they travel as Basic authentication instead.
  let authorization: string | undefined;
  if (u.username !== '' || u.password !== '') {
    const pair = new TextEncoder().encode(`${unescape(u.username)}:${unescape(u.password)}`);
    authorization = `Basic ${btoa(String.fromCharCode(...pair))}`;
  }
  u.username = '';
  u.password = '';
  u.hash = '';
  const target = u.href;
  // Presigned URLs carry their signature in the query: keep it out of labels and messages.
  u.search = '';
  return { target, label: label ?? u.href, authorization };
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses `bytes first-last/total` or `bytes *\/total` (RFC 9110 §14.4); `*` parts are undefined. */
function parseContentRange(value: string | null): { first?: number; last?: number; total?: number } | undefined {
  const m = value === null ? null : /^bytes +(?:(\d{1,16})-(\d{1,16})|\*)\/(\d{1,16}|\*)$/i.exec(value.trim());
  if (m === null) return undefined;
  const int = (s: string | undefined): number | undefined => (s === undefined || s === '*' ? undefined : Number(s));
  return { first: int(m[1]), last: int(m[2]), total: int(m[3]) };
}

function validatorOf(h: Headers): Validator | undefined {
  const etag = h.get('etag');
  // A weak ETag may not go in If-Range (RFC 9110 §13.1.5), so fall back to Last-Modified.
  if (etag !== null && !etag.startsWith('W/')) return { header: 'etag', value: etag, ifRange: true };
  const modified = h.get('last-modified');
  if (modified === null) return undefined;
  // A date is strong only if the server's Date is at least a second later (RFC 9110 §8.8.2.2).
  const date = h.get('date');
  const strong = date !== null && Date.parse(date) - Date.parse(modified) >= 1000;
  return { header: 'last-modified', value: modified, ifRange: strong };
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

function identity(encoding: string | null): boolean {
  return encoding === null || encoding.trim() === '' || encoding.trim().toLowerCase() === 'identity';
}

function show(res: Response): string {
  return res.statusText ? `${res.status} ${res.statusText}` : String(res.status);
}

/** The delay a 429 or 503 asks for (RFC 9110 §10.2.3): seconds or an HTTP date. */
function retryAfter(h: Headers): number | undefined {
  const value = h.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** A network error in words, with any URL's credentials and query cut out. */
function describe(e: unknown): string {
  let text = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && e.cause instanceof Error) text += `: ${e.cause.message}`;
  return text.replace(/\b(https?:\/\/)(?:[^\s/@]*@)?([^\s?#]*)[^\s]*/gi, '$1$2');
}

function sleep(ms: number, signal: AbortSignal | undefined, at: Where): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, at));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal, at));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
