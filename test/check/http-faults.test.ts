/**
 * Fault injection over HTTP (issue #16): the good check guest served by a range server that
 * fails — 500s and dropped connections at random, or the object replaced in the middle of the
 * check. With retries a check either recovers (the clean verdicts) or says ERROR for what it
 * could not read; a replaced object is never read as a mix of two files.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, fromBytes, fromUrl, type CheckReport } from '../../src/index.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { startStaticServer, type StaticServer } from '../helpers/static-server.js';

const verdicts = (r: CheckReport) => new Map(r.profiles.flatMap((p) => p.check_items.map((i) => [`${p.profile} ${i.id}`, i.result] as const)));

/** Items whose verdict is neither the clean one nor ERROR. */
function wrong(r: CheckReport, clean: Map<string, string>): string[] {
  return [...verdicts(r)].filter(([k, v]) => v !== 'ERROR' && v !== clean.get(k)).map(([k, v]) => `${k}: ${v} (clean: ${clean.get(k)})`);
}

describe('checks over a failing HTTP server', () => {
  const source = join(FIXTURES, 'checks/good.qcow2');
  let dir: string;
  let server: StaticServer;
  let clean: Map<string, string>;
  /** What the server does to the next request: undefined (serve), or a fault. */
  let fault: (n: number, req: IncomingMessage, res: ServerResponse) => boolean = () => false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'diskprobe-http-faults-'));
    copyFileSync(source, join(dir, 'good.qcow2'));
    clean = verdicts(await check(fromBytes(new Uint8Array(readFileSync(source)), 'good.qcow2'), { profile: 'all', digestSkipped: 'test' }));
    server = await startStaticServer(dir);
    const serve = server.server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
    server.server.removeAllListeners('request');
    let n = 0;
    server.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!fault(n++, req, res)) serve(req, res);
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const run = async () => check(await fromUrl(`${server.url}/good.qcow2`, { retries: 4, retryDelayMs: 1, maxRetryDelayMs: 5 }), { profile: 'all', digestSkipped: 'test' });

  it('500s and dropped connections on one request in three: retries recover the clean verdicts', async () => {
    fault = (n, _req, res) => {
      if (n % 3 !== 1) return false;
      if (n % 2) res.writeHead(500).end();
      else res.socket?.destroy();
      return true;
    };
    const r = await run();
    expect(wrong(r, clean)).toEqual([]);
    expect([...verdicts(r).values()].filter((v) => v === 'ERROR')).toEqual([...clean.values()].filter((v) => v === 'ERROR'));
  });

  it('every request failing after the tenth: ERRORs, never another decided verdict', async () => {
    let first = -1;
    fault = (n, _req, res) => {
      if (first < 0) first = n;
      if (n - first < 10) return false;
      res.writeHead(503).end();
      return true;
    };
    const r = await run().catch((e: Error) => e);
    if (r instanceof Error) {
      // Opening may itself fail: then there is no report at all, which is not a wrong verdict.
      expect(r.name).toBe('DiskProbeError');
      return;
    }
    expect(wrong(r, clean)).toEqual([]);
  });

  it('the object replaced mid-check (ETag changes): what was read after is refused, not mixed in', async () => {
    let replaced = false;
    let first = -1;
    fault = (n) => {
      if (first < 0) first = n;
      if (n - first === 6 && !replaced) {
        replaced = true;
        // Same size, other bytes, a later mtime: the server's ETag changes, and If-Range with
        // the old one gets the whole new object (200), which a range reader must refuse.
        const b = readFileSync(join(dir, 'good.qcow2'));
        for (let i = 1 << 16; i < b.length; i += 4096) b[i] = b[i]! ^ 0xff;
        writeFileSync(join(dir, 'good.qcow2'), b);
      }
      return false;
    };
    const r = await run().catch((e: Error) => e);
    expect(replaced).toBe(true);
    if (r instanceof Error) {
      expect(r.name).toBe('DiskProbeError');
      return;
    }
    expect(wrong(r, clean)).toEqual([]);
    // The change was noticed: the reads after it failed, and some items say so.
    const errors = [...r.profiles.flatMap((p) => p.check_items)].filter((i) => i.result === 'ERROR' && /changed|modified|ETag|If-Range/i.test(i.description));

    expect(errors.length).toBeGreaterThan(0);
  });
});
