/**
 * A real HTTP server on 127.0.0.1 for device tests: a correct range server over bytes in memory,
 * and the pieces tests use to make it misbehave.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A request as the server saw it. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>/disk.img`. */
  readonly url: string;
  /** Answers every request; tests replace it. */
  handler: Handler;
  /** Every request received, in order. */
  readonly seen: Seen[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const state = { handler };
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    state.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/disk.img`,
    get handler() {
      return state.handler;
    },
    set handler(h: Handler) {
      state.handler = h;
    },
    seen,
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** `size` bytes in which every aligned 4-byte word holds its own offset (little-endian). */
export function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i + 4 <= size; i += 4) view.setUint32(i, i, true);
  return bytes;
}

export interface RangeServerOptions {
  /** The ETag of each answer; a function lets a test change the object between requests. */
  etag?: () => string | undefined;
  lastModified?: string;
  /** Status for HEAD instead of 200 (405, 403…). */
  headStatus?: number;
}

/** A server that honours single byte ranges and If-Range as RFC 9110 says (§14.2, §13.1.5, §14.4). */
export function serveRanges(data: Uint8Array, options: RangeServerOptions = {}): Handler {
  return (req, res) => {
    const etag = options.etag?.();
    if (etag !== undefined) res.setHeader('ETag', etag);
    if (options.lastModified !== undefined) res.setHeader('Last-Modified', options.lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.method === 'HEAD') {
      if (options.headStatus !== undefined) {
        res.writeHead(options.headStatus).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': data.length }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (m === null || (ifRange !== undefined && ifRange !== etag && ifRange !== options.lastModified)) {
      res.writeHead(200, { 'Content-Length': data.length }).end(data);
      return;
    }
    const first = Number(m[1]);
    const last = Math.min(Number(m[2]), data.length - 1);
    if (first >= data.length || first > last) {
      res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
      return;
    }
    partial(res, data, first, last);
  };
}

/** A correct 206 answer for bytes `first..last` (inclusive) of `data`. */
export function partial(res: ServerResponse, data: Uint8Array, first: number, last: number, headers = {}): void {
  res.writeHead(206, {
    'Content-Range': `bytes ${first}-${last}/${data.length}`,
    'Content-Length': last - first + 1,
    ...headers,
  });
  res.end(data.subarray(first, last + 1));
}

/** The range a request asked for, or undefined. */
export function requestedRange(req: IncomingMessage): { first: number; last: number } | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  return m === null ? undefined : { first: Number(m[1]), last: Number(m[2]) };
}

/** What a streamed answer managed to send before the client went away. */
export interface StreamProgress {
  written: number;
  closed: Promise<void>;
}

/**
 * Answers 200 with a `total`-byte body written in 64 KiB chunks as fast as the client takes
 * them, stopping when the connection closes.
 */
export function streamWhole(res: ServerResponse, total: number): StreamProgress {
  const chunk = new Uint8Array(64 * 1024);
  const progress: StreamProgress = {
    written: 0,
    closed: new Promise((resolve) => res.on('close', () => resolve())),
  };
  res.writeHead(200, { 'Content-Length': total });
  const pump = (): void => {
    while (progress.written < total && !res.destroyed) {
      progress.written += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (progress.written >= total) res.end();
  };
  pump();
  return progress;
}
