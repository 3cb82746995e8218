/**
 * VHD and VHDX beyond the fixture-index hashes (test/container/fixtures.test.ts checks every
 * fixture against qemu-img convert through every device kind): random reads agree with the
 * whole, qemu's size rule, and hostile files give a DiskProbeError or a disk, quickly; a VHDX
 * whose log holds entries is refused by name rather than read wrongly.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbeError, ErrorCode, fromBytes, openDisk, readChunks, type BlockDevice } from '../../src/index.js';
import { crc32cUpdate } from '../../src/util/crc32c.js';
import { runCli } from '../helpers/cli.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { randomReadsAgree, sha256, whole } from '../helpers/reads.js';
import { openImage } from '../../src/node/index.js';
import { checkVhdIntegrity } from '../../src/container/vhd/integrity.js';

const IMAGES = join(__dirname, '../../fixtures/images');
afterAll(() => stopFixtureServer());
const load = (p: string) => new Uint8Array(readFileSync(join(IMAGES, p)));
const facts = (p: string) => JSON.parse(readFileSync(join(IMAGES, `${p}.facts.json`), 'utf8')) as { rawSha256: string; qemuImgInfoPinned?: { 'virtual-size': number }; qemuImgInfo: { 'virtual-size': number } };

describe('VHD and VHDX', () => {
  for (const name of ['vhd/dynamic.vhd', 'vhd/fixed.vhd', 'vhd/fixed-force.vhd', 'vhdx/dynamic.vhdx', 'vhdx/fixed.vhdx']) {
    it(`${name}: random reads agree with the whole, which is qemu-img's`, async () => {
      const disk = await openDisk(fromBytes(load(name), name));
      const bytes = await whole(disk);
      expect(sha256(bytes)).toBe(facts(name).rawSha256);
      await randomReadsAgree(disk, bytes, 30, 3_000_000);
    });
  }

  it('sizes a VHD as qemu does, and says which size it used', async () => {
    for (const name of ['vhd/dynamic.vhd', 'vhd/fixed.vhd', 'vhd/fixed-force.vhd']) {
      const f = facts(name);
      const disk = await openDisk(fromBytes(load(name), name), { format: 'vhd' });
      expect(disk.size, name).toBe((f.qemuImgInfoPinned ?? f.qemuImgInfo)['virtual-size']);
      expect(['geometry', 'current_size']).toContain(disk.facts.sizeFrom);
    }
  });

  it('notes a dynamic VHD whose footer copy differs from its footer', async () => {
    const b = load('vhd/dynamic.vhd');
    b[30] = b[30]! ^ 0xff; // the copy's creator application
    const disk = await openDisk(fromBytes(b, 'x.vhd'), { format: 'vhd' });
    expect(disk.findings?.map((f) => f.code)).toContain('vhd.footers-differ');
  });

  it('refuses a VHDX whose two headers both fail their CRC-32C, and uses the good one when one does', async () => {
    const b = load('vhdx/dynamic.vhdx');
    b[64 * 1024 + 100] = b[64 * 1024 + 100]! ^ 0xff;
    const one = await openDisk(fromBytes(b.slice(), 'x.vhdx'), { format: 'vhdx' });
    expect(one.findings?.map((f) => f.code)).toContain('vhdx.header-checksum');
    expect(sha256(await whole(one))).toBe(facts('vhdx/dynamic.vhdx').rawSha256);
    b[128 * 1024 + 100] = b[128 * 1024 + 100]! ^ 0xff;
    await expect(openDisk(fromBytes(b, 'x.vhdx'), { format: 'vhdx' })).rejects.toMatchObject({ code: 'E_CORRUPT', structure: 'header' });
  });

  it('notes a header that names a log with no entries of its own (nothing to replay)', async () => {
    const b = load('vhdx/dynamic.vhdx');
    // Both headers: a non-zero LogGuid, the CRC-32C made right again.
    for (const at of [64 * 1024, 128 * 1024]) {
      b[at + 48] = 0x42;
      const view = new DataView(b.buffer, b.byteOffset);
      view.setUint32(at + 4, 0, true);
      view.setUint32(at + 4, ~crc32cUpdate(0xffffffff, b, at, at + 4096) >>> 0, true);
    }
    const disk = await openDisk(fromBytes(b, 'x.vhdx'), { format: 'vhdx' });
    expect(disk.findings?.map((f) => f.code)).toContain('vhdx.log-empty');
    expect(sha256(await whole(disk))).toBe(facts('vhdx/dynamic.vhdx').rawSha256);
  });

  it('hostile files give a DiskProbeError or a disk, quickly', async () => {
    const bases = [...['vhd/dynamic.vhd', 'vhdx/dynamic.vhdx'].map(load), new Uint8Array(readFileSync(join(__dirname, '../../fixtures/vhdx/log.vhdx')))];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (which, edits) => {
        const bytes = bases[which]!.slice();
        // Metadata: the VHD's first 64 KiB (footer copy, dynamic header, BAT) and last sector;
        // the VHDX's first 4 MiB (headers, region tables, BAT, metadata).
        const span = which === 0 ? 65536 : 4 * 1024 * 1024;
        for (const [where, value] of edits) {
          const at = which === 0 && where > 0.9 ? bytes.length - 1 - Math.floor((where - 0.9) * 5000) : Math.floor(where * Math.min(span, bytes.length));
          bytes[Math.max(0, Math.min(at, bytes.length - 1))] = value;
        }
        const started = performance.now();
        try {
          const disk = await openDisk(fromBytes(bytes, 'mutated'), { format: which === 0 ? 'vhd' : 'vhdx' });
          for await (const c of readChunks(disk, { chunkSize: 1 << 20 })) void c;
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
        }
        expect(performance.now() - started).toBeLessThan(2000);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});

describe('diskprobe convert -O vpc --subformat fixed', () => {
  it("writes fixed VHDs qemu-img and vhdiinfo read as whole-MiB disks of the input's bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'diskprobe-vhd-'));
    try {
      for (const name of ['disk', 'odd']) {
        const f = JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhd', `${name}.facts.json`), 'utf8')) as { input: string; inputSize: number; vhdSize: number; qemuImgInfo: { 'virtual-size': number }; vhdiinfo: string; qemuRawSha256: string };
        const out = join(dir, `${name}.vhd`);
        const r = await runCli(['convert', join(__dirname, '../../fixtures', f.input), '-O', 'vpc', '--subformat', 'fixed', out]);
        expect(r.code).toBe(0);
        const bytes = new Uint8Array(readFileSync(out));
        expect(bytes.length).toBe(f.vhdSize);
        const media = Number(/Media size\s*:.*\((\d+) bytes\)/.exec(f.vhdiinfo)![1]);
        expect(/Disk type\s*:\s*Fixed/.test(f.vhdiinfo)).toBe(true);
        expect(f.qemuImgInfo['virtual-size']).toBe(media);
        expect(media % 1048576).toBe(0);
        expect(bytes.length).toBe(media + 512);
        // The data as qemu read it from the file diskprobe wrote; and diskprobe reads it back the same.
        expect(sha256(bytes.subarray(0, media))).toBe(f.qemuRawSha256);
        const disk = await openDisk(fromBytes(bytes, `${name}.vhd`));
        expect(disk.format).toBe('vhd');
        expect(disk.size).toBe(media);
        expect(disk.findings?.filter((x) => x.severity !== 'info') ?? []).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a differencing VHD (fixtures/vhd.sh; vhdimount is the oracle)', () => {
  const DIR = join(__dirname, '../../fixtures/vhd');
  const chain = JSON.parse(readFileSync(join(DIR, 'chain.facts.json'), 'utf8')) as { vhdimountChildSha256: string; vhdimountParentSha256: string; qemuParentRawSha256: string; vhdiinfo: string };
  const resolver = (files: Record<string, Uint8Array>) => async (ref: { name: string }) => {
    const name = ref.name.split('/').pop()!;
    const b = files[name];
    if (!b) throw new DiskProbeError(ErrorCode.NOT_FOUND, `${name} is not here`, { layer: 'container' });
    return fromBytes(b, name);
  };
  const child = () => new Uint8Array(readFileSync(join(DIR, 'child.vhd')));
  const parent = () => new Uint8Array(readFileSync(join(DIR, 'parent.vhd')));

  it('reads through its parent, sector by sector, as vhdimount does', async () => {
    expect(chain.vhdimountParentSha256).toBe(chain.qemuParentRawSha256);
    const disk = await openDisk(fromBytes(child(), 'child.vhd'), { resolver: resolver({ 'parent.vhd': parent() }) });
    expect(disk.subformat).toBe('differencing');
    expect(sha256(await whole(disk))).toBe(chain.vhdimountChildSha256);
    expect(sha256(await whole(disk.backing!))).toBe(chain.vhdimountParentSha256);
    expect(disk.findings ?? []).toEqual([]);
    expect((disk.facts.dynamicHeader as { parentUnicodeName: string }).parentUnicodeName).toBe(/Parent filename\s*:\s*(\S+)/.exec(chain.vhdiinfo)![1]);
    const image = await openImage(join(DIR, 'child.vhd'));
    expect(sha256(await whole(image.disk))).toBe(chain.vhdimountChildSha256);
    await image.close();
  });

  it("notes a parent whose unique id is not the one recorded, and refuses a locator that names the disk itself", async () => {
    const p = parent();
    const idAt = p.length - 512 + 68; // the parent's footer unique id
    p[idAt] = p[idAt]! ^ 0xff;
    const other = await openDisk(fromBytes(child(), 'child.vhd'), { resolver: resolver({ 'parent.vhd': p }) });
    expect(other.findings?.map((f) => f.code)).toContain('vhd.parent-id');
    // Every locator and the Unicode name pointed at the child itself.
    const c = child();
    const text = new TextDecoder('utf-16le');
    const enc = (s: string) => new Uint8Array([...s].flatMap((ch) => [ch.charCodeAt(0), 0]));
    for (let at = 0; at + 24 < c.length && at < 8192; at += 2) {
      if (text.decode(c.subarray(at, at + 24)) === '.\\parent.vhd') c.set(enc('.\\child.vhd\0'), at);
    }
    const self = await openDisk(fromBytes(c, 'child.vhd'), { resolver: resolver({ 'child.vhd': c }) }).catch((e: unknown) => e);
    expect(self).toMatchObject({ code: 'E_REFUSED' });
  });
});

describe('checkVhdIntegrity', () => {
  it('finds nothing wrong in the fixtures qemu-img check finds nothing wrong in, and a block past the footer in a mutated one', async () => {
    for (const name of ['vhd/dynamic.vhd', 'vhd/fixed.vhd', 'vhdx/dynamic.vhdx', 'vhdx/fixed.vhdx']) {
      const r = checkVhdIntegrity(await openDisk(fromBytes(load(name), name)));
      expect(r.errors + r.warnings, `${name}: ${JSON.stringify(r.findings)}`).toBe(0);
    }
    const b = load('vhd/dynamic.vhd');
    // The first allocated BAT entry, moved to the last sector of the file.
    const view = new DataView(b.buffer, b.byteOffset);
    const table = Number(view.getBigUint64(512 + 16));
    let i = 0;
    while (view.getUint32(table + i * 4) === 0xffffffff) i++;
    view.setUint32(table + i * 4, b.length / 512 - 1);
    const r = checkVhdIntegrity(await openDisk(fromBytes(b, 'x.vhd'), { format: 'vhd' }));
    expect(r.findings.map((f) => f.code)).toContain('vhd.block-out-of-bounds');
  });
});

describe('a VHDX whose log must be replayed (fixtures/vhdx.sh)', () => {
  const DIR = join(__dirname, '../../fixtures/vhdx');
  const f = JSON.parse(readFileSync(join(DIR, 'log.facts.json'), 'utf8')) as { rawSha256: string; beforeWriteRawSha256: string; readOnlyRefusal: string; write: [number, number, number] };
  for (const kind of DEVICE_KINDS) {
    it(`reads as qemu reads it after replaying the log, through the ${kind.name} device, and says so`, async () => {
      expect(f.readOnlyRefusal).toMatch(/contains a log that needs to be replayed/);
      expect(f.rawSha256).not.toBe(f.beforeWriteRawSha256);
      const dev = await kind.open(join(DIR, 'log.vhdx'));
      try {
        const disk = await openDisk(dev);
        expect(sha256(await whole(disk))).toBe(f.rawSha256);
        expect(disk.findings?.map((x) => x.code)).toContain('vhdx.log-replayed');
        const [at, length, byte] = f.write;
        expect((await disk.read(at, length)).every((b) => b === byte)).toBe(true);
      } finally {
        await dev.close?.();
      }
    });
  }

  it('never replays entries of another log, or a log entry whose length is huge', async () => {
    const b = new Uint8Array(readFileSync(join(DIR, 'log.vhdx')));
    const view = new DataView(b.buffer, b.byteOffset);
    const logAt = 1024 * 1024;
    view.setUint32(logAt + 8, 0x7ffff000, true); // EntryLength far past the log
    const disk = await openDisk(fromBytes(b, 'x.vhdx'), { format: 'vhdx' });
    expect(disk.findings?.map((x) => x.code)).toContain('vhdx.log-empty');
    expect(sha256(await whole(disk))).toBe(f.beforeWriteRawSha256);
  });
});

describe('a differencing VHDX (fixtures/vhdx.sh; vhdimount is the oracle)', () => {
  const DIR = join(__dirname, '../../fixtures/vhdx');
  const chain = JSON.parse(readFileSync(join(DIR, 'chain.facts.json'), 'utf8')) as { vhdimountChildSha256: string; vhdimountParentSha256: string; qemuParentRawSha256: string; vhdiinfo: string };
  for (const kind of DEVICE_KINDS) {
    it(`reads through its parent, block states and sector bitmaps, as vhdimount does, through the ${kind.name} device`, async () => {
      expect(chain.vhdimountParentSha256).toBe(chain.qemuParentRawSha256);
      const opened: BlockDevice[] = [];
      const dev = await kind.open(join(DIR, 'child.vhdx'));
      try {
        const disk = await openDisk(dev, {
          resolver: async (ref) => {
            const d = await kind.open(join(DIR, ref.name));
            opened.push(d);
            return d;
          },
        });
        expect(disk.subformat).toBe('differencing');
        expect(sha256(await whole(disk))).toBe(chain.vhdimountChildSha256);
        expect(disk.findings ?? []).toEqual([]);
        expect((disk.facts.parentLocator as Record<string, string>).absolute_win32_path).toBe(/Parent filename\s*:\s*(\S+)/.exec(chain.vhdiinfo)![1]);
      } finally {
        await Promise.all([dev, ...opened].map((d) => d.close?.()));
      }
    });
  }

  it('notes a parent whose DataWriteGuid is not the recorded linkage', async () => {
    const p = new Uint8Array(readFileSync(join(DIR, 'parent.vhdx')));
    // Both headers' DataWriteGuid changed, their CRC-32C made right again.
    for (const at of [64 * 1024, 128 * 1024]) {
      p[at + 32] = p[at + 32]! ^ 0xff;
      const view = new DataView(p.buffer, p.byteOffset);
      view.setUint32(at + 4, 0, true);
      view.setUint32(at + 4, ~crc32cUpdate(0xffffffff, p, at, at + 4096) >>> 0, true);
    }
    const disk = await openDisk(fromBytes(new Uint8Array(readFileSync(join(DIR, 'child.vhdx'))), 'child.vhdx'), { resolver: async () => fromBytes(p, 'parent.vhdx') });
    expect(disk.findings?.map((f) => f.code)).toContain('vhdx.parent-linkage');
  });
});

describe('VHDX block and sector sizes (fixtures/vhdx.sh)', () => {
  const DIR = join(__dirname, '../../fixtures/vhdx');
  it('reads 4096-byte logical sectors as vhdimount does, and 256 MiB blocks as qemu-img does', async () => {
    const ls = JSON.parse(readFileSync(join(DIR, 'ls4096.facts.json'), 'utf8')) as { vhdimountSha256: string; vhdiinfo: string };
    const a = await openDisk(fromBytes(new Uint8Array(readFileSync(join(DIR, 'ls4096.vhdx'))), 'ls4096.vhdx'));
    expect(a.facts.logicalSectorSize).toBe(Number(/Bytes per sector\s*:\s*(\d+)/.exec(ls.vhdiinfo)![1]));
    expect(sha256(await whole(a))).toBe(ls.vhdimountSha256);
    const bs = JSON.parse(readFileSync(join(DIR, 'bs256.facts.json'), 'utf8')) as { rawSha256: string; blockSize: number; qemuImgInfo: { 'virtual-size': number } };
    const b = await openDisk(fromBytes(new Uint8Array(readFileSync(join(DIR, 'bs256.vhdx'))), 'bs256.vhdx'));
    expect(b.facts.blockSize).toBe(bs.blockSize);
    expect(b.size).toBe(bs.qemuImgInfo['virtual-size']);
    expect(sha256(await whole(b))).toBe(bs.rawSha256);
  });
});

describe('every VHD and VHDX fixture of fixtures/vhd and fixtures/vhdx through every device kind', () => {
  const cases: [string, string, () => string][] = [
    ['vhd', 'child.vhd', () => (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhd/chain.facts.json'), 'utf8')) as { vhdimountChildSha256: string }).vhdimountChildSha256],
    ['vhd', 'parent.vhd', () => (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhd/chain.facts.json'), 'utf8')) as { qemuParentRawSha256: string }).qemuParentRawSha256],
    ['vhdx', 'ls4096.vhdx', () => (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhdx/ls4096.facts.json'), 'utf8')) as { vhdimountSha256: string }).vhdimountSha256],
    ['vhdx', 'bs256.vhdx', () => (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhdx/bs256.facts.json'), 'utf8')) as { rawSha256: string }).rawSha256],
    ['vhdx', 'parent.vhdx', () => (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vhdx/chain.facts.json'), 'utf8')) as { qemuParentRawSha256: string }).qemuParentRawSha256],
  ];
  for (const [dir, file, want] of cases) {
    for (const kind of DEVICE_KINDS) {
      it(`${dir}/${file} through the ${kind.name} device`, async () => {
        const base = join(__dirname, '../../fixtures', dir);
        const opened: BlockDevice[] = [];
        const dev = await kind.open(join(base, file));
        try {
          const disk = await openDisk(dev, {
            resolver: async (ref) => {
              const d = await kind.open(join(base, ref.name));
              opened.push(d);
              return d;
            },
          });
          expect(sha256(await whole(disk))).toBe(want());
        } finally {
          await Promise.all([dev, ...opened].map((d) => d.close?.()));
        }
      });
    }
  }
});
