/**
 * The filesystem conformance suite: what every `FileSystem` must answer about the tree that
 * fixtures/tools/fstree.mjs builds and records in a manifest (fixtures/fs/tree-*.manifest.json,
 * read back from the source tree with lstat). Each reader's test calls `conformance()` with its
 * images; where a filesystem or the tool that filled it cannot keep something (nanoseconds,
 * owners, a trailing hole), the caller says so, with the tool's own facts as the expectation.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentOf } from '../fixtures/tools/fscontent.mjs';
import { DiskProbeError, type FileSystem, type FileType, type Stats } from '../src/index.js';
import { FIXTURES } from './helpers/fixtures.js';

export interface ManifestRecord {
  path: string;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: { sec: number; nsec: number };
  target?: string;
  sha256?: string;
  entries?: number;
  rdev?: { major: number; minor: number };
}

export interface Manifest {
  variant: 'full' | 'small';
  generated: { dir: string; count: number; prefix: string; digits: number; type: FileType; size: number }[];
  records: ManifestRecord[];
}

export function loadManifest(file: string): Manifest {
  return JSON.parse(readFileSync(join(FIXTURES, 'fs', file), 'utf8')) as Manifest;
}

/** What a particular image keeps differently from the source tree, as its own tools report it. */
export interface Expectations {
  /** Entries the filesystem adds to its root (`lost+found`). */
  rootExtras?: string[];
  /** Whether modification times keep nanoseconds. */
  nanoseconds?: boolean;
  /** The filesystem's time resolution in nanoseconds (NTFS: 100), when it keeps less than 1 ns and more than 1 s. */
  timeResolutionNs?: number;
  /** Whether POSIX permissions and owners are kept (NTFS and FAT keep neither without a mapping). */
  posixOwnership?: boolean;
  /** Whether the filesystem holds symbolic links and hard links (FAT holds neither). */
  links?: boolean;
  /** Paths removed from the image after it was filled (they must not be found). */
  removed?: string[];
  /** Per-path facts from the filesystem's tools that take precedence over the source tree. */
  facts?: (path: string) => Partial<{ size: number; ino: number; rawFlags: number; mtime: { sec: number; nsec: number }; links: number }> | undefined;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function hashOf(fs: FileSystem, path: string, size: number): Promise<string> {
  if (size <= 64 << 20) return sha256(await fs.readFile(path));
  const h = createHash('sha256');
  const reader = fs.createReadStream(path, { chunkSize: 8 << 20 }).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    h.update(value);
  }
  return h.digest('hex');
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    return e.code;
  }
}

/** The children of `dir` in the manifest (generated ranges expanded). */
function childrenOf(m: Manifest, dir: string): string[] {
  const g = m.generated.find((x) => x.dir === dir);
  if (g) return Array.from({ length: g.count }, (_, i) => `${g.prefix}${String(i).padStart(g.digits, '0')}`);
  const prefix = dir === '/' ? '/' : `${dir}/`;
  return m.records.filter((r) => r.path !== dir && r.path.startsWith(prefix) && !r.path.slice(prefix.length).includes('/')).map((r) => r.path.slice(prefix.length));
}

/**
 * Registers the conformance tests for one filesystem image. `open` is called once per test
 * group and should return the same filesystem each time (callers cache it).
 */
export function conformance(name: string, open: () => Promise<FileSystem>, full: Manifest, expect_: Expectations = {}): void {
  const facts = (path: string) => expect_.facts?.(path) ?? {};
  const removed = new Set(expect_.removed ?? []);
  const manifest: Manifest = { ...full, records: full.records.filter((r) => !removed.has(r.path)) };
  describe(`FileSystem conformance: ${name}`, () => {
    it('lstat of every path gives the type, permissions, owner, size, links and time of the source', async () => {
      const fs = await open();
      for (const r of manifest.records) {
        const s: Stats = await fs.lstat(r.path);
        const f = facts(r.path);
        expect(s.type, r.path).toBe(r.type);
        if (expect_.posixOwnership !== false) {
          expect(s.permissions, r.path).toBe(r.mode);
          expect([s.uid, s.gid], r.path).toEqual([r.uid, r.gid]);
        }
        if (r.type !== 'directory') expect(s.size, r.path).toBe(f.size ?? r.size);
        if (r.type !== 'directory') expect(s.nlink, r.path).toBe(f.links ?? r.nlink);
        const step = expect_.timeResolutionNs ?? 1;
        const mtime = f.mtime ?? (expect_.nanoseconds === false ? { sec: r.mtime.sec, nsec: 0 } : { sec: r.mtime.sec, nsec: r.mtime.nsec - (r.mtime.nsec % step) });
        expect(s.mtime, r.path).toEqual(mtime);
        if (f.ino !== undefined) expect(s.ino, r.path).toBe(f.ino);
        if (f.rawFlags !== undefined) expect(s.rawFlags, r.path).toBe(f.rawFlags);
        if (r.rdev) expect(s.rdev, r.path).toEqual(r.rdev);
      }
    });

    it('every regular file reads back with the sha256 of the source', async () => {
      const fs = await open();
      for (const r of manifest.records.filter((x) => x.type === 'file')) {
        const size = facts(r.path).size ?? r.size;
        if (size !== r.size) continue; // the tool that filled the image changed the file; lstat checked its size
        expect(await hashOf(fs, r.path, size), r.path).toBe(r.sha256);
      }
    });

    it('every directory lists exactly the source entries, with their types', async () => {
      const fs = await open();
      for (const r of manifest.records.filter((x) => x.type === 'directory')) {
        const listed = await fs.readdir(r.path);
        const names = listed.map((e) => e.name).sort();
        const want = [...childrenOf(manifest, r.path), ...(r.path === '/' ? (expect_.rootExtras ?? []) : [])].sort();
        expect(names, r.path).toEqual(want);
        for (const e of listed) {
          const child = manifest.records.find((x) => x.path === `${r.path === '/' ? '' : r.path}/${e.name}`);
          if (child && e.type !== 'unknown') expect(e.type, child.path).toBe(child.type);
        }
      }
    });

    it('removed entries are gone, and the rest of their directory is intact', async () => {
      const fs = await open();
      for (const path of removed) expect(await code(fs.lstat(path)), path).toBe('E_NOT_FOUND');
    });

    it('generated entries (a large directory) are each found by lookup', async () => {
      const fs = await open();
      for (const g of manifest.generated) {
        for (let i = 0; i < g.count; i += Math.max(1, Math.floor(g.count / 500))) {
          const s = await fs.lstat(`${g.dir}/${g.prefix}${String(i).padStart(g.digits, '0')}`);
          expect(s.type).toBe(g.type);
          expect(s.size).toBe(g.size);
        }
        expect(await code(fs.lstat(`${g.dir}/${g.prefix}${'9'.repeat(g.digits + 1)}`))).toBe('E_NOT_FOUND');
      }
    });

    it.skipIf(expect_.links === false)('symbolic links: targets, following, dangling, loops, absolute targets inside the filesystem', async () => {
      const fs = await open();
      for (const r of manifest.records.filter((x) => x.type === 'symlink')) expect(await fs.readlink(r.path), r.path).toBe(r.target);
      expect((await fs.stat('/links/fast')).size).toBe(13);
      expect((await fs.stat('/links/absolute')).size).toBe(13);
      expect((await fs.stat('/links/slow')).size).toBe(4096);
      expect((await fs.stat('/links/to-dir')).type).toBe('directory');
      expect((await fs.stat('/links/to-dir/f100')).size).toBe(100);
      expect(new TextDecoder().decode(await fs.readFile('/links/fast'))).toBe('hello, world\n');
      expect(await code(fs.stat('/links/dangling'))).toBe('E_NOT_FOUND');
      expect(await code(fs.stat('/links/loop-a'))).toBe('E_SYMLINK_LOOP');
      expect((await fs.lstat('/links/loop-a')).type).toBe('symlink');
    });

    it('hard links share an inode; paths normalise; errors have their codes', async () => {
      const fs = await open();
      const [a, b] = [await fs.stat('/hard/one'), await fs.stat('/hard/two')];
      if (expect_.links !== false) {
        expect(a.ino).toBe(b.ino);
        expect(a.nlink).toBe(2);
      } else expect(a.ino).not.toBe(b.ino);
      expect((await fs.stat('//sizes/./f100')).size).toBe(100);
      expect((await fs.stat('/../../sizes/../sizes/f100')).size).toBe(100);
      expect((await fs.stat('sizes/f100')).size).toBe(100);
      expect(await code(fs.stat('/no-such-file'))).toBe('E_NOT_FOUND');
      expect(await code(fs.stat('/small.txt/below'))).toBe('E_NOT_DIRECTORY');
      expect(await code(fs.readdir('/small.txt'))).toBe('E_NOT_DIRECTORY');
      expect(await code(fs.readFile('/sizes'))).toBe('E_IS_DIRECTORY');
      expect(await code(fs.readlink('/small.txt'))).toBe('E_ARGUMENT');
      expect(await code(fs.readFile('/sparse/holes', { maxBytes: 1024 }))).toBe('E_LIMIT');
    });

    it('fast-check: any range of any file, streamed, equals the source bytes', async () => {
      const fs = await open();
      const files = manifest.records.filter((r) => r.path.startsWith('/sizes/') && r.size > 0 && (facts(r.path).size ?? r.size) === r.size);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...files), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 200_000 }), async (r, a, b, chunk) => {
          const start = a % r.size;
          const end = start + (b % (r.size - start + 1));
          const source = contentOf(r.path.slice(1), r.size).subarray(start, end);
          const parts: Uint8Array[] = [];
          const reader = fs.createReadStream(r.path, { start, end, chunkSize: chunk }).getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            parts.push(value);
          }
          const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            got.set(p, at);
            at += p.length;
          }
          expect(sha256(got)).toBe(sha256(source));
        }),
        { numRuns: 60 },
      );
    });
  });
}
