/**
 * The NTFS reader against mkntfs and ntfs-3g (fixtures/ntfs.sh): the conformance suite on the
 * tree ntfs-3g copied in (with ntfs-3g's own view of every path — sizes, link counts, MFT
 * record numbers, times, symlink targets, Interix special files — as the expectations, the MFT
 * record numbers cross-checked by the script with sleuthkit's fls), and statfs against
 * ntfsinfo and blkid.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbeError, fromBytes, NtfsFileSystem, openDisk, openFileSystem, type FileSystem, type FileType } from '../../src/index.js';
import { conformance, loadManifest } from '../fs-conformance.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { mutationProperty, outcome } from './mutation.js';

const DIR = join(FIXTURES, 'ntfs');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface PathFact {
  type: FileType;
  size: number | null;
  ino: number;
  nlink: number;
  mtime: { sec: number; nsec: number };
  target?: string;
  sha256?: string;
  attributes?: number;
  rdev?: { major: number; minor: number };
  streams?: Record<string, { size: number; sha256: string }>;
}
export interface NtfsFacts {
  tree?: string;
  file: string;
  volume: { label: string; serial: string; version: string; clusterSize: number; mftRecordSize: number; indexRecordSize: number; volumeClusters: number; freeClusters: number; volumeFlags: string; dirty: boolean };
  files: Record<string, PathFact>;
  blkid: Record<string, string>;
  special?: Record<string, unknown>;
}
export const ntfsFacts = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.facts.json`), 'utf8')) as NtfsFacts;

afterAll(stopFixtureServer);

const cache = new Map<string, Promise<FileSystem>>();
export function openNtfs(name: string, kind = DEVICE_KINDS[0]!): Promise<FileSystem> {
  const key = `${kind.name}:${name}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => openFileSystem(await openDisk(await kind.open(join(DIR, `${name}.qcow2`)), { format: 'qcow2' })))();
    cache.set(key, p);
  }
  return p;
}

for (const name of ['ntfs-tree', 'ntfs-tree-512']) {
  const facts = ntfsFacts(name);
  conformance(name, () => openNtfs(name), loadManifest(facts.tree!), {
    posixOwnership: false,
    timeResolutionNs: 100,
    facts: (path) => {
      const f = facts.files[path];
      return f && { ino: f.ino, size: f.type === 'directory' || f.size === null ? undefined : f.size, mtime: f.mtime, links: f.nlink, rawFlags: f.attributes };
    },
  });

  describe(`${name}: ntfs-3g's view`, () => {
    for (const kind of DEVICE_KINDS) {
      it(`every path has the type, size, record number and contents ntfs-3g reports, through the ${kind.name} device`, async () => {
        const fs = await openNtfs(name, kind);
        for (const [path, f] of Object.entries(facts.files)) {
          const s = await fs.lstat(path);
          expect(s.type, path).toBe(f.type);
          expect(s.ino, path).toBe(f.ino);
          if (f.type !== 'directory') expect(s.size, path).toBe(f.size);
          if (f.rdev) expect(s.rdev, path).toEqual(f.rdev);
          if (f.target !== undefined) expect(await fs.readlink(path), path).toBe(f.target);
        }
      });
    }

    it('statfs gives what ntfsinfo and blkid read: label, serial, version, cluster and record sizes, free clusters', async () => {
      const fs = await openNtfs(name);
      const s = await fs.statfs();
      expect(s.type).toBe('ntfs');
      expect(s.label).toBe(facts.volume.label);
      expect(s.uuid).toBe(facts.blkid.UUID);
      expect(s.uuid).toBe(facts.volume.serial);
      expect(s.features).toEqual([`ntfs-${facts.volume.version}`]);
      expect(s.blockSize).toBe(facts.volume.clusterSize);
      expect(s.blocks).toBe(facts.volume.volumeClusters);
      expect(s.freeBlocks).toBe(facts.volume.freeClusters);
      expect(s.facts.mftRecordSize).toBe(facts.volume.mftRecordSize);
      expect(s.facts.indexBlockSize).toBe(facts.volume.indexRecordSize);
      expect(s.facts.dirty).toBe(facts.volume.dirty);
      expect(s.state.clean).toBe(true);
      expect(fs.findings).toEqual([]);
    });
  });
}

/** The volume's bytes (the qcow2 fixtures hold raw NTFS volumes). */
async function rawBytes(name: string): Promise<Uint8Array> {
  const disk = await openDisk(await DEVICE_KINDS[0]!.open(join(DIR, `${name}.qcow2`)), { format: 'qcow2' });
  return new Uint8Array(await disk.read(0, disk.size));
}

/** Where MFT record `n` lies: found by scanning for `FILE` records that carry their number (NTFS 3.1). */
function recordAt(b: Uint8Array, n: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at + 1024 <= b.length; at += 1024) {
    if (b[at] === 0x46 && b[at + 1] === 0x49 && b[at + 2] === 0x4c && b[at + 3] === 0x45 && v.getUint32(at + 0x2c, true) === n && v.getUint16(at + 0x16, true) & 1) return at;
  }
  throw new Error(`record ${n} not found`);
}

/** The offset of the first attribute of `type` in the record at `at` (headers never straddle a stride end in these records). */
function attrAt(b: Uint8Array, at: number, type: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = at + v.getUint16(at + 0x14, true); v.getUint32(p, true) !== 0xffffffff; p += v.getUint32(p + 4, true)) if (v.getUint32(p, true) === type) return p;
  throw new Error(`no attribute 0x${type.toString(16)}`);
}

describe('hostile NTFS', () => {
  const facts = ntfsFacts('ntfs-tree');
  let image: Uint8Array;
  const fresh = async () => (image ??= await rawBytes('ntfs-tree')).slice();
  const open = (b: Uint8Array) => openFileSystem(fromBytes(b, 'hostile.img'));

  it('a damaged boot sector: the backup at the volume end is used, and said', async () => {
    const b = await fresh();
    b.fill(0, 0, 512);
    const fs = await open(b);
    expect(fs.findings.map((f) => f.code)).toEqual(['ntfs.boot-sector']);
    expect((await fs.readdir('/sizes')).length).toBe(Object.keys(facts.files).filter((p) => p.startsWith('/sizes/')).length);
    expect(sha256(await fs.readFile('/sizes/f200000'))).toBe(facts.files['/sizes/f200000']!.sha256);
  });

  it('a torn MFT record (update sequence mismatch) is E_CORRUPT at the stride end', async () => {
    const b = await fresh();
    const at = recordAt(b, facts.files['/hard']!.ino);
    b[at + 510] = b[at + 510]! ^ 0xff;
    const e = await (await open(b)).readdir('/hard').catch((x: unknown) => x as DiskProbeError);
    expect(e).toBeInstanceOf(DiskProbeError);
    expect([(e as DiskProbeError).code, (e as DiskProbeError).offset]).toEqual(['E_CORRUPT', at + 510]);
  });

  it('runlists that point past the volume, or disagree with their VCN range, are E_CORRUPT', async () => {
    const b = await fresh();
    const rec = recordAt(b, facts.files['/sizes/f200000']!.ino);
    const data = attrAt(b, rec, 0x80);
    const runs = data + (b[data + 0x20]! | (b[data + 0x21]! << 8));
    const h = b[runs]!;
    // The first run's LCN (its top byte) made huge.
    b[runs + (h & 0xf) + (h >> 4)] = 0x7f;
    expect(await outcome(async () => (await open(b)).readFile('/sizes/f200000'))).toBe('E_CORRUPT');
    const c = await fresh();
    // The highest VCN in the header one less than the runs map.
    const last = new DataView(c.buffer).getUint32(data + 0x18, true);
    new DataView(c.buffer).setUint32(data + 0x18, last - 1, true);
    expect(await outcome(async () => (await open(c)).readFile('/sizes/f200000'))).toBe('E_CORRUPT');
  });

  it('index entries with bad lengths, and a B+ tree that visits a block twice, are E_CORRUPT', async () => {
    const b = await fresh();
    const root = attrAt(b, recordAt(b, facts.files['/hard']!.ino), 0x90);
    const value = root + (b[root + 0x14]! | (b[root + 0x15]! << 8));
    const first = value + 0x10 + new DataView(b.buffer).getUint32(value + 0x10, true);
    b[first + 8] = 3; // entry length 3
    expect(await outcome(async () => (await open(b)).readdir('/hard'))).toBe('E_CORRUPT');

    const c = await fresh();
    const v = new DataView(c.buffer);
    const mid = attrAt(c, recordAt(c, facts.files['/mid-dir']!.ino), 0x90);
    const mv = mid + v.getUint16(mid + 0x14, true);
    // 300 entries: the root node points at an inner INDX block, which points at the leaves.
    // Make that inner block's first child pointer point back at the inner block itself.
    const firstEntry = mv + 0x10 + v.getUint32(mv + 0x10, true);
    let entry = firstEntry;
    while (!(v.getUint16(entry + 12, true) & 1)) entry += v.getUint16(entry + 8, true);
    const inner = v.getUint32(entry + v.getUint16(entry + 8, true) - 8, true);
    let looped = false;
    for (let at = 0; at + 4096 <= c.length && !looped; at += 4096) {
      // INDX, its VCN, and a first key whose parent is /mid-dir.
      if (c[at] !== 0x49 || c[at + 1] !== 0x4e || c[at + 2] !== 0x44 || c[at + 3] !== 0x58 || v.getUint32(at + 0x10, true) !== inner) continue;
      const e0 = at + 0x18 + v.getUint32(at + 0x18, true);
      if (v.getUint32(e0 + 16, true) !== facts.files['/mid-dir']!.ino) continue;
      for (let p = e0; !looped; p += v.getUint16(p + 8, true)) {
        const len = v.getUint16(p + 8, true);
        const flags = v.getUint16(p + 12, true);
        const ptr = p + len - 8;
        if (flags & 1 && (ptr % 512) + 4 <= 510) {
          v.setUint32(ptr, inner, true);
          looped = true;
        }
        if (flags & 2) break;
      }
    }
    expect(looped).toBe(true);
    expect(await outcome(async () => (await open(c)).readdir('/mid-dir'))).toBe('E_CORRUPT');
  });

  it('mutated boot sector, MFT records and directory indexes end in values or DiskProbeErrors, within 100 ms', async () => {
    const b = await fresh();
    const mft = recordAt(b, 0);
    const ranges: [number, number][] = [
      [0, 0x54],
      [mft, 16 * 1024],
      [recordAt(b, facts.files['/sizes']!.ino), 1024],
      [recordAt(b, facts.files['/mid-dir']!.ino), 1024],
      [recordAt(b, facts.files['/sizes/f200000']!.ino), 1024],
    ];
    await mutationProperty(fromBytes(b, 'ntfs-tree.img'), ranges, ['/', '/sizes', '/hard', '/links'], '/sizes/f200000');
  });
});

describe('ntfs-features: what ntfs-3g wrote, read back', () => {
  const facts = ntfsFacts('ntfs-features');
  const special = facts.special as {
    bigdir: { count: number; namesSha256: string; index: { depth: number } };
    fragmented: { path: string; sourceSha256: string; fragments: number };
    sparse: { path: string; data: { compressedSize: number; dataSize: number } };
    compressed: Record<string, { data: { compressedSize: number } }>;
    big: { path: string; sourceSha256: string };
    attributeList: Record<string, { hardLinks: number; records: number[]; attributeList: { runs: { lcn: number }[]; dataSize: number } }>;
    adsStreamList: string[];
    hibernated: { log: string };
  };
  // ntfs-3g shows absolute Windows targets under its mount point; diskprobe under the volume root.
  const target = (t: string) => t.replace(/^<mountpoint>/, '');

  for (const kind of DEVICE_KINDS) {
    it(`every path: type, size, record, links, attributes, contents, streams and targets as ntfs-3g reports them, through the ${kind.name} device`, async () => {
      const fs = await openNtfs('ntfs-features', kind);
      for (const [path, f] of Object.entries(facts.files)) {
        const s = await fs.lstat(path);
        expect([s.type, s.ino], path).toEqual([f.type, f.ino]);
        if (f.type !== 'directory' && f.size !== null) expect(s.size, path).toBe(f.size);
        if (f.type !== 'directory') expect(s.nlink, path).toBe(f.nlink);
        expect(s.rawFlags, path).toBe(f.attributes);
        expect(s.mtime, path).toEqual(f.mtime);
        if (f.rdev) expect(s.rdev, path).toEqual(f.rdev);
        if (f.sha256) expect(sha256(await fs.readFile(path)), path).toBe(f.sha256);
        if (f.target !== undefined) expect(await fs.readlink(path), path).toBe(target(f.target));
        for (const [name, st] of Object.entries(f.streams ?? {})) expect(sha256(await fs.readFile(`${path}:${name}`)), `${path}:${name}`).toBe(st.sha256);
      }
    });
  }

  it('a 6,000-entry directory: its B+ tree walked in full and searched by descent', async () => {
    expect(special.bigdir.index.depth).toBeGreaterThanOrEqual(3);
    const fs = await openNtfs('ntfs-features', DEVICE_KINDS[2]);
    // Lookups before any listing go down the tree.
    for (const i of [0, 1, 2999, 5998, 5999]) expect((await fs.stat(`/bigdir/FILE-WITH-A-LONGISH-NAME-${String(i).padStart(6, '0')}.TXT`)).type).toBe('file');
    expect((await fs.stat('/bigdir/file-with-a-longish-name-006000.txt').catch((e: DiskProbeError) => e.code)) as unknown).toBe('E_NOT_FOUND');
    const names = (await fs.readdir('/bigdir')).map((e) => e.name);
    expect(names.length).toBe(special.bigdir.count);
    expect(sha256(new TextEncoder().encode(names.sort().join('\n')))).toBe(special.bigdir.namesSha256);
  });

  it('fragmented, sparse and LZNT1-compressed files: contents, flags and allocated sizes', async () => {
    const fs = await openNtfs('ntfs-features');
    expect(special.fragmented.fragments).toBeGreaterThan(10);
    expect(sha256(await fs.readFile(special.fragmented.path))).toBe(special.fragmented.sourceSha256);
    expect(sha256(await fs.readFile(special.big.path))).toBe(special.big.sourceSha256);
    const sp = await fs.stat(special.sparse.path);
    expect(sp.flags).toContain('sparse');
    expect([sp.size, sp.allocated]).toEqual([special.sparse.data.dataSize, special.sparse.data.compressedSize]);
    for (const [path, c] of Object.entries(special.compressed)) {
      const s = await fs.stat(path);
      expect(s.flags, path).toContain('compressed');
      expect(s.allocated, path).toBe(c.data.compressedSize);
    }
    expect((await fs.stat('/compressed/text.txt')).allocated).toBeLessThan((await fs.stat('/compressed/text.txt')).size / 4);
  });

  it('a file spread over extension records by an attribute list: every name and its data', async () => {
    const fs = (await openNtfs('ntfs-features')) as NtfsFileSystem;
    const [path, al] = Object.entries(special.attributeList)[0]!;
    expect(al.records.length).toBeGreaterThan(1);
    const names = await fs.names(path);
    expect(names.length).toBe(al.hardLinks);
    expect((await fs.stat(path)).nlink).toBe(al.hardLinks);
    expect(sha256(await fs.readFile(path))).toBe(facts.files[path]!.sha256);
  });

  it('named streams: listed, read as file:stream, file:stream:$DATA and file::$DATA, case-insensitively', async () => {
    const fs = (await openNtfs('ntfs-features')) as NtfsFileSystem;
    const f = facts.files['/ads.txt']!;
    expect((await fs.streams('/ads.txt')).map((s) => s.name).sort()).toEqual([...special.adsStreamList].sort());
    expect(sha256(await fs.readFile('/ads.txt:BETA:$DATA'))).toBe(f.streams!.beta!.sha256);
    expect(sha256(await fs.readFile('/ads.txt::$DATA'))).toBe(f.sha256);
    expect((await fs.stat('/ads.txt:alpha')).size).toBe(f.streams!.alpha!.size);
    expect(await fs.stat('/ads.txt:gamma').catch((e: DiskProbeError) => e.code)).toBe('E_NOT_FOUND');
  });

  it('DOS names are found but listed once; names that differ in case are both listed; Windows symlinks and junctions resolve inside the volume', async () => {
    const fs = (await openNtfs('ntfs-features')) as NtfsFileSystem;
    const long = facts.files['/Long File Name With Spaces.txt'] as PathFact & { dosName: string };
    expect((await fs.stat(`/${long.dosName}`)).ino).toBe(long.ino);
    expect((await fs.stat(`/${long.dosName.toLowerCase()}`)).ino).toBe(long.ino);
    const root = (await fs.readdir('/')).map((e) => e.name);
    expect(root).toContain('Long File Name With Spaces.txt');
    expect(root).not.toContain(long.dosName);
    expect(root.some((n) => n.startsWith('$'))).toBe(false);
    expect((await fs.stat('/$MFT')).ino).toBe(0);
    expect((await fs.names('/Long File Name With Spaces.txt')).map((n) => n.namespace).sort()).toEqual(['dos', 'win32']);
    expect((await fs.readdir('/case')).map((e) => e.name).sort()).toEqual(['README', 'Readme']);
    expect((await fs.stat('/case/README')).ino).toBe(facts.files['/case/README']!.ino);
    expect((await fs.stat('/case/Readme')).ino).toBe(facts.files['/case/Readme']!.ino);
    expect((await fs.reparsePoint('/links/junction'))?.tagName).toBe('mount-point');
    expect((await fs.stat('/links/junction')).ino).toBe(facts.files['/bigdir']!.ino);
    expect((await fs.readdir('/links/junction')).length).toBe(special.bigdir.count);
    expect(sha256(await fs.readFile('/links/winsym-abs'))).toBe(facts.files['/links/original.txt']!.sha256);
  });

  it('statfs: ntfsinfo\'s figures, and the hibernation file ntfs-3g refused to mount read-write over', async () => {
    const fs = await openNtfs('ntfs-features');
    const s = await fs.statfs();
    expect(special.hibernated.log).toMatch(/hibernated/);
    expect(s.facts.hibernation).toBe('hibr');
    expect([s.label, s.uuid, s.blocks, s.freeBlocks]).toEqual([facts.volume.label, facts.volume.serial, facts.volume.volumeClusters, facts.volume.freeClusters]);
  });

  it('a dirty volume: the $Volume flag ntfsinfo reports, as state and a finding', async () => {
    const d = ntfsFacts('ntfs-dirty');
    expect(d.volume.dirty).toBe(true);
    const fs = await openNtfs('ntfs-dirty');
    const s = await fs.statfs();
    expect([s.state.clean, s.state.errors, s.facts.dirty]).toEqual([false, true, true]);
    expect(fs.findings.map((f) => f.code)).toEqual(['ntfs.dirty']);
    expect(sha256(await fs.readFile('/hello.txt'))).toBe(d.files['/hello.txt']!.sha256);
  });

  it('hostile attribute lists: a reference to another file\'s record is ignored with a finding, one past the MFT is E_CORRUPT', async () => {
    const b = await rawBytes('ntfs-features');
    const v = new DataView(b.buffer);
    const [path, al] = Object.entries(special.attributeList)[0]!;
    const listAt = al.attributeList.runs[0]!.lcn * facts.volume.clusterSize;
    // The entries naming the second extension record.
    const entries: number[] = [];
    for (let p = listAt; p < listAt + al.attributeList.dataSize; p += v.getUint16(p + 4, true)) if (v.getUint32(p + 0x10, true) === al.records[1]) entries.push(p);
    expect(entries.length).toBeGreaterThan(0);
    const entry = entries[0]!;
    const other = b.slice();
    for (const p of entries) new DataView(other.buffer).setUint32(p + 0x10, facts.files['/bigdir']!.ino, true);
    const fs = await openFileSystem(fromBytes(other, 'other.img'));
    expect((await fs.stat(path)).nlink).toBeLessThan(al.hardLinks);
    expect(fs.findings.map((f) => f.code)).toContain('ntfs.attribute-list');
    const past = b.slice();
    new DataView(past.buffer).setUint32(entry + 0x10, 0x7fffffff, true);
    expect(await outcome(async () => (await openFileSystem(fromBytes(past, 'past.img'))).stat(path))).toBe('E_CORRUPT');
    const self = b.slice();
    new DataView(self.buffer).setUint32(entry + 0x10, al.records[0]!, true);
    expect(await outcome(async () => (await openFileSystem(fromBytes(self, 'self.img'))).stat(path))).toBe('ok');
  });
});
