/**
 * The ext reader on damaged and crafted input: real images (fixtures/ext.sh) with structures
 * patched at offsets found from the specification's layout, checksums left as they are (so the
 * metadata_csum checks must notice) or recomputed where the test is about the field, and
 * fast-check mutations of the metadata a walk reads. Every case ends in a value, a finding or a
 * DiskProbeError, quickly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cached, fromBytes, openDisk, openFileSystem, type BlockDevice } from '../../src/index.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { copyBytes } from '../../src/util/bytes.js';
import { patched } from '../helpers/patched.js';
import { mutationProperty, outcome } from './mutation.js';

const EXT = join(FIXTURES, 'fs/ext');
const facts = async (name: string) => JSON.parse(await readFile(join(EXT, `${name}.facts.json`), 'utf8')) as { debugfs: Record<string, { inode: number }> };

async function diskOf(name: string): Promise<BlockDevice> {
  const file = await readFile(join(EXT, `${name}.qcow2`));
  return cached(await openDisk(fromBytes(new Uint8Array(file), `${name}.qcow2`)), { maxBytes: 64 << 20 });
}

/** Where inode `ino` is on the device (ext4 docs: group descriptor bg_inode_table, s_inodes_per_group, s_inode_size). */
async function inodeAt(dev: BlockDevice, ino: number): Promise<number> {
  const sb = new DataView(copyBytes(await dev.read(1024, 1024)).buffer);
  const blockSize = 1024 << sb.getUint32(0x18, true);
  const ipg = sb.getUint32(0x28, true);
  const inodeSize = sb.getUint16(0x58, true);
  const descSize = sb.getUint32(0x60, true) & 0x80 ? sb.getUint16(0xfe, true) : 32;
  const firstData = sb.getUint32(0x14, true);
  const group = Math.floor((ino - 1) / ipg);
  const gd = new DataView(copyBytes(await dev.read((firstData + 1) * blockSize + group * descSize, 32)).buffer);
  return gd.getUint32(0x8, true) * blockSize + ((ino - 1) % ipg) * inodeSize;
}

describe('ext: damaged superblocks', () => {
  it('a primary superblock without its magic: the backup in group 1 is used, and said so', async () => {
    const dev = patched(await diskOf('ext4-1k'), 1024 + 0x38, new Uint8Array([0, 0]));
    const fs = await openFileSystem(dev);
    expect(fs.findings.map((f) => f.code)).toEqual(['ext.backup-superblock']);
    expect((await fs.stat('/small.txt')).size).toBe(13);
    expect((await fs.statfs()).facts.superblockOffset).toBe(8193 * 1024);
  });

  it('a superblock whose checksum fails is a finding (metadata_csum)', async () => {
    const fs = await openFileSystem(patched(await diskOf('ext4'), 1024 + 0x78, new TextEncoder().encode('X')));
    expect(fs.findings.map((f) => f.code)).toEqual(['ext.superblock-checksum']);
  });

  it.each([
    ['s_log_block_size 7', 0x18, [7, 0, 0, 0]],
    ['s_inode_size 100', 0x58, [100, 0]],
    ['s_blocks_per_group 0', 0x20, [0, 0, 0, 0]],
    ['s_inodes_per_group 0', 0x28, [0, 0, 0, 0]],
    ['an unknown incompatible feature', 0x60, [0xc2, 0x02, 0x00, 0x80]],
  ])('%s in both the primary and the backup: a DiskProbeError', async (_name, field, bytes) => {
    let dev = await diskOf('ext4-1k');
    dev = patched(patched(dev, 1024 + field, new Uint8Array(bytes)), 8193 * 1024 + field, new Uint8Array(bytes));
    expect(await outcome(() => openFileSystem(dev))).not.toBe('ok');
  });
});

describe('ext: damaged inodes, extents and directories', () => {
  it('an inode whose checksum fails is a finding, and it is still read', async () => {
    const disk = await diskOf('ext4');
    const ino = (await facts('ext4')).debugfs['/sizes/f100']!.inode;
    const at = await inodeAt(disk, ino);
    const fs = await openFileSystem(patched(disk, at + 0x08, new Uint8Array([0x01]))); // i_atime
    expect((await fs.stat('/sizes/f100')).size).toBe(100);
    expect(fs.findings.map((f) => f.code)).toEqual(['ext.inode-checksum']);
  });

  it('an extent index that points at itself (a loop) or with a wrong depth: E_CORRUPT, quickly', async () => {
    const disk = await diskOf('ext4-1k');
    const ino = (await facts('ext4-1k')).debugfs['/sparse/alternate']!.inode;
    const at = await inodeAt(disk, ino);
    const iblock = copyBytes(await disk.read(at + 0x28, 60));
    const v = new DataView(iblock.buffer);
    expect(v.getUint16(0, true)).toBe(0xf30a);
    expect(v.getUint16(6, true)).toBeGreaterThan(0); // an index node: the file has a deep tree
    const child = v.getUint32(12 + 4, true);
    // Make the child node claim the root's depth: its own indexes would lead back to itself.
    const node = copyBytes(await disk.read(child * 1024, 1024));
    new DataView(node.buffer).setUint16(6, v.getUint16(6, true), true);
    const fs = await openFileSystem(patched(disk, child * 1024, node));
    expect(await outcome(() => fs.readFile('/sparse/alternate'))).toBe('E_CORRUPT');
  });

  it('an extent header with a bad magic is E_BAD_MAGIC', async () => {
    const disk = await diskOf('ext4');
    const at = await inodeAt(disk, (await facts('ext4')).debugfs['/sizes/f8192']!.inode);
    const fs = await openFileSystem(patched(disk, at + 0x28, new Uint8Array([0, 0])));
    expect(await outcome(() => fs.readFile('/sizes/f8192'))).toBe('E_BAD_MAGIC');
  });

  it('a directory entry whose rec_len is 0 is E_CORRUPT, not a hang', async () => {
    const disk = await diskOf('ext4');
    const fs0 = await openFileSystem(disk);
    const root = await fs0.lstat('/deep');
    const at = await inodeAt(disk, root.ino);
    const iblock = new DataView(copyBytes(await disk.read(at + 0x28, 60)).buffer);
    const block = iblock.getUint32(12 + 8, true); // the first extent's start (a one-block directory)
    const fs = await openFileSystem(patched(disk, block * 4096 + 4, new Uint8Array([0, 0])));
    expect(await outcome(() => fs.readdir('/deep'))).toBe('E_CORRUPT');
  });

  it('a directory entry naming an inode past the inode count is E_CORRUPT', async () => {
    const disk = await diskOf('ext4');
    const fs0 = await openFileSystem(disk);
    const at = await inodeAt(disk, (await fs0.lstat('/deep')).ino);
    const block = new DataView(copyBytes(await disk.read(at + 0x28, 60)).buffer).getUint32(12 + 8, true);
    // The third entry ("d0", after "." and ".."): set its inode number to 0xffffff00.
    const dir = new DataView(copyBytes(await disk.read(block * 4096, 4096)).buffer);
    const third = dir.getUint16(4, true) + dir.getUint16(dir.getUint16(4, true) + 4, true);
    const fs = await openFileSystem(patched(disk, block * 4096 + third, new Uint8Array([0x00, 0xff, 0xff, 0xff])));
    expect(await outcome(() => fs.stat('/deep/d0'))).toBe('E_CORRUPT');
  });
});

describe('ext: fast-check over mutated metadata', () => {
  let disk: BlockDevice;
  let ranges: [number, number][];
  beforeAll(async () => {
    disk = await diskOf('ext4-1k');
    const f = await facts('ext4-1k');
    ranges = [
      [1024, 1024], // superblock
      [2048, 1024], // group descriptors
      [await inodeAt(disk, 2), 256], // the root inode
      [await inodeAt(disk, f.debugfs['/sizes']!.inode), 256],
      [await inodeAt(disk, f.debugfs['/sparse/alternate']!.inode), 256],
    ];
    // And the first block of the root's and /sizes's directories (from their extent roots).
    for (const ino of [2, f.debugfs['/sizes']!.inode]) {
      const iblock = new DataView(copyBytes(await disk.read((await inodeAt(disk, ino)) + 0x28, 60)).buffer);
      ranges.push([iblock.getUint32(12 + 8, true) * 1024, 1024]);
    }
  });

  it('a walk of the tree never throws anything but DiskProbeError, within 100 ms', async () => {
    await mutationProperty(disk, ranges, ['/', '/sizes', '/sparse'], '/sparse/alternate');
  });
});
