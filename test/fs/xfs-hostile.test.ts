/**
 * The XFS reader on damaged input: real images (fixtures/xfs.sh) with structures patched at
 * places found from the specification's layout (the v5 CRCs are left stale, so the checks must
 * notice as well), and fast-check mutations of what a walk reads. Every case ends in a value,
 * a finding or a DiskProbeError, quickly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cached, fromBytes, openDisk, openFileSystem, type BlockDevice } from '../../src/index.js';
import { copyBytes } from '../../src/util/bytes.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { patched } from '../helpers/patched.js';
import { mutationProperty, outcome } from './mutation.js';

const XFS = join(FIXTURES, 'fs/xfs');
const mounted = async (name: string) => (JSON.parse(await readFile(join(XFS, `${name}.facts.json`), 'utf8')) as { mounted: Record<string, { inode: number }> }).mounted;

async function diskOf(name: string): Promise<BlockDevice> {
  const file = await readFile(join(XFS, `${name}.qcow2`));
  return cached(await openDisk(fromBytes(new Uint8Array(file), `${name}.qcow2`)), { maxBytes: 64 << 20 });
}

/** The geometry a test needs, from the superblock (XFS Algorithms & Data Structures, "Superblocks"). */
async function geometry(dev: BlockDevice) {
  const v = new DataView(copyBytes(await dev.read(0, 512)).buffer);
  return { blockSize: v.getUint32(4), agblocks: v.getUint32(84), inodeSize: v.getUint16(104), agblklog: v.getUint8(124), inopblog: v.getUint8(123), v5: (v.getUint16(100) & 0xf) === 5 };
}

/** Byte offset of inode `ino` ("Inode Numbers": AG, block in AG, index in block). */
async function inodeAt(dev: BlockDevice, ino: number): Promise<number> {
  const g = await geometry(dev);
  const shift = 2 ** (g.agblklog + g.inopblog);
  const ag = Math.floor(ino / shift);
  const agino = ino % shift;
  return (ag * g.agblocks + Math.floor(agino / 2 ** g.inopblog)) * g.blockSize + (agino % 2 ** g.inopblog) * g.inodeSize;
}

/** Byte offset of the block where the first extent of an extents-format inode starts. */
async function firstExtentAt(dev: BlockDevice, ino: number): Promise<number> {
  const g = await geometry(dev);
  const at = (await inodeAt(dev, ino)) + (g.v5 ? 176 : 100);
  const v = new DataView(copyBytes(await dev.read(at, 16)).buffer);
  const fsb = (v.getUint32(4) & 0x1ff) * 2 ** 43 + v.getUint32(8) * 2 ** 11 + (v.getUint32(12) >>> 21);
  const ag = Math.floor(fsb / 2 ** g.agblklog);
  return (ag * g.agblocks + (fsb % 2 ** g.agblklog)) * g.blockSize;
}

describe('XFS: damaged structures', () => {
  it('an AG count that disagrees with the size is E_CORRUPT', async () => {
    const dev = patched(await diskOf('xfs'), 88, new Uint8Array([0, 0, 0, 9]));
    expect(await outcome(() => openFileSystem(dev))).toBe('E_CORRUPT');
  });

  it('a superblock changed after its CRC was written is a finding', async () => {
    const fs = await openFileSystem(patched(await diskOf('xfs'), 108, new TextEncoder().encode('Y')));
    expect(fs.findings.map((f) => f.code)).toEqual(['xfs.superblock-checksum']);
  });

  it('an extent of length 0 is E_CORRUPT, and the inode CRC mismatch a finding', async () => {
    const disk = await diskOf('xfs');
    const ino = (await mounted('xfs'))['/sizes/f8192']!.inode;
    const at = (await inodeAt(disk, ino)) + 176 + 12; // the first record's last word
    const word = new DataView(copyBytes(await disk.read(at, 4)).buffer).getUint32(0);
    const fs = await openFileSystem(patched(disk, at, new Uint8Array([(word >>> 24) & 0xff, (word >>> 16) & 0xe0, 0, 0])));
    expect(await outcome(() => fs.readFile('/sizes/f8192'))).toBe('E_CORRUPT');
    expect(fs.findings.map((f) => f.code)).toContain('xfs.inode-checksum');
  });

  it('a btree block whose level disagrees with its parent (a loop would) is E_CORRUPT', async () => {
    const disk = await diskOf('xfs-1k');
    const ino = (await mounted('xfs-1k'))['/sparse/alternate']!.inode;
    const g = await geometry(disk);
    const inode = copyBytes(await disk.read(await inodeAt(disk, ino), g.inodeSize));
    // The data fork ends where the attribute fork starts (di_forkoff, in 8-byte units), if there is one.
    const forkSize = inode[82] ? inode[82] * 8 : g.inodeSize - 176;
    const root = new DataView(inode.buffer, 176, forkSize);
    const level = root.getUint16(0);
    expect(level).toBeGreaterThan(0); // a btree root: its children are one level down
    const maxrecs = Math.floor((forkSize - 4) / 16);
    const child = Number(root.getBigUint64(4 + maxrecs * 8));
    const childAt = (Math.floor(child / 2 ** g.agblklog) * g.agblocks + (child % 2 ** g.agblklog)) * g.blockSize;
    // The child claims the root's own level: followed, its pointers could lead round forever.
    const fs = await openFileSystem(patched(disk, childAt + 4, new Uint8Array([level >> 8, level & 0xff])));
    expect(await outcome(() => fs.readFile('/sparse/alternate'))).toBe('E_CORRUPT');
  });

  /** The entries of a v5 directory data block: [offset, name] for real entries, [offset, null] for unused space. */
  function walkBlock(b: Uint8Array): [number, string | null][] {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out: [number, string | null][] = [];
    for (let o = 64; o + 8 <= b.length - 8; ) {
      if (v.getUint16(o) === 0xffff) {
        out.push([o, null]);
        const len = v.getUint16(o + 2);
        if (len === 0) break;
        o += len;
        continue;
      }
      const n = b[o + 8]!;
      out.push([o, new TextDecoder().decode(b.subarray(o + 9, o + 9 + n))]);
      o += (8 + 1 + n + 1 + 2 + 7) & ~7;
    }
    return out;
  }

  it('unused directory space that runs past its block is E_CORRUPT', async () => {
    const disk = await diskOf('xfs');
    const block = await firstExtentAt(disk, (await mounted('xfs'))['/names']!.inode);
    const free = walkBlock(copyBytes(await disk.read(block, 4096))).find(([, name]) => name === null);
    expect(free).toBeDefined();
    const fs = await openFileSystem(patched(disk, block + free![0] + 2, new Uint8Array([0xff, 0xf8])));
    expect(await outcome(() => fs.readdir('/names'))).toBe('E_CORRUPT');
    expect(fs.findings.map((f) => f.code)).toContain('xfs.directory-checksum');
  });

  it('a directory entry naming an inode outside every AG is E_CORRUPT', async () => {
    const disk = await diskOf('xfs');
    const block = await firstExtentAt(disk, (await mounted('xfs'))['/names']!.inode);
    const [at, name] = walkBlock(copyBytes(await disk.read(block, 4096))).find(([, n]) => n !== null && n !== '.' && n !== '..')!;
    const fs = await openFileSystem(patched(disk, block + at, new Uint8Array([0x00, 0x7f, 0, 0, 0, 0, 0, 0])));
    expect(await outcome(() => fs.lstat(`/names/${name}`))).toBe('E_CORRUPT');
  });
});

describe('XFS: fast-check over mutated metadata', () => {
  let disk: BlockDevice;
  let ranges: [number, number][];
  beforeAll(async () => {
    disk = await diskOf('xfs-1k');
    const m = await mounted('xfs-1k');
    ranges = [[0, 512]];
    for (const p of ['/', '/sizes', '/sparse/alternate', '/names']) ranges.push([await inodeAt(disk, m[p]!.inode), 512]);
    ranges.push([await firstExtentAt(disk, m['/names']!.inode), 1024]);
  });

  it('a walk never throws anything but DiskProbeError, within 100 ms', async () => {
    await mutationProperty(disk, ranges, ['/', '/sizes', '/names'], '/sparse/alternate');
  });
});
