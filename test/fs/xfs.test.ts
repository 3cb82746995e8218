/**
 * The XFS reader against the kernel's XFS driver and xfsprogs (fixtures/xfs.sh): the
 * conformance suite on every variant, with the inode numbers, links, sizes and times lstat gave
 * through the mount as expectations, lsattr's flags, and statfs against `xfs_db sb 0 print`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk, openFileSystem, type FileSystem } from '../../src/index.js';
import { conformance, loadManifest } from '../fs-conformance.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { FIXTURES } from '../helpers/fixtures.js';

const XFS = join(FIXTURES, 'fs/xfs');
const VARIANTS = ['xfs', 'xfs-v4', 'xfs-noftype', 'xfs-nobigtime', 'xfs-1k', 'xfs-64k', 'xfs-nrext64'];

interface Mounted {
  inode: number;
  links: number;
  size: number;
  mtime: { sec: number; nsec: number };
  attrs?: string;
}
interface XfsFacts {
  tree: string;
  mkfs: string;
  removed?: string[];
  xfsDbSb: string;
  xfsRepair: string;
  forms: Record<string, string>;
  mounted: Record<string, Mounted>;
}
const factsOf = (name: string) => JSON.parse(readFileSync(join(XFS, `${name}.facts.json`), 'utf8')) as XfsFacts;

afterAll(stopFixtureServer);

const memory = DEVICE_KINDS.find((k) => k.name === 'memory')!;
const cache = new Map<string, Promise<FileSystem>>();
function openXfs(name: string, kind = memory): Promise<FileSystem> {
  const key = `${kind.name}:${name}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => openFileSystem(await openDisk(await kind.open(join(XFS, `${name}.qcow2`)), { format: 'qcow2' })))();
    cache.set(key, p);
  }
  return p;
}

for (const name of VARIANTS) {
  const facts = factsOf(name);
  conformance(name, () => openXfs(name), loadManifest(facts.tree), {
    removed: facts.removed,
    facts: (path) => {
      const m = facts.mounted[path];
      return m && { ino: m.inode, size: m.size, mtime: m.mtime, links: m.links };
    },
  });
}

/** A field of `xfs_db -c 'sb 0' -c print`. */
function sbField(facts: XfsFacts, field: string): string {
  const m = new RegExp(`^${field} = (.*)$`, 'm').exec(facts.xfsDbSb);
  if (!m) throw new Error(`xfs_db printed no ${field}`);
  return m[1]!.trim();
}

describe('XFS statfs and flags, as xfs_db and lsattr say them', () => {
  it.each([...VARIANTS, 'xfs-dirty'])('%s: counters, geometry, label, UUID and features', async (name) => {
    const facts = factsOf(name);
    const fs = await openXfs(name);
    const st = await fs.statfs();
    expect(String(st.blockSize)).toBe(sbField(facts, 'blocksize'));
    expect(String(st.blocks)).toBe(sbField(facts, 'dblocks'));
    expect(String(st.inodes)).toBe(sbField(facts, 'icount'));
    expect(String(st.freeInodes)).toBe(sbField(facts, 'ifree'));
    expect(String(st.freeBlocks)).toBe(sbField(facts, 'fdblocks'));
    expect(st.uuid).toBe(sbField(facts, 'uuid'));
    expect(String(st.facts.agcount)).toBe(sbField(facts, 'agcount'));
    expect(String(st.facts.imaxPct)).toBe(sbField(facts, 'imax_pct'));
    expect(st.label).toBe(JSON.parse(sbField(facts, 'fname').replace(/\\000/g, '')) || undefined);
    const version = Number(sbField(facts, 'versionnum')) & 0xf;
    expect(st.features[0]).toBe(`v${version}`);
    expect(st.features.includes('crc')).toBe(version === 5);
    if (version === 5) {
      const incompat = Number(sbField(facts, 'features_incompat'));
      expect(st.features.includes('bigtime')).toBe((incompat & 0x8) !== 0);
      expect(st.features.includes('ftype')).toBe((incompat & 0x1) !== 0);
      expect(st.features.includes('sparse_inodes')).toBe((incompat & 0x2) !== 0);
      const ro = Number(sbField(facts, 'features_ro_compat'));
      expect(st.features.includes('reflink')).toBe((ro & 0x4) !== 0);
      expect(st.features.includes('inobtcount')).toBe((ro & 0x8) !== 0);
      expect(st.features.includes('nrext64')).toBe((incompat & 0x20) !== 0);
    } else {
      expect(st.features.includes('ftype')).toBe((Number(sbField(facts, 'features2')) & 0x200) !== 0);
    }
    // On a cleanly unmounted filesystem the superblock's counters agree with the AG headers.
    if (!/valuable metadata changes in a log/.test(facts.xfsRepair)) {
      expect(st.facts.agInodes).toBe(st.inodes);
      expect(st.facts.agFreeInodes).toBe(st.freeInodes);
      expect(st.facts.agFreeBlocks).toBe(st.freeBlocks);
    }
    // xfs_repair -n warns about a dirty log; diskprobe must say the same, and nothing else.
    const dirty = /valuable metadata changes in a log/.test(facts.xfsRepair);
    expect(st.state.clean).toBe(!dirty);
    expect(fs.findings.map((f) => f.code)).toEqual(dirty ? ['xfs.log-dirty'] : []);
  });

  it('flags set with chattr are named as lsattr shows them', async () => {
    const facts = factsOf('xfs');
    const fs = await openXfs('xfs');
    for (const [path, m] of Object.entries(facts.mounted)) {
      if (m.attrs === undefined) continue;
      const s = await fs.lstat(path);
      expect(s.flags.includes('immutable'), path).toBe(m.attrs.includes('i'));
      expect(s.flags.includes('append-only'), path).toBe(m.attrs.includes('a'));
    }
    expect((await fs.lstat('/small.txt')).flags).toContain('immutable');
  });
});

describe('XFS fork formats the fixtures cover (xfs_db core.format)', () => {
  it('shortform, block/leaf and btree directories, extent and btree files, local symlinks', () => {
    expect(factsOf('xfs').forms['/']).toBe('local');
    expect(factsOf('xfs').forms['/big-dir']).toBe('btree');
    expect(factsOf('xfs-1k').forms['/mid-dir']).toBe('extents');
    expect(factsOf('xfs-1k').forms['/sparse/alternate']).toBe('btree');
    expect(factsOf('xfs').forms['/links/slow']).toBe('local');
    expect(factsOf('xfs').mounted['/links/very-long']!.size).toBeGreaterThan(512); // remote: past any inode fork
  });
});

describe('XFS through every device kind', () => {
  it.each(DEVICE_KINDS.map((k) => k.name))('%s: a lookup in the node-form directory, a file over 4 GiB', async (kindName) => {
    const kind = DEVICE_KINDS.find((k) => k.name === kindName)!;
    const fs = await openXfs('xfs', kind);
    expect((await fs.lstat('/big-dir/e09999')).type).toBe('file');
    expect((await fs.readdir('/big-dir')).length).toBe(10000);
    const reader = fs.createReadStream('/sparse/over-4g', { start: 2 ** 32 + 12345, end: 2 ** 32 + 12345 + 64 }).getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value!.subarray(0, 25))).toMatch(/^[0-9a-f]{8} 0{16}/);
  });
});
