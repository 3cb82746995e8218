/**
 * POSIX path resolution over any filesystem's inodes: components looked up one by one, `.` and
 * `..` handled on the way (`..` of the root is the root), symbolic links followed inside the
 * filesystem (an absolute target starts again from the filesystem's root, never the host's),
 * at most MAX_SYMLINKS of them per resolution, as Linux allows.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';

export const MAX_SYMLINKS = 40;
/** Longest path accepted (Linux's PATH_MAX). */
export const MAX_PATH = 4096;

/** What resolution needs of a filesystem. */
export interface Tree<N> {
  root(): Promise<N>;
  /** The child named `name` of directory `dir`, or undefined. */
  lookup(dir: N, name: string): Promise<N | undefined>;
  isDirectory(node: N): boolean;
  isSymlink(node: N): boolean;
  readlink(node: N): Promise<string>;
}

/** Where errors come from. */
export interface PathWhere {
  format: string;
  device: string;
}

function fail(code: ErrorCode, reason: string, path: string, where: PathWhere): never {
  throw new DiskProbeError(code, reason, { layer: 'fs', format: where.format, device: where.device, value: path });
}

/**
 * Resolves `path` (absolute, or relative to the root) to a node. With `followLast` false, a
 * symlink in the last component is returned as itself (lstat, readlink).
 */
export async function resolve<N>(tree: Tree<N>, path: string, followLast: boolean, where: PathWhere): Promise<N> {
  if (typeof path !== 'string') throw new DiskProbeError(ErrorCode.ARGUMENT, 'path must be a string', { layer: 'fs', format: where.format, device: where.device });
  if (path.length > MAX_PATH) fail(ErrorCode.ARGUMENT, `path longer than ${MAX_PATH} characters`, path.slice(0, 64), where);
  const root = await tree.root();
  // The nodes from the root to where we are: `..` pops one.
  const stack: N[] = [root];
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    const here = stack[stack.length - 1]!;
    if (!tree.isDirectory(here)) fail(ErrorCode.NOT_DIRECTORY, 'a component of the path is not a directory', path, where);
    if (name === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const next = await tree.lookup(here, name);
    if (next === undefined) fail(ErrorCode.NOT_FOUND, 'no such file or directory', path, where);
    if (tree.isSymlink(next) && (pending.length > 0 || followLast)) {
      if (++links > MAX_SYMLINKS) fail(ErrorCode.SYMLINK_LOOP, `more than ${MAX_SYMLINKS} symbolic links (a loop)`, path, where);
      const target = await tree.readlink(next);
      if (target.length === 0) fail(ErrorCode.NOT_FOUND, 'a symbolic link with an empty target', path, where);
      if (target.startsWith('/')) stack.length = 1;
      pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
      continue;
    }
    stack.push(next);
  }
  return stack[stack.length - 1]!;
}
