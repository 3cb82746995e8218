import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DiskProbeError, ErrorCode } from '../../src/errors.js';
import { fromUrl, type HttpOptions } from '../../src/device/http.js';
import {
  partial,
  pattern,
  requestedRange,
  serveRanges,
  startServer,
  streamWhole,
  type StreamProgress,
  type TestServer,
} from '../helpers/http-server.js';

const SIZE = 1024 * 1024;
const data = pattern(SIZE);
const ETAG = '"v1"';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(serveRanges(data));
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.handler = serveRanges(data, { etag: () => ETAG });
  server.seen.length = 0;
});

function open(options: HttpOptions = {}): ReturnType<typeof fromUrl> {
  return fromUrl(server.url, { retryDelayMs: 1, ...options });
}

/** The first offset at which `got` differs from `want`, or -1: quick on megabytes, unlike toEqual. */
function mismatch(got: Uint8Array, want: Uint8Array): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  if (Buffer.compare(got, want) === 0) return -1;
  return got.findIndex((b, i) => b !== want[i]);
}

/** A 206 that declares the whole range, sends 100 bytes of it and drops the connection. */
function truncate(res: ServerResponse, first: number, last: number): void {
  res.writeHead(206, { 'Content-Range': `bytes ${first}-${last}/${SIZE}`, 'Content-Length': last - first + 1 });
  res.write(data.subarray(first, first + 100), () => res.destroy());
}

/** Awaits a rejection and returns it as a DiskProbeError. */
async function failure(p: Promise<unknown>): Promise<DiskProbeError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DiskProbeError);
  return e as DiskProbeError;
}

describe('fromUrl against a range server', () => {
  it('learns the size with HEAD and reads exactly the bytes asked for', async () => {
    const dev = await open();
    expect(dev.size).toBe(SIZE);
    expect(dev.validator).toBe(ETAG);
    expect(server.seen[0]?.method).toBe('HEAD');

    expect(await dev.read(1000, 5000)).toEqual(data.subarray(1000, 6000));
    expect(await dev.read(SIZE - 1, 1)).toEqual(data.subarray(SIZE - 1));
    expect(await dev.read(SIZE, 0)).toEqual(new Uint8Array(0));
    expect(dev.stats).toEqual({ requests: 3, bytesFetched: 5001, retries: 0 });

    const get = server.seen[1]?.headers;
    expect(get?.range).toBe('bytes=1000-5999');
    expect(get?.['if-range']).toBe(ETAG);
    // The fetch standard appends its own identity to ranged requests: any list of identity will do.
    const encodings = get?.['accept-encoding']?.split(',').map((t) => t.trim());
    expect(new Set(encodings)).toEqual(new Set(['identity']));
  });

  it('sends the caller headers on every request', async () => {
    const dev = await open({ headers: { Authorization: 'Bearer t0ken' } });
    await dev.read(0, 10);
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(['Bearer t0ken', 'Bearer t0ken']);
  });

  it('falls back to Range: bytes=0-0 when HEAD answers 405', async () => {
    server.handler = serveRanges(data, { etag: () => ETAG, headStatus: 405 });
    const dev = await open();
    expect(dev.size).toBe(SIZE);
    expect(dev.validator).toBe(ETAG);
    expect(server.seen.map((s) => `${s.method} ${s.headers.range ?? ''}`)).toEqual(['HEAD ', 'GET bytes=0-0']);
    expect(dev.stats).toEqual({ requests: 2, bytesFetched: 1, retries: 0 });
    expect(await dev.read(SIZE - 100, 100)).toEqual(data.subarray(SIZE - 100));
  });

  it('learns size 0 from the 416 an empty object answers to bytes=0-0', async () => {
    server.handler = serveRanges(new Uint8Array(0), { headStatus: 403 });
    const dev = await open();
    expect(dev.size).toBe(0);
    expect(await dev.read(0, 0)).toEqual(new Uint8Array(0));
  });

  it('refuses a fallback Content-Range whose total is *', async () => {
    server.handler = (req, res) => {
      if (req.method === 'HEAD') res.writeHead(405).end();
      else res.writeHead(206, { 'Content-Range': 'bytes 0-0/*' }).end('x');
    };
    expect((await failure(open())).code).toBe(ErrorCode.HTTP);
  });

  it('pins Last-Modified when the ETag is weak', async () => {
    const lastModified = 'Tue, 01 Jan 2019 00:00:00 GMT';
    server.handler = serveRanges(data, { etag: () => 'W/"weak"', lastModified });
    const dev = await open();
    expect(dev.validator).toBe(lastModified);
    await dev.read(0, 4);
    expect(server.seen[1]?.headers['if-range']).toBe(lastModified);
  });

  it('skips the size request when given the size, and checks reads before sending any', async () => {
    const dev = await open({ size: SIZE });
    expect(dev.stats.requests).toBe(0);
    expect((await failure(dev.read(SIZE - 1, 2))).code).toBe(ErrorCode.RANGE);
    expect(await dev.read(8, 8)).toEqual(data.subarray(8, 16));
    expect(dev.validator).toBe(ETAG);
    expect(dev.stats.requests).toBe(1);
  });

  it('reads equal the bytes for random ranges (property)', async () => {
    const rangeUpTo = (most: number): fc.Arbitrary<[number, number]> =>
      fc
        .integer({ min: 0, max: SIZE })
        .chain((offset) => fc.tuple(fc.constant(offset), fc.integer({ min: 0, max: Math.min(SIZE - offset, most) })));
    const dev = await open();
    const ranges = fc.oneof(
      // Any range, and short ranges anywhere (where a sector-sized read lands).
      rangeUpTo(SIZE),
      rangeUpTo(4096),
      fc.constant([SIZE - 1, 1] as [number, number]),
    );
    await fc.assert(
      fc.asyncProperty(ranges, async ([offset, length]) => {
        const got = await dev.read(offset, length);
        expect(mismatch(got, data.subarray(offset, offset + length))).toBe(-1);
      }),
      { numRuns: 100 },
    );
  });
});

describe('fromUrl against misbehaving servers', () => {
  it('cuts off a server that ignores Range and sends the whole 64 MiB object', async () => {
    const whole = 64 * 1024 * 1024;
    let progress: StreamProgress | undefined;
    server.handler = (req, res) => {
      if (req.method === 'HEAD') res.writeHead(200, { 'Content-Length': whole }).end();
      else progress = streamWhole(res, whole);
    };
    const dev = await open();
    const e = await failure(dev.read(4096, 4096));
    expect(e.code).toBe(ErrorCode.HTTP_NO_RANGE);
    expect(e.message).toContain(`server answered 200 OK with the whole object (Content-Length ${whole})`);
    await progress?.closed;
    expect(progress?.written).toBeLessThan(whole / 4);
    expect(dev.stats.requests).toBe(2);
    expect(dev.stats.bytesFetched).toBe(0);
  });

  it('refuses a 206 with the wrong Content-Range and names both', async () => {
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r === undefined) return serveRanges(data)(req, res);
      partial(res, data, r.first + 1, r.last + 1);
    };
    const dev = await open();
    const e = await failure(dev.read(100, 10));
    expect(e.code).toBe(ErrorCode.HTTP);
    expect(e.message).toContain('bytes 101-110/');
    expect(e.message).toContain('bytes 100-109/');
    expect(dev.stats.retries).toBe(0);
  });

  it('says E_CHANGED when the ETag changes between requests', async () => {
    let etag = ETAG;
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r === undefined) return serveRanges(data, { etag: () => etag })(req, res);
      partial(res, data, r.first, r.last, { ETag: etag }); // ignores If-Range
    };
    const dev = await open();
    expect(await dev.read(0, 16)).toEqual(data.subarray(0, 16));
    etag = '"v2"';
    const e = await failure(dev.read(16, 16));
    expect(e.code).toBe(ErrorCode.CHANGED);
    expect(e.message).toContain('the object changed while it was being read');
  });

  it('says E_CHANGED when a server honouring If-Range answers 200 after the change', async () => {
    let etag = ETAG;
    server.handler = serveRanges(data, { etag: () => etag });
    const dev = await open();
    await dev.read(0, 16);
    etag = '"v2"';
    const e = await failure(dev.read(16, 16));
    expect(e.code).toBe(ErrorCode.CHANGED);
    expect(server.seen.at(-1)?.headers['if-range']).toBe(ETAG);
  });

  it('says E_CHANGED when the Content-Range total is no longer the size', async () => {
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r === undefined) return serveRanges(data)(req, res);
      partial(res, data, r.first, r.last, { 'Content-Range': `bytes ${r.first}-${r.last}/${SIZE * 2}` });
    };
    const dev = await open();
    expect((await failure(dev.read(0, 8))).code).toBe(ErrorCode.CHANGED);
  });

  it('refuses a 416, a 404 and a compressed 206 without retrying', async () => {
    const dev = await open();
    server.handler = (_req, res) => res.writeHead(416, { 'Content-Range': `bytes */${SIZE}` }).end();
    expect((await failure(dev.read(0, 8))).code).toBe(ErrorCode.HTTP);
    server.handler = (_req, res) => res.writeHead(404).end();
    const e = await failure(dev.read(0, 8));
    expect(e.code).toBe(ErrorCode.HTTP);
    expect(e.message).toContain('404 Not Found');
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r !== undefined) partial(res, data, r.first, r.last, { 'Content-Encoding': 'gzip' });
    };
    expect((await failure(dev.read(0, 8))).code).toBe(ErrorCode.HTTP);
    expect(dev.stats).toMatchObject({ requests: 4, retries: 0 });
  });

  it('retries a truncated body, then gives up with E_IO or E_TRUNCATED', async () => {
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r === undefined) return serveRanges(data)(req, res);
      truncate(res, r.first, r.last);
    };
    const dev = await open({ retries: 2 });
    const e = await failure(dev.read(0, 1000));
    expect([ErrorCode.IO, ErrorCode.TRUNCATED]).toContain(e.code);
    expect(e.message).toContain('3 attempts');
    expect(dev.stats).toMatchObject({ requests: 4, retries: 2 });
  });

  it('retries a body truncated once and returns the right bytes', async () => {
    let cut = 1;
    server.handler = (req, res) => {
      const r = requestedRange(req);
      if (r === undefined || cut-- <= 0) return serveRanges(data)(req, res);
      truncate(res, r.first, r.last);
    };
    const dev = await open({ size: SIZE });
    expect(await dev.read(5000, 1000)).toEqual(data.subarray(5000, 6000));
    expect(dev.stats.retries).toBe(1);
    expect(dev.stats.requests).toBe(2);
  });

  it('retries a 503 and a 429 with Retry-After: 0', async () => {
    const answers = [503, 429];
    const ranges = serveRanges(data);
    server.handler = (req, res) => {
      const status = answers.shift();
      if (status === undefined) return ranges(req, res);
      res.writeHead(status, status === 429 ? { 'Retry-After': '0' } : {}).end();
    };
    const dev = await open({ size: SIZE });
    expect(await dev.read(64, 64)).toEqual(data.subarray(64, 128));
    expect(dev.stats).toEqual({ requests: 3, bytesFetched: 64, retries: 2 });
  });

  it('gives up after the retries with E_HTTP naming the last status', async () => {
    server.handler = (_req, res) => res.writeHead(503).end();
    const dev = await open({ size: SIZE, retries: 3 });
    const e = await failure(dev.read(0, 1));
    expect(e.code).toBe(ErrorCode.HTTP);
    expect(e.message).toContain('503 Service Unavailable');
    expect(dev.stats).toMatchObject({ requests: 4, retries: 3 });
  });

  it('retries connection resets, then gives up with E_IO', async () => {
    server.handler = (req) => req.socket.destroy();
    const dev = await open({ size: SIZE, retries: 2 });
    const e = await failure(dev.read(0, 1));
    expect(e.code).toBe(ErrorCode.IO);
    expect(dev.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('retries a request that timed out', async () => {
    let slow = 1;
    const ranges = serveRanges(data);
    server.handler = (req, res) => {
      if (slow-- <= 0) return ranges(req, res);
      const timer = setTimeout(() => ranges(req, res), 5000);
      res.on('close', () => clearTimeout(timer));
    };
    const dev = await open({ size: SIZE, timeoutMs: 100 });
    expect(await dev.read(0, 32)).toEqual(data.subarray(0, 32));
    expect(dev.stats.retries).toBe(1);
  });

  it('stops a read to a slow server promptly when the signal aborts', async () => {
    const ranges = serveRanges(data);
    server.handler = (req, res) => {
      const timer = setTimeout(() => ranges(req, res), 5000);
      res.on('close', () => clearTimeout(timer));
    };
    const dev = await open({ size: SIZE });
    const started = Date.now();
    const e = await failure(dev.read(0, 32, AbortSignal.timeout(50)));
    expect(e.code).toBe(ErrorCode.ABORTED);
    expect(Date.now() - started).toBeLessThan(500);
    expect(dev.stats.retries).toBe(0);
  });

  it('stops waiting between retries when the signal aborts', async () => {
    server.handler = (_req, res) => res.writeHead(503).end();
    const dev = await open({ size: SIZE, retryDelayMs: 10_000, maxRetryDelayMs: 10_000 });
    const started = Date.now();
    const e = await failure(dev.read(0, 32, AbortSignal.timeout(50)));
    expect(e.code).toBe(ErrorCode.ABORTED);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('aborts learning the size with options.signal', async () => {
    server.handler = (_req, res) => {
      const timer = setTimeout(() => res.writeHead(503).end(), 5000);
      res.on('close', () => clearTimeout(timer));
    };
    const e = await failure(open({ signal: AbortSignal.timeout(50) }));
    expect(e.code).toBe(ErrorCode.ABORTED);
  });
});

describe('fromUrl labels', () => {
  it('keeps a presigned query string and credentials out of the label and messages', async () => {
    const url = server.url.replace('http://', 'http://user:hunter2@') + '?X-Amz-Signature=secret&X-Amz-Expires=60';
    const dev = await fromUrl(url, { retryDelayMs: 1, retries: 1 });
    expect(dev.label).toBe(server.url);
    // The query still reaches the server, and the credentials travel as Basic authentication.
    expect(server.seen[0]?.url).toBe('/disk.img?X-Amz-Signature=secret&X-Amz-Expires=60');
    expect(server.seen[0]?.headers.authorization).toBe(`Basic ${btoa('user:hunter2')}`);

    server.handler = (_req, res) => res.writeHead(403).end();
    const forbidden = await failure(dev.read(0, 1));
    server.handler = (req) => req.socket.destroy();
    const reset = await failure(dev.read(0, 1));
    for (const e of [forbidden, reset]) {
      expect(e.message).toContain(server.url);
      expect(e.message).not.toContain('secret');
      expect(e.message).not.toContain('hunter2');
      expect(JSON.stringify(e.toJSON())).not.toContain('secret');
    }
  });

  it('uses the label given', async () => {
    const dev = await open({ label: 'disk over http' });
    expect(dev.label).toBe('disk over http');
  });
});
