/**
 * The guest's own view of its files: several filesystems mounted on one tree, as the guest's
 * fstab puts them. Paths resolve component by component across mount points, with symbolic
 * links followed inside the guest: an absolute target starts again from the guest's `/`, `..`
 * never climbs above it (nor out of a mount except into the directory it is mounted on), and
 * more than 40 links in one resolution is `E_SYMLINK_LOOP`. It is a `FileSystem`, so the calls
 * that work on one filesystem work on the guest.
 */
import type { Finding } from '../container/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { resolve, type Tree } from '../fs/path.js';
import type { DirEntry, FileSystem, FsStats, ReadFileOptions, Stats, StreamOptions } from '../fs/types.js';

/** A filesystem mounted at a directory of the guest. */
export interface MountedFileSystem {
  /** Where: `/`, `/boot`, `/var/lib/data` (absolute, no trailing slash but for `/`). */
  path: string;
  fs: FileSystem;
  /** What it is, for messages: the volume id. */
  source: string;
}

/** A node of the guest tree: a file of one mounted filesystem, by its path there. */
interface Node {
  mount: MountedFileSystem;
  /** Path inside `mount.fs`, with no symlinks in it. */
  path: string;
  /** Path in the guest. */
  guestPath: string;
  stats: Stats;
  /** A directory that exists only on the way to a mount point (the filesystem below lacks it). */
  virtual?: boolean;
}

const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Normalises a mount point: absolute, `.`/`..`/empty components removed; undefined if not absolute. */
export function normaliseMountPath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return `/${parts.join('/')}`;
}

export class GuestFileSystem implements FileSystem {
  readonly type = 'guest';
  readonly label: string;
  readonly caseInsensitive = false;
  readonly findings: readonly Finding[];
  private readonly mounts = new Map<string, MountedFileSystem>();
  private readonly roots = new Map<string, Promise<Node>>();
  private readonly tree: Tree<Node>;

  /** `mounts` must include one at `/`; a later mount at the same path hides an earlier one. */
  constructor(mounts: readonly MountedFileSystem[], label = 'guest') {
    for (const m of mounts) {
      const path = normaliseMountPath(m.path);
      if (path === undefined) throw new DiskProbeError(ErrorCode.ARGUMENT, 'a mount point must be an absolute path', { layer: 'fs', format: 'guest', device: label, value: m.path });
      this.mounts.set(path, { ...m, path });
    }
    if (!this.mounts.has('/')) throw new DiskProbeError(ErrorCode.ARGUMENT, 'no filesystem is mounted at /', { layer: 'fs', format: 'guest', device: label });
    this.label = label;
    this.findings = mounts.flatMap((m) => m.fs.findings);
    this.tree = {
      root: () => this.mountRoot(this.mounts.get('/')!),
      lookup: (dir, name) => this.lookup(dir, name),
      isDirectory: (n) => n.stats.type === 'directory',
      isSymlink: (n) => n.stats.type === 'symlink',
      readlink: (n) => n.mount.fs.readlink(n.path),
    };
  }

  /** The mounted filesystems, `/` first, then by path. */
  get mounted(): MountedFileSystem[] {
    return [...this.mounts.values()].sort((a, b) => (a.path === '/' ? -1 : b.path === '/' ? 1 : a.path < b.path ? -1 : 1));
  }

  private mountRoot(m: MountedFileSystem): Promise<Node> {
    let root = this.roots.get(m.path);
    if (!root) {
      root = m.fs.stat('/').then((stats) => ({ mount: m, path: '/', guestPath: m.path, stats }));
      root.catch(() => this.roots.delete(m.path));
      this.roots.set(m.path, root);
    }
    return root;
  }

  private async lookup(dir: Node, name: string): Promise<Node | undefined> {
    const guestPath = join(dir.guestPath, name);
    const mounted = this.mounts.get(guestPath);
    if (mounted) return this.mountRoot(mounted);
    const path = join(dir.path, name);
    try {
      if (!dir.virtual) return { mount: dir.mount, path, guestPath, stats: await dir.mount.fs.lstat(path) };
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code !== ErrorCode.NOT_FOUND) throw e;
    }
    // Missing, but on the way to a mount point: systemd creates such directories when it mounts.
    const prefix = `${guestPath}/`;
    for (const mountPath of this.mounts.keys()) {
      if (mountPath.startsWith(prefix)) return { mount: dir.mount, path, guestPath, stats: { ...dir.stats, type: 'directory', ino: 0, nlink: 2, size: 0 }, virtual: true };
    }
    return undefined;
  }

  private node(path: string, follow: boolean): Promise<Node> {
    return resolve(this.tree, path, follow, { format: 'guest', device: this.label });
  }

  /** Which mounted filesystem a guest path lies on, and its path there (symlinks followed). */
  async locate(path: string): Promise<{ mount: MountedFileSystem; path: string }> {
    const n = await this.node(path, true);
    return { mount: n.mount, path: n.path };
  }

  async stat(path: string): Promise<Stats> {
    return (await this.node(path, true)).stats;
  }

  async lstat(path: string): Promise<Stats> {
    return (await this.node(path, false)).stats;
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const n = await this.node(path, true);
    const entries = n.virtual ? [] : await n.mount.fs.readdir(n.path);
    // Mount points hide what is under them and appear even where the directory is missing.
    const prefix = n.guestPath === '/' ? '/' : `${n.guestPath}/`;
    const here = new Map(entries.map((e) => [e.name, e]));
    for (const [mountPath, m] of this.mounts) {
      if (mountPath === '/' || !mountPath.startsWith(prefix)) continue;
      const name = mountPath.slice(prefix.length);
      if (name.includes('/')) continue;
      const root = await this.mountRoot(m);
      here.set(name, { name, ino: root.stats.ino, type: 'directory' });
    }
    return [...here.values()];
  }

  async readlink(path: string): Promise<string> {
    const n = await this.node(path, false);
    return n.mount.fs.readlink(n.path);
  }

  async readFile(path: string, options?: ReadFileOptions): Promise<Uint8Array> {
    const n = await this.node(path, true);
    if (n.virtual) throw new DiskProbeError(ErrorCode.IS_DIRECTORY, 'is a directory', { layer: 'fs', format: 'guest', device: this.label, value: path });
    return n.mount.fs.readFile(n.path, options);
  }

  createReadStream(path: string, options: StreamOptions = {}): ReadableStream<Uint8Array> {
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        const n = await this.node(path, true);
        reader = n.mount.fs.createReadStream(n.path, options).getReader();
      },
      pull: async (controller) => {
        const { done, value } = await reader!.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader?.cancel(reason),
    });
  }

  /** The root filesystem's figures. */
  statfs(): Promise<FsStats> {
    return this.mounts.get('/')!.fs.statfs();
  }
}
