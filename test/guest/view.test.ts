/**
 * The guest view across mounts against a model: the same tree built as one filesystem, with
 * the mounted filesystem's files placed under its mount point. Every path, through random
 * symbolic-link graphs (absolute and relative targets, `..` chains, loops), must give the same
 * bytes or the same error code in both, and resolution must always end (loops are
 * E_SYMLINK_LOOP, never a hang).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DiskProbeError } from '../../src/index.js';
import { GuestFileSystem } from '../../src/guest/view.js';
import { memFs, type MemNode } from '../helpers/memfs.js';

const ROOT_DIRS = ['/a', '/a/b', '/m', '/c'];
const MOUNT_DIRS = ['/x', '/x/y'];
const NAMES = ['f', 'l1', 'l2'];
const TARGETS = ['/', '/a', '/a/b/f', '/m', '/m/x', '/m/x/y/f', '..', '../..', '../../../../..', '../m/x', 'b/l1', '/a/l2', '/m/l1', 'l1', 'l2', '.', '../f', '/etc/shadow', 'x/y/../../x/l2', '/m/x/../../a/f'];

async function outcome(fs: { readFile(p: string): Promise<Uint8Array> }, path: string): Promise<string> {
  try {
    return `ok:${new TextDecoder().decode(await fs.readFile(path))}`;
  } catch (e) {
    if (e instanceof DiskProbeError) return `error:${e.code}`;
    throw e;
  }
}

describe('the guest view', () => {
  it('resolves like one merged filesystem, through random symlink graphs, and always ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...ROOT_DIRS, '/'), fc.constantFrom(...NAMES), fc.constantFrom(...TARGETS)), { maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom(...MOUNT_DIRS, '/'), fc.constantFrom(...NAMES), fc.constantFrom(...TARGETS)), { maxLength: 8 }),
        fc.array(fc.constantFrom(...TARGETS.filter((t) => t.startsWith('/')), '/a/l1', '/a/b/l2', '/m/x/l1', '/m/x/y/l2', '/c/f', '/m/f', 'a/../m/x/f'), { minLength: 1, maxLength: 8 }),
        async (rootLinks, mountLinks, queries) => {
          const rootEntries: Record<string, MemNode> = {};
          const mountEntries: Record<string, MemNode> = {};
          const merged: Record<string, MemNode> = {};
          for (const d of ROOT_DIRS) rootEntries[d] = merged[d] = { type: 'directory' };
          for (const d of MOUNT_DIRS) {
            mountEntries[d] = { type: 'directory' };
            merged[`/m${d}`] = { type: 'directory' };
          }
          for (const d of [...ROOT_DIRS, '/']) rootEntries[`${d === '/' ? '' : d}/f`] = merged[`${d === '/' ? '' : d}/f`] = { type: 'file', data: `root${d}` };
          for (const d of [...MOUNT_DIRS, '/']) {
            mountEntries[`${d === '/' ? '' : d}/f`] = { type: 'file', data: `mount${d}` };
            merged[`/m${d === '/' ? '' : d}/f`] = { type: 'file', data: `mount${d}` };
          }
          // What the root filesystem has under /m is hidden by the mount.
          rootEntries['/m/hidden'] = { type: 'file', data: 'hidden' };
          for (const [dir, name, target] of rootLinks) {
            const p = `${dir === '/' ? '' : dir}/${name}`;
            if (name === 'f') continue;
            rootEntries[p] = { type: 'symlink', target };
            if (!p.startsWith('/m/')) merged[p] = { type: 'symlink', target };
          }
          for (const [dir, name, target] of mountLinks) {
            const p = `${dir === '/' ? '' : dir}/${name}`;
            if (name === 'f') continue;
            mountEntries[p] = { type: 'symlink', target };
            merged[`/m${p}`] = { type: 'symlink', target };
          }
          const guest = new GuestFileSystem([
            { path: '/', fs: memFs(rootEntries, 'root'), source: 'root' },
            { path: '/m', fs: memFs(mountEntries, 'mnt'), source: 'mnt' },
          ]);
          const model = memFs(merged, 'model');
          for (const q of [...queries, '/m/hidden']) {
            expect(await outcome(guest, q), q).toBe(await outcome(model, q));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lists mount points in their parent and says which filesystem a path is on', async () => {
    const guest = new GuestFileSystem([
      { path: '/', fs: memFs({ '/etc': { type: 'directory' }, '/boot': { type: 'directory' } }), source: 'p2' },
      { path: '/boot', fs: memFs({ '/vmlinuz': { type: 'file', data: 'kernel' } }), source: 'p1' },
      { path: '/srv/data', fs: memFs({}), source: 'p3' },
    ]);
    expect((await guest.readdir('/')).map((e) => e.name).sort()).toEqual(['boot', 'etc']);
    expect((await guest.readdir('/boot')).map((e) => e.name)).toEqual(['vmlinuz']);
    expect((await guest.locate('/boot/vmlinuz')).mount.source).toBe('p1');
    expect(guest.mounted.map((m) => m.path)).toEqual(['/', '/boot', '/srv/data']);
    // A mount whose directory is missing on the filesystem below is reached all the same.
    await expect(guest.readdir('/srv/data')).resolves.toEqual([]);
  });
});
