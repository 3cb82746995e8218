/**
 * The FAT reader against mkfs.vfat and mtools (fixtures/fat.sh): every file mcopy reads back,
 * with the names mdir lists, found without regard to case; the label and serial blkid reads; the
 * clusters fsck.fat counts; hostile FAT chains.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbeError, fromBytes, openDisk, openFileSystem, type BlockDevice, type FileSystem } from '../../src/index.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { mutationProperty } from './mutation.js';
import { conformance, loadManifest } from '../fs-conformance.js';

const DIR = join(FIXTURES, 'fat');
type Facts = { files: Record<string, { sha256: string; size: number }>; fsck: string; blkid: Record<string, string> };
const facts = (n: string) => JSON.parse(readFileSync(join(DIR, `${n}.facts.json`), 'utf8')) as Facts;
const file = (n: string) => (n === 'fat12' ? `${n}.img` : `${n}.qcow2`);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

afterAll(stopFixtureServer);

async function open(n: string, dev: BlockDevice): Promise<FileSystem> {
  return openFileSystem(n === 'fat12' ? dev : await openDisk(dev, { format: 'qcow2' }));
}

for (const name of ['fat12', 'fat16', 'fat32']) {
  describe(name, () => {
    const f = facts(name);
    for (const kind of DEVICE_KINDS) {
      it(`every file mcopy reads back, through the ${kind.name} device`, async () => {
        const dev = await kind.open(join(DIR, file(name)));
        try {
          const fs = await open(name, dev);
          expect(fs.type).toBe('vfat');
          expect(fs.caseInsensitive).toBe(true);
          for (const [path, want] of Object.entries(f.files)) {
            const st = await fs.stat(path);
            expect(st.size, path).toBe(want.size);
            expect(sha256(await fs.readFile(path)), path).toBe(want.sha256);
          }
        } finally {
          await dev.close?.();
        }
      });
    }

    it('lists the names mdir lists, and finds them whatever their case', async () => {
      const fs = await open(name, await DEVICE_KINDS[0]!.open(join(DIR, file(name))));
      const names = new Set<string>();
      const walk = async (dir: string): Promise<void> => {
        for (const e of await fs.readdir(dir)) {
          const p = `${dir === '/' ? '' : dir}/${e.name}`;
          if (e.type === 'directory') await walk(p);
          else names.add(p);
        }
      };
      await walk('/');
      expect([...names].sort()).toEqual(Object.keys(f.files).sort());
      for (const path of Object.keys(f.files)) expect((await fs.stat(path.toUpperCase())).size).toBe(f.files[path]!.size);
    });

    it('gives the label and serial blkid reads, and the clusters fsck.fat counts', async () => {
      const fs = await open(name, await DEVICE_KINDS[0]!.open(join(DIR, file(name))));
      const s = await fs.statfs();
      expect(s.label).toBe(f.blkid.LABEL!.replace(/\\ /g, ' '));
      expect(s.uuid).toBe(f.blkid.UUID);
      const m = /(\d+)\/(\d+) clusters/.exec(f.fsck)!;
      expect(s.blocks).toBe(Number(m[2]));
      expect(s.blocks - s.freeBlocks).toBe(Number(m[1]));
    });
  });
}

describe('hostile FAT', () => {
  it('a FAT chain that loops, or points past the volume, is a DiskProbeError', async () => {
    const b = new Uint8Array(readFileSync(join(DIR, 'fat12.img')));
    const fs = await openFileSystem(fromBytes(b.slice(), 'ok.img'));
    const st = await fs.stat('/Big Binary File.bin');
    expect(st.size).toBeGreaterThan(100_000);
    // The first FAT follows the reserved sectors: point every FAT12 entry from cluster 2 on at
    // cluster 2 (three bytes hold two entries: 02 20 00).
    const bad = b.slice();
    const bps = bad[11]! | (bad[12]! << 8);
    const fatAt = (bad[14]! | (bad[15]! << 8)) * bps;
    for (let i = 3; i < 600; i++) bad[fatAt + i] = i % 3 === 0 ? 0x02 : i % 3 === 1 ? 0x20 : 0x00;
    const looped = await openFileSystem(fromBytes(bad, 'bad.img'));
    const err = await looped.readFile('/Big Binary File.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskProbeError);
  });

  it('mutated boot sectors, FATs and directories end in values or DiskProbeErrors, within 100 ms', async () => {
    const b = new Uint8Array(readFileSync(join(DIR, 'fat12.img')));
    const bps = b[11]! | (b[12]! << 8);
    const reserved = (b[14]! | (b[15]! << 8)) * bps;
    const fatBytes = (b[22]! | (b[23]! << 8)) * bps;
    const rootBytes = (b[17]! | (b[18]! << 8)) * 32;
    // The boot sector, the first FAT, the root directory, and the first data clusters (subdirectories).
    const ranges: [number, number][] = [[0, 64], [reserved, fatBytes], [reserved + 2 * fatBytes, rootBytes], [reserved + 2 * fatBytes + rootBytes, 32 * 1024]];
    await mutationProperty(fromBytes(b, 'fat12.img'), ranges, ['/', '/Deep', '/Deep/L2'], '/Big Binary File.bin');
  });
});

// The conformance tree, copied onto FAT32 by the kernel's vfat driver (fixtures/fat-tree.sh):
// what FAT cannot hold (symlinks, devices, a name ending in a dot) was left out, and the
// kernel's view of every path (sizes, 2-second times, the root's missing time) is the expectation.
{
  type TreeFacts = { tree: string; removed: string[]; files: Record<string, { type: string; size: number; mtime: { sec: number; nsec: number } }> };
  const tf = JSON.parse(readFileSync(join(DIR, 'fat32-tree.facts.json'), 'utf8')) as TreeFacts;
  let fs: Promise<FileSystem> | undefined;
  conformance('fat32-tree', () => (fs ??= (async () => openFileSystem(await openDisk(await DEVICE_KINDS[0]!.open(join(DIR, 'fat32-tree.qcow2')), { format: 'qcow2' })))()), loadManifest(tf.tree), {
    posixOwnership: false,
    links: false,
    removed: tf.removed,
    facts: (path) => {
      const f = tf.files[path];
      return f && { size: f.type === 'directory' ? undefined : f.size, mtime: f.mtime, links: 1 };
    },
  });
}
