/**
 * The named limits (src/limits.ts) are settable per call and take effect where they are
 * documented: each one set below what a real fixture needs turns the read into an `E_LIMIT`
 * (or, for the time budget, an `E_ABORTED` that names it), and the defaults read the fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, DiskProbeError, check, fromBytes, inspect, listVolumes, openDisk, openFileSystem, openHive, type WindowsGuest } from '../src/index.js';
import { openImage } from '../src/node/image.js';
import { fileResolver } from '../src/node/resolver.js';
import { openFile } from '../src/node/file.js';
import { checkImage } from '../src/node/check.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';

const code = (e: unknown) => (e instanceof DiskProbeError ? e.code : `not a DiskProbeError: ${String(e)}`);

describe('limits', () => {
  it('maxChainDepth: a three-image qcow2 chain opens with depth 2 and is E_LIMIT with depth 1', async () => {
    const top = join(FIXTURES, 'images/qcow2/chain-top.qcow2');
    const open = async (maxChainDepth?: number) => openDisk(await openFile(top), { resolver: fileResolver(), ...(maxChainDepth !== undefined ? { maxChainDepth } : {}) });
    await expect(open()).resolves.toBeDefined();
    await expect(open(2)).resolves.toBeDefined();
    const e = await open(1).catch((x: unknown) => x);
    expect(code(e)).toBe('E_LIMIT');
    expect((e as DiskProbeError).expected).toBe('maxChainDepth 1');
  });

  it('maxDirectoryEntries and maxDirectoryBytes bound a listing', async () => {
    const image = await openImage(join(FIXTURES, 'fs/ext/ext4.qcow2'));
    try {
      const dev = image.disk;
      const entries = (await (await openFileSystem(dev)).readdir('/')).length;
      expect(entries).toBeGreaterThan(2);
      expect(code(await (await openFileSystem(dev, { maxDirectoryEntries: entries - 1 })).readdir('/').catch((x: unknown) => x))).toBe('E_LIMIT');
      expect(await (await openFileSystem(dev, { maxDirectoryEntries: entries })).readdir('/')).toHaveLength(entries);
      expect(code(await (await openFileSystem(dev, { maxDirectoryBytes: 1024 })).readdir('/').catch((x: unknown) => x))).toBe('E_LIMIT');
    } finally {
      await image.close();
    }
  });

  it('maxDirectoryBytes applies to XFS and FAT too', async () => {
    for (const file of ['fs/xfs/xfs.qcow2', 'fat/fat32-tree.qcow2']) {
      const image = await openImage(join(FIXTURES, file));
      try {
        const vols = await listVolumes(image.disk);
        const dev = vols.find((v) => v.content.type === 'xfs' || v.content.type === 'vfat') ?? image.disk;
        const fs = await openFileSystem(dev);
        // The deepest directory with the most entries: one whose data spans more than one block.
        const big = (await fs.readdir('/')).filter((e) => e.type === 'directory');
        expect(big.length, file).toBeGreaterThan(0);
        const small = await openFileSystem(dev, { maxDirectoryBytes: 1 });
        const results = await Promise.all(['/', ...big.map((d) => `/${d.name}`)].map((p) => small.readdir(p).then(() => 'ok', code)));
        expect(results, file).toContain('E_LIMIT');
      } finally {
        await image.close();
      }
    }
  });

  it('maxHiveBytes: openHive refuses a larger hive or log; inspection records it per hive', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'registry/system.hive')));
    expect(code(await openHive(bytes, { maxBytes: bytes.length - 1 }).catch((x: unknown) => x))).toBe('E_LIMIT');
    expect(code(await openHive(fromBytes(bytes), { maxBytes: 4096 }).catch((x: unknown) => x))).toBe('E_LIMIT');
    await expect(openHive(bytes, { maxBytes: bytes.length })).resolves.toBeDefined();

    const image = await openImage(join(FIXTURES, 'windows/win-good.qcow2'));
    try {
      const clean = (await inspect(image.disk)).guests[0] as WindowsGuest;
      expect(clean.hives.find((h) => h.name === 'SYSTEM')?.error).toBeUndefined();
      const limited = (await inspect(image.disk, { limits: { maxHiveBytes: 4096 } })).guests[0] as WindowsGuest;
      const system = limited.hives.find((h) => h.name === 'SYSTEM')!;
      expect(system.present).toBe(true);
      expect(system.error).toMatch(/maxBytes|maxHiveBytes/);
    } finally {
      await image.close();
    }
  });

  it('maxExpandedBytes: the check reads the initramfs within it, or says ERROR for what it could not read', async () => {
    const image = await openImage(join(FIXTURES, 'checks/good.qcow2'));
    try {
      // The clean check finds nvme in the initramfs; within 1 KiB the listing stops early, and
      // "not in the part that was read" is no evidence that it is missing: ERROR, not WARNING.
      const nvme = async (limits?: { maxExpandedBytes: number }) => (await check(image.disk, { profile: 'aws', ...(limits ? { limits } : {}) })).profiles[0]!.check_items.find((i) => i.id === 'linux.nvme')!;
      expect((await nvme()).result).toBe('OK');
      const limited = await nvme({ maxExpandedBytes: 1024 });
      expect(limited.result).toBe('ERROR');
      expect(limited.description).toMatch(/could not all be read/);
    } finally {
      await image.close();
    }
  });

  it('timeoutMs: a check past its budget is E_ABORTED naming the budget; a caller abort stays the caller\'s', async () => {
    const path = join(FIXTURES, 'checks/good.qcow2');
    const e = await checkImage(path, { profile: 'all', digest: false, limits: { timeoutMs: 1 } }).catch((x: unknown) => x);
    expect(code(e)).toBe('E_ABORTED');
    expect((e as Error).message).toMatch(/time budget of 1 ms/);

    const image = await openImage(path);
    try {
      const own = new AbortController();
      own.abort();
      const mine = await check(image.disk, { signal: own.signal, limits: { timeoutMs: 60_000 } }).catch((x: unknown) => x);
      expect(code(mine)).toBe('E_ABORTED');
      expect((mine as Error).message).not.toMatch(/time budget/);
      const ok = await check(image.disk, { profile: 'generic', limits: { timeoutMs: 60_000 } });
      expect(ok.profiles[0]!.check_items.length).toBeGreaterThan(10);
      expect(code(await check(image.disk, { limits: { timeoutMs: -5 } }).catch((x: unknown) => x))).toBe('E_ARGUMENT');
    } finally {
      await image.close();
    }
    // inspect takes the same budget (on a fresh image: reads that all come from memory never
    // yield to the timer, so a warm inspection can finish inside 1 ms of event-loop time).
    const fresh = await openImage(path);
    try {
      const late = await inspect(fresh.disk, { limits: { timeoutMs: 1 } }).catch((x: unknown) => x);
      expect(code(late)).toBe('E_ABORTED');
      expect((late as Error).message).toMatch(/the inspection ran past its time budget of 1 ms/);
      expect((await inspect(fresh.disk, { limits: { timeoutMs: 60_000 } })).guests).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('diskprobe check --timeout', async () => {
    const path = join(FIXTURES, 'checks/good.qcow2');
    const late = await runCli(['check', '--no-md5', '-q', '--timeout', '0.001', path]);
    expect(late.code).toBe(2);
    expect(late.err).toMatch(/time budget/);
    expect((await runCli(['check', '--timeout', 'soon', path])).code).toBe(2);
    const fine = await runCli(['check', '--no-md5', '-q', '--timeout', '60', path]);
    expect(fine.code).toBe(0);
  });

  it('DEFAULT_LIMITS names every default', () => {
    expect(Object.keys(DEFAULT_LIMITS).sort()).toEqual(['maxChainDepth', 'maxDirectoryBytes', 'maxDirectoryEntries', 'maxExpandedBytes', 'maxHiveBytes', 'metadataCacheBytes']);
  });
});
