/**
 * A small static file server on 127.0.0.1 that answers HEAD and single-range GETs the way
 * object stores do (206 with Content-Range, a strong ETag, If-Range), with content types for the
 * web page's files and, on request, CORS headers (an image in another origin's bucket). Used by
 * `npm run serve:web`, the tests and the benches.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

export interface StaticServer {
  url: string;
  server: Server;
  requests: number;
  /** Bytes of file content sent (bodies of GET responses). */
  bytesSent: number;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** Answer CORS preflights and let any origin read ranges (as a public bucket with CORS does). */
  cors?: boolean;
  /** The port (default: any free one). */
  port?: number;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.wasm': 'application/wasm' };

export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const state = { requests: 0, bytes: 0 };
  const server = createServer(async (req, res) => {
    state.requests++;
    if (options.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range, If-Range', 'Access-Control-Max-Age': '600' }).end();
        return;
      }
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    const file = join(root, path);
    let size: number;
    let etag: string;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
      etag = `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = { 'Accept-Ranges': 'bytes', ETag: etag, 'Content-Type': type };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': size }).end();
      return;
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (!range || (ifRange !== undefined && ifRange !== etag)) {
      res.writeHead(200, { ...headers, 'Content-Length': size });
      state.bytes += size;
      if (size > 0) createReadStream(file).pipe(res);
      else res.end();
      return;
    }
    let start: number;
    let end: number;
    if (range[1] === '') {
      start = Math.max(0, size - Number(range[2]));
      end = size - 1;
    } else {
      start = Number(range[1]);
      end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    }
    if (start >= size || start > end) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    state.bytes += end - start + 1;
    createReadStream(file, { start, end }).pipe(res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get requests() {
      return state.requests;
    },
    get bytesSent() {
      return state.bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
