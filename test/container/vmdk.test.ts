/**
 * The VMDK reader against qemu on fixtures/vmdk (fixtures/vmdk.sh): zeroed grains, adapter
 * types, a delta disk and its parent, a parentCID that does not match, VMware's stream layout
 * with the grain directory at the end, a cut stream and a wrong grain length; random reads agree
 * with the whole; mutated files give a DiskProbeError or a disk, never another error.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbeError, fromBytes, openDisk, readChunks, type BlockDevice, type Disk, type Resolver } from '../../src/index.js';
import { openImage } from '../../src/node/index.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { randomReadsAgree, sha256, whole } from '../helpers/reads.js';
import { checkVmdkIntegrity } from '../../src/container/vmdk/index.js';

const DIR = join(__dirname, '../../fixtures/vmdk');
const IMAGES = join(__dirname, '../../fixtures/images/vmdk');
type Facts = { file: string; rawSha256?: string; convert: { exitCode: number }; qemuImgInfo: Record<string, any>; qemuImgCheck?: string; adapterType?: string; parent?: string };
const all = readdirSync(DIR)
  .filter((f) => f.endsWith('.facts.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Facts);

/** The fixture in memory, with a resolver that serves its siblings from memory too. */
async function inMemory(file: string, dir = DIR): Promise<Disk> {
  const resolver: Resolver = async (ref) => fromBytes(new Uint8Array(readFileSync(join(dir, ref.name))), ref.name);
  return openDisk(fromBytes(new Uint8Array(readFileSync(join(dir, file))), file), { resolver });
}

afterAll(() => stopFixtureServer());

describe('VMDK variants through every device kind', () => {
  for (const f of all.filter((x) => x.rawSha256 !== undefined)) {
    for (const kind of DEVICE_KINDS) {
      it(`${f.file} through the ${kind.name} device (its parent through the same kind)`, async () => {
        const opened: BlockDevice[] = [];
        const resolver: Resolver = async (ref) => {
          const d = await kind.open(join(DIR, ref.name));
          opened.push(d);
          return d;
        };
        const dev = await kind.open(join(DIR, f.file));
        try {
          const disk = await openDisk(dev, { resolver });
          const h = createHash('sha256');
          for await (const c of readChunks(disk, { chunkSize: 1 << 20 })) h.update(c);
          expect(h.digest('hex')).toBe(f.rawSha256);
        } finally {
          await Promise.all([dev, ...opened].map((d) => d.close?.()));
        }
      });
    }
  }
});

describe('VMDK variants qemu-img reads', () => {
  for (const f of all.filter((x) => x.rawSha256 !== undefined)) {
    it(`${f.file}: guest bytes hash to qemu-img convert's (file and memory), random reads agree`, async () => {
      const image = await openImage(join(DIR, f.file));
      try {
        expect(image.disk.format).toBe('vmdk');
        expect(image.disk.size).toBe(f.qemuImgInfo['virtual-size']);
        const bytes = await whole(image.disk);
        expect(sha256(bytes)).toBe(f.rawSha256);
        const mem = await inMemory(f.file);
        expect(sha256(await whole(mem))).toBe(f.rawSha256);
        await randomReadsAgree(image.disk, bytes, 30);
      } finally {
        await image.close();
      }
    });
  }

  it('reads the content identifiers, parent name, size and extents vmdkinfo prints', async () => {
    let compared = 0;
    for (const f of all as (Facts & { vmdkinfo: string })[]) {
      const cid = /Content identifier:\s*0x([0-9a-f]+)/.exec(f.vmdkinfo)?.[1];
      if (!cid) continue;
      const disk = await inMemory(f.file).catch(() => undefined);
      if (!disk) continue;
      expect(parseInt(String(disk.facts.CID), 16), f.file).toBe(parseInt(cid, 16));
      expect(parseInt(String(disk.facts.parentCID), 16), f.file).toBe(parseInt(/Parent content identifier:\s*0x([0-9a-f]+)/.exec(f.vmdkinfo)![1]!, 16));
      expect(disk.size).toBe(Number(/Media size:.*\((\d+) bytes\)/.exec(f.vmdkinfo)![1]));
      expect((disk.facts.extents as unknown[]).length).toBe(Number(/Number of extents:\s*(\d+)/.exec(f.vmdkinfo)![1]));
      const parent = /Parent filename:\s*(\S+)/.exec(f.vmdkinfo)?.[1];
      expect(disk.facts.parentFileNameHint, f.file).toBe(parent);
      compared++;
    }
    expect(compared).toBeGreaterThan(6);
  });

  it('names the adapter type the descriptor holds', async () => {
    for (const f of all.filter((x) => x.adapterType)) {
      const disk = await inMemory(f.file);
      expect((disk.facts.ddb as Record<string, string>)['ddb.adaptertype']).toBe(f.adapterType);
      expect(f.qemuImgInfo['format-specific'].data['create-type']).toBe(disk.subformat);
    }
  });

  it('reads a delta disk through its parent, as qemu-img info names it', async () => {
    const f = all.find((x) => x.file === 'child.vmdk')!;
    const disk = await inMemory('child.vmdk');
    expect(disk.backing?.label).toBe('parent.vmdk');
    expect(f.qemuImgInfo['backing-filename']).toBe('parent.vmdk');
    expect(disk.facts.parentFileNameHint).toBe('parent.vmdk');
    expect(disk.findings ?? []).toEqual([]);
  });

  it('notes a parentCID that is not the parent\'s CID (qemu refuses to read it)', async () => {
    const f = all.find((x) => x.file === 'child-badcid.vmdk')!;
    expect(f.convert.exitCode).not.toBe(0);
    const disk = await inMemory('child-badcid.vmdk');
    expect(disk.findings?.map((x) => x.code)).toContain('vmdk.parent-cid-mismatch');
    // What the delta holds itself still reads as the good child's.
    const good = await inMemory('child.vmdk');
    expect(sha256(await disk.read(65536, 131072))).toBe(sha256(await good.read(65536, 131072)));
  });

  it('reads the grain directory from the footer when the header says it is at the end', async () => {
    const disk = await inMemory('stream-gd-at-end.vmdk');
    const header = disk.facts.sparseHeader as { at: number; gdOffset: number };
    expect(header.at).toBe(readFileSync(join(DIR, 'stream-gd-at-end.vmdk')).length - 1024);
    expect(header.gdOffset).toBeGreaterThan(0);
  });

  it('refuses a cut stream with a DiskProbeError, where qemu-img fails too', async () => {
    const f = all.find((x) => x.file === 'stream-truncated.vmdk')!;
    expect(f.convert.exitCode).not.toBe(0);
    const err = await inMemory('stream-truncated.vmdk')
      .then((d) => whole(d))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskProbeError);
  });
});

describe('hostile VMDK files', () => {
  const bases = ['monolithicSparse.vmdk', 'streamOptimized.vmdk'].map((n) => new Uint8Array(readFileSync(join(IMAGES, n)))).concat([new Uint8Array(readFileSync(join(DIR, 'stream-gd-at-end.vmdk'))), new Uint8Array(readFileSync(join(DIR, 'zeroed.vmdk')))]);
  it('give a DiskProbeError or a disk, quickly, whatever bytes are changed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: bases.length - 1 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 8 }),
        async (which, edits) => {
          const bytes = bases[which]!.slice();
          for (const [where, value, metadata] of edits) {
            // Most edits land in the first 64 KiB (header, descriptor, grain directory and tables).
            const at = Math.floor(where * (metadata ? Math.min(bytes.length, 65536) : bytes.length));
            bytes[Math.min(at, bytes.length - 1)] = value;
          }
          const started = performance.now();
          try {
            const disk = await openDisk(fromBytes(bytes, 'mutated.vmdk'), { format: 'vmdk' });
            for await (const chunk of readChunks(disk, { chunkSize: 1 << 20 })) void chunk;
          } catch (e) {
            if (!(e instanceof DiskProbeError)) throw e;
          }
          // About 10 ms each here; the bound is about hangs, loose for loaded CI machines.
          expect(performance.now() - started).toBeLessThan(2000);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('checkVmdkIntegrity', () => {
  it('finds nothing wrong where qemu-img check finds nothing, and counts the grains qemu-io wrote', async () => {
    const clean = all.filter((x) => /No errors were found/.test(x.qemuImgCheck ?? '') && x.file !== 'stream-badsize.vmdk');
    expect(clean.length).toBeGreaterThan(5);
    for (const f of clean) {
      const r = await checkVmdkIntegrity(await inMemory(f.file));
      expect(r.errors + r.warnings, `${f.file}: ${JSON.stringify(r.findings)}`).toBe(0);
    }
    const zeroed = all.find((x) => x.file === 'zeroed.vmdk') as Facts & { zeroWrites: [number, number][] };
    const z = await checkVmdkIntegrity(await inMemory('zeroed.vmdk'));
    expect(z.zeroedGrains).toBe(zeroed.zeroWrites.reduce((n, [, length]) => n + length / 65536, 0));
    const child = all.find((x) => x.file === 'child.vmdk') as Facts & { writes: [number, number, number][] };
    const c = await checkVmdkIntegrity(await inMemory('child.vmdk'));
    expect(c.allocatedGrains).toBe(child.writes.reduce((n, [, length]) => n + length / 65536, 0));
  });

  it("reports a marker whose size is not its stream's, which qemu reads past", async () => {
    const r = await checkVmdkIntegrity(await inMemory('stream-badsize.vmdk'));
    expect(r.errors).toBe(0);
    expect(r.findings.map((x) => x.code)).toEqual(['vmdk.marker-size']);
  });

  it('reports the grains a cut stream lost', async () => {
    const d = await inMemory('stream-truncated.vmdk');
    const r = await checkVmdkIntegrity(d);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.findings.map((x) => x.code)).toContain('vmdk.grain-truncated');
  });
});

describe('streamVmdk: one pass over a streamOptimized file', () => {
  it('gives qemu-img convert\'s bytes from chunks of any size, for qemu\'s and VMware\'s layouts', async () => {
    const { streamVmdk } = await import('../../src/container/vmdk/stream.js');
    const cases = [
      { bytes: new Uint8Array(readFileSync(join(IMAGES, 'streamOptimized.vmdk'))), sha: (JSON.parse(readFileSync(join(IMAGES, 'streamOptimized.vmdk.facts.json'), 'utf8')) as { rawSha256: string }).rawSha256 },
      { bytes: new Uint8Array(readFileSync(join(DIR, 'stream-gd-at-end.vmdk'))), sha: all.find((x) => x.file === 'stream-gd-at-end.vmdk')!.rawSha256! },
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 1 }), fc.integer({ min: 1, max: 200_000 }), async (which, chunk) => {
        const { bytes, sha } = cases[which]!;
        async function* chunks() {
          for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
        }
        const h = createHash('sha256');
        for await (const part of streamVmdk(chunks())) h.update(part);
        expect(h.digest('hex')).toBe(sha);
      }),
      { numRuns: 20 },
    );
  });

  it('stops with a DiskProbeError on a cut stream', async () => {
    const { streamVmdk } = await import('../../src/container/vmdk/stream.js');
    const bytes = new Uint8Array(readFileSync(join(DIR, 'stream-truncated.vmdk')));
    async function* once() {
      yield bytes;
    }
    const err = await (async () => {
      for await (const part of streamVmdk(once())) void part;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskProbeError);
  });
});

describe('ESX subformats qemu-img reads but does not write (fixtures/vmdk-esx.sh)', () => {
  const ESX = join(__dirname, '../../fixtures/vmdk-esx');
  for (const name of ['cowd', 'vmfs']) {
    it(`${name}.vmdk: hashes to qemu-img convert's, through the file and memory devices`, async () => {
      const f = JSON.parse(readFileSync(join(ESX, `${name}.facts.json`), 'utf8')) as Facts;
      const image = await openImage(join(ESX, `${name}.vmdk`));
      try {
        expect(image.disk.subformat).toBe(f.qemuImgInfo['format-specific'].data['create-type']);
        expect(image.disk.size).toBe(f.qemuImgInfo['virtual-size']);
        expect(sha256(await whole(image.disk))).toBe(f.rawSha256);
      } finally {
        await image.close();
      }
      expect(sha256(await whole(await inMemory(`${name}.vmdk`, ESX)))).toBe(f.rawSha256);
    });
  }

  it('reads a COWD extent opened on its own, and its integrity check finds nothing wrong', async () => {
    const f = JSON.parse(readFileSync(join(ESX, 'cowd.facts.json'), 'utf8')) as Facts;
    const disk = await inMemory('cowd-delta.vmdk', ESX);
    expect(disk.subformat).toBe('vmfsSparse');
    expect(sha256(await whole(disk))).toBe(f.rawSha256);
    const r = await checkVmdkIntegrity(await inMemory('cowd.vmdk', ESX));
    expect(r.errors + r.warnings).toBe(0);
    expect(r.allocatedGrains).toBeGreaterThan(0);
  });
});
