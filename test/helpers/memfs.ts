/**
 * A filesystem in memory for tests of code above the readers (the guest view): a map of
 * absolute paths to directories, files and symbolic links, resolved with the same path walker
 * the readers use.
 */
import { DiskProbeError, ErrorCode } from '../../src/index.js';
import { resolve, type Tree } from '../../src/fs/path.js';
import type { DirEntry, FileSystem, FsStats, Stats } from '../../src/fs/types.js';

export type MemNode = { type: 'directory' } | { type: 'file'; data: string } | { type: 'symlink'; target: string };

interface Node {
  path: string;
  ino: number;
  node: MemNode;
}

export function memFs(entries: Record<string, MemNode>, label = 'mem'): FileSystem {
  const nodes = new Map<string, Node>();
  let ino = 1;
  nodes.set('/', { path: '/', ino: ino++, node: { type: 'directory' } });
  for (const [path, node] of Object.entries(entries)) nodes.set(path, { path, ino: ino++, node });
  const where = { format: 'mem', device: label };
  const tree: Tree<Node> = {
    root: async () => nodes.get('/')!,
    lookup: async (dir, name) => nodes.get(dir.path === '/' ? `/${name}` : `${dir.path}/${name}`),
    isDirectory: (n) => n.node.type === 'directory',
    isSymlink: (n) => n.node.type === 'symlink',
    readlink: async (n) => (n.node as { target: string }).target,
  };
  const t = { sec: 0, nsec: 0 };
  const stats = (n: Node): Stats => ({ ino: n.ino, type: n.node.type, mode: 0, permissions: 0o755, uid: 0, gid: 0, size: n.node.type === 'file' ? n.node.data.length : 0, nlink: 1, atime: t, mtime: t, ctime: t, flags: [], rawFlags: 0 });
  const fail = (code: ErrorCode, path: string): never => {
    throw new DiskProbeError(code, code, { layer: 'fs', format: 'mem', device: label, value: path });
  };
  return {
    type: 'mem',
    label,
    caseInsensitive: false,
    findings: [],
    stat: async (p) => stats(await resolve(tree, p, true, where)),
    lstat: async (p) => stats(await resolve(tree, p, false, where)),
    readdir: async (p) => {
      const d = await resolve(tree, p, true, where);
      if (d.node.type !== 'directory') fail(ErrorCode.NOT_DIRECTORY, p);
      const prefix = d.path === '/' ? '/' : `${d.path}/`;
      const out: DirEntry[] = [];
      for (const n of nodes.values()) if (n.path !== '/' && n.path.startsWith(prefix) && !n.path.slice(prefix.length).includes('/')) out.push({ name: n.path.slice(prefix.length), ino: n.ino, type: n.node.type });
      return out;
    },
    readlink: async (p) => {
      const n = await resolve(tree, p, false, where);
      return n.node.type === 'symlink' ? n.node.target : fail(ErrorCode.ARGUMENT, p);
    },
    readFile: async (p) => {
      const n = await resolve(tree, p, true, where);
      return n.node.type === 'file' ? new TextEncoder().encode(n.node.data) : fail(ErrorCode.IS_DIRECTORY, p);
    },
    createReadStream: (p) =>
      new ReadableStream({
        start: async (c) => {
          const n = await resolve(tree, p, true, where);
          if (n.node.type !== 'file') fail(ErrorCode.IS_DIRECTORY, p);
          c.enqueue(new TextEncoder().encode((n.node as { data: string }).data));
          c.close();
        },
      }),
    statfs: async () => ({ type: 'mem', blockSize: 512, blocks: 0, freeBlocks: 0, reservedBlocks: 0, inodes: nodes.size, freeInodes: 0, features: [], state: { clean: true, errors: false, orphans: false, needsRecovery: false }, facts: {} }) as FsStats,
  };
}
