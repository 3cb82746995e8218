/**
 * What every inode-based reader (ext, XFS, …) does the same way: resolving paths, and the
 * FileSystem methods built on four questions a reader answers about its own inodes — their
 * stat, a directory's entries, a symlink's target, and a range of a file's bytes.
 */
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import type { Finding } from '../container/types.js';
import { cached } from '../device/cached.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { resolve, type Tree } from './path.js';
import type { DirEntry, FileSystem, FileType, FsStats, ReadFileOptions, Stats, StreamOptions } from './types.js';

/** Findings of one kind kept (a damaged table can fail thousands of checksums). */
const MAX_FINDINGS_PER_CODE = 32;

/**
 * The block cache a reader's metadata (inode tables, directories, mapping blocks) is read
 * through: 64 KiB blocks, since those structures lie in long runs; large file reads pass it by.
 */
export function metadataCache(dev: BlockDevice, fsBlockSize: number): BlockDevice {
  return cached(dev, { blockSize: Math.max(64 * 1024, fsBlockSize), maxBytes: 32 * 1024 * 1024 });
}

/** `readFile`'s limit when the caller gives none. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

const TYPE_OF_MODE: Record<number, FileType> = { 0x8: 'file', 0x4: 'directory', 0xa: 'symlink', 0x2: 'char', 0x6: 'block', 0x1: 'fifo', 0xc: 'socket' };

/** The file type of a POSIX mode (its S_IFMT bits). */
export function fileTypeOfMode(mode: number): FileType {
  return TYPE_OF_MODE[mode >>> 12] ?? 'unknown';
}

/** What the shared methods need of an inode. */
export interface ModeAndSize {
  mode: number;
  size: number;
}

export abstract class InodeFileSystem<N extends ModeAndSize> implements FileSystem {
  abstract readonly type: string;
  readonly caseInsensitive: boolean = false;
  readonly findings: Finding[] = [];
  /** The format named in errors (`ext`, `xfs`). */
  protected abstract readonly format: string;
  protected abstract readonly tree: Tree<N>;

  constructor(readonly label: string) {}

  /** Bytes of directory data read for one directory, and entries one directory may list. */
  protected maxDirectoryBytes: number = DEFAULT_LIMITS.maxDirectoryBytes;
  protected maxDirectoryEntries: number = DEFAULT_LIMITS.maxDirectoryEntries;

  /** @internal Sets the directory limits (`openFileSystem` passes its options here). */
  configure(limits: Pick<Limits, 'maxDirectoryBytes' | 'maxDirectoryEntries'>): this {
    if (limits.maxDirectoryBytes !== undefined) this.maxDirectoryBytes = limits.maxDirectoryBytes;
    if (limits.maxDirectoryEntries !== undefined) this.maxDirectoryEntries = limits.maxDirectoryEntries;
    return this;
  }

  protected abstract statOf(node: N): Stats;
  protected abstract entries(dir: N): Promise<Map<string, DirEntry>>;
  protected abstract linkTarget(node: N): Promise<string>;
  protected abstract readData(node: N, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  abstract statfs(): Promise<FsStats>;

  /** Records an error finding once per code and offset, at most MAX_FINDINGS_PER_CODE of a code. */
  protected note(code: string, message: string, offset: number): void {
    if (this.findings.some((f) => f.code === code && f.offset === offset)) return;
    if (this.findings.filter((f) => f.code === code).length >= MAX_FINDINGS_PER_CODE) return;
    this.findings.push({ severity: 'error', code, message, offset });
  }

  private fail(code: ErrorCode, reason: string, path: string): never {
    throw new DiskProbeError(code, reason, { layer: 'fs', format: this.format, device: this.label, value: path });
  }

  protected resolve(path: string, follow: boolean): Promise<N> {
    return resolve(this.tree, path, follow, { format: this.format, device: this.label });
  }

  async stat(path: string): Promise<Stats> {
    return this.statOf(await this.resolve(path, true));
  }

  async lstat(path: string): Promise<Stats> {
    return this.statOf(await this.resolve(path, false));
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const dir = await this.resolve(path, true);
    if (fileTypeOfMode(dir.mode) !== 'directory') this.fail(ErrorCode.NOT_DIRECTORY, 'not a directory', path);
    const entries = await this.entries(dir);
    if (entries.size > this.maxDirectoryEntries) this.fail(ErrorCode.LIMIT, `directory of ${entries.size} entries (maxDirectoryEntries is ${this.maxDirectoryEntries})`, path);
    return [...entries.values()];
  }

  async readlink(path: string): Promise<string> {
    const node = await this.resolve(path, false);
    if (fileTypeOfMode(node.mode) !== 'symlink') this.fail(ErrorCode.ARGUMENT, 'not a symbolic link', path);
    return this.linkTarget(node);
  }

  private async regular(path: string): Promise<N> {
    const node = await this.resolve(path, true);
    const type = fileTypeOfMode(node.mode);
    if (type === 'directory') this.fail(ErrorCode.IS_DIRECTORY, 'is a directory', path);
    if (type !== 'file') this.fail(ErrorCode.ARGUMENT, `not a regular file (a ${type})`, path);
    return node;
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
    const node = await this.regular(path);
    const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (node.size > max) this.fail(ErrorCode.LIMIT, `file of ${node.size} bytes is larger than maxBytes (${max}); read it with createReadStream`, path);
    return this.readData(node, 0, node.size, options.signal);
  }

  createReadStream(path: string, options: StreamOptions = {}): ReadableStream<Uint8Array> {
    const chunk = options.chunkSize ?? 1024 * 1024;
    let node: N | undefined;
    let pos = 0;
    let end = 0;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        node = await this.regular(path);
        pos = Math.max(0, Math.min(options.start ?? 0, node.size));
        end = Math.max(pos, Math.min(options.end ?? node.size, node.size));
      },
      pull: async (controller) => {
        if (pos >= end) return controller.close();
        const n = Math.min(chunk, end - pos);
        const bytes = await this.readData(node!, pos, n, options.signal);
        pos += n;
        controller.enqueue(bytes);
        if (pos >= end) controller.close();
      },
    });
  }
}
