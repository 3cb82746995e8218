/**
 * No OK without evidence: files are removed at random from the good guest (the files its OK
 * verdicts cite), and every rule is run again over the changed guest. An OK may not cite a file
 * that is no longer there, and always has evidence; a rule whose OK cited a removed file must
 * change to WARNING, FAILED, ERROR or SKIPPED — unless it still has other evidence that is
 * there (cloud-init's binary when its package entry is gone), or it is a rule for which the
 * absence is itself the good state (no SELinux configuration, no firewall…) and it says what
 * it found absent.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, prepare, PROFILES, type CheckReport } from '../../src/check/index.js';
import { memoiser, type CheckContext } from '../../src/check/context.js';
import { DiskProbeError, ErrorCode } from '../../src/index.js';
import type { FileSystem } from '../../src/fs/types.js';
import { inspectRoot } from '../../src/guest/inspect.js';
import { openImage, type OpenedImage } from '../../src/node/image.js';
import { openFileSystem } from '../../src/fs/index.js';

/** Rules whose requirement is that something is absent (or whose default is the good state). */
const ABSENCE_OK = new Set(['linux.selinux', 'linux.rtc', 'linux.firewall', 'linux.qemu-ga', 'linux.ipv6', 'linux.nic-name', 'disk.swap', 'linux.residual-tools', 'linux.hygiene', 'linux.single-nic', 'linux.cloud-init']);

/** The path with every symbolic link in it resolved (within the filesystem), or undefined. */
async function realPath(fs: FileSystem, path: string): Promise<string | undefined> {
  let todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; todo.length; ) {
    const next = todo.shift()!;
    if (next === '.') continue;
    if (next === '..') {
      done.pop();
      continue;
    }
    const here = `/${[...done, next].join('/')}`;
    const st = await fs.lstat(here).catch(() => undefined);
    if (!st) return undefined;
    if (st.type !== 'symlink') {
      done.push(next);
      continue;
    }
    if (++hops > 40) return undefined;
    const target = await fs.readlink(here);
    if (target.startsWith('/')) done.length = 0;
    todo = [...target.split('/').filter(Boolean), ...todo];
  }
  return `/${done.join('/')}`;
}

/** A filesystem with some files hidden (by their real paths): they are not found by any path. */
function hiding(fs: FileSystem, hiddenReal: ReadonlySet<string>, real: (p: string) => Promise<string | undefined>): FileSystem {
  const gone = async (p: string) => {
    const r = await real(p);
    return r !== undefined && hiddenReal.has(r);
  };
  const miss = (p: string) => new DiskProbeError(ErrorCode.NOT_FOUND, `${p}: hidden by the test`, { layer: 'fs' });
  const guard =
    <T>(f: (p: string) => Promise<T>) =>
    async (p: string) => {
      if (await gone(p)) throw miss(p);
      return f(p);
    };
  return {
    type: fs.type,
    label: fs.label,
    caseInsensitive: fs.caseInsensitive,
    findings: fs.findings,
    stat: guard((p) => fs.stat(p)),
    lstat: guard((p) => fs.lstat(p)),
    readlink: guard((p) => fs.readlink(p)),
    readdir: guard(async (p) => {
      const out = [];
      for (const e of await fs.readdir(p)) if (!(await gone(`${p === '/' ? '' : p}/${e.name}`))) out.push(e);
      return out;
    }),
    readFile: async (p, o) => {
      if (await gone(p)) throw miss(p);
      return fs.readFile(p, o);
    },
    createReadStream: (p, o) => {
      let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(ctrl) {
          if (!inner) {
            if (await gone(p)) return ctrl.error(miss(p));
            inner = fs.createReadStream(p, o).getReader();
          }
          const r = await inner.read();
          if (r.done) ctrl.close();
          else ctrl.enqueue(r.value);
        },
        cancel: () => inner?.cancel(),
      });
    },
    statfs: () => fs.statfs(),
  };
}

/** File paths an item cites as present. */
function cited(report: CheckReport, profile: string, id: string): string[] {
  const i = report.profiles.find((p) => p.profile === profile)!.check_items.find((x) => x.id === id)!;
  return i.evidence.filter((e) => e.source.startsWith('/') && !e.absent).map((e) => e.source);
}

describe('no OK without evidence (files removed from the good guest)', () => {
  let image: OpenedImage;
  let ctx: CheckContext;
  let rootFs: FileSystem;
  let baseline: CheckReport;
  const profiles = Object.values(PROFILES);

  beforeAll(async () => {
    image = await openImage(join(__dirname, '../../fixtures/checks/good.qcow2'));
    ctx = await prepare(image.disk, { digestSkipped: 'not computed in this test' });
    const rootVolume = ctx.layout!.volumes.find((v) => v.id === ctx.guest!.root)!;
    rootFs = await openFileSystem(rootVolume);
    baseline = await evaluate(ctx, profiles);
  }, 60_000);
  afterAll(() => image.close());

  it('holds for random sets of removed files', async () => {
    const realCache = new Map<string, Promise<string | undefined>>();
    const real = (p: string) => {
      let r = realCache.get(p);
      if (!r) realCache.set(p, (r = realPath(rootFs, p)));
      return r;
    };
    const realOf = async (paths: string[]) => (await Promise.all(paths.map(real))).filter((x): x is string => x !== undefined);
    // Regular files the baseline's OK verdicts cite, by their real paths.
    const candidates = new Set<string>();
    for (const p of baseline.profiles) for (const i of p.check_items) if (i.result === 'OK') for (const r of await realOf(cited(baseline, p.profile, i.id))) candidates.add(r);
    const files: string[] = [];
    for (const c of candidates) if ((await rootFs.lstat(c).catch(() => undefined))?.type === 'file') files.push(c);
    expect(files.length).toBeGreaterThan(15);

    await fc.assert(
      fc.asyncProperty(fc.subarray(files.sort(), { minLength: 1, maxLength: 3 }), async (removed) => {
        const hidden = new Set(removed);
        const fs = hiding(rootFs, hidden, real);
        const guest = await inspectRoot(ctx.guest!.root, fs, ctx.layout!, async () => {
          throw new DiskProbeError(ErrorCode.UNSUPPORTED, 'one volume only', { layer: 'fs' });
        });
        const changed: CheckContext = { ...ctx, guest, memo: memoiser() };
        const after = await evaluate(changed, profiles);
        for (const p of after.profiles) {
          for (const i of p.check_items) {
            if (i.result !== 'OK') continue;
            expect(i.evidence.length, `${p.profile} ${i.id} OK without evidence`).toBeGreaterThan(0);
            const now = await realOf(i.evidence.filter((e) => e.source.startsWith('/') && !e.absent).map((e) => e.source));
            const stale = now.filter((s) => hidden.has(s));
            expect(stale, `${p.profile} ${i.id} is OK citing removed ${stale.join(', ')}`).toEqual([]);
            const before = (await realOf(cited(baseline, p.profile, i.id))).filter((s) => hidden.has(s));
            if (!before.length) continue;
            // Still OK after its evidence was removed: only on other evidence that is still
            // there, or, for a rule whose requirement is an absence, saying what is absent.
            const other = now.length > 0;
            const byAbsence = ABSENCE_OK.has(i.id) && i.evidence.some((e) => e.absent);
            if (!other && !byAbsence) expect.fail(`${p.profile} ${i.id} stayed OK after ${before.join(', ')} was removed: ${i.description}`);
          }
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
