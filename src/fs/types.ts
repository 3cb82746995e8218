/**
 * The filesystem layer (DESIGN.md, "Filesystems"): one interface every reader implements, with
 * POSIX paths inside the filesystem. Everything is read-only and asynchronous.
 */
import type { Finding } from '../container/types.js';

/** What an inode is. */
export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket' | 'unknown';

/** A time as the filesystem stores it: whole seconds since 1970 and nanoseconds. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** What `stat` and `lstat` return. */
export interface Stats {
  /** Inode number (or the filesystem's equivalent). */
  ino: number;
  type: FileType;
  /** The full mode: type bits and permissions, as `st_mode`. */
  mode: number;
  /** Permission bits, `mode & 0o7777`. */
  permissions: number;
  uid: number;
  gid: number;
  /** Size in bytes (for a symlink: the target's length). */
  size: number;
  nlink: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
  /** Creation time, where the filesystem records one. */
  birthtime?: Timestamp;
  /** Bytes of storage allocated (sparse files use fewer than their size). */
  allocated?: number;
  /** Inode flags by name (`immutable`, `append`, `extents`, …). */
  flags: string[];
  /** The flags as stored. */
  rawFlags: number;
  /** Device numbers of character and block devices. */
  rdev?: { major: number; minor: number };
}

/** One directory entry. */
export interface DirEntry {
  name: string;
  ino: number;
  /** The type the directory records (or, where it records none, the inode's). */
  type: FileType;
}

/** What `statfs` returns. */
export interface FsStats {
  /** `ext2`, `ext3`, `ext4`, … as blkid names it. */
  type: string;
  blockSize: number;
  blocks: number;
  freeBlocks: number;
  /** Blocks reserved for the superuser. */
  reservedBlocks: number;
  inodes: number;
  freeInodes: number;
  label?: string;
  uuid?: string;
  /** Feature names, as the filesystem's own tools print them. */
  features: string[];
  /** Whether it was cleanly unmounted, and what else its state says. */
  state: { clean: boolean; errors: boolean; orphans: boolean; needsRecovery: boolean };
  lastMountTime?: Timestamp;
  lastMountPath?: string;
  lastWriteTime?: Timestamp;
  createdTime?: Timestamp;
  /** Filesystem-specific facts (revision, inode size, mount count, …). */
  facts: Record<string, unknown>;
}

/** Options of `readFile`. */
export interface ReadFileOptions {
  /** Refuse files larger than this (E_LIMIT). Default 256 MiB; use a stream for larger ones. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** Options of `createReadStream`. */
export interface StreamOptions {
  /** First byte (default 0) and end (exclusive; default the file's size). */
  start?: number;
  end?: number;
  /** Bytes per chunk. Default 1 MiB. */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** A filesystem, read-only, addressed by POSIX paths from its root. */
export interface FileSystem {
  /** `ext4`, `xfs`, `ntfs`, `vfat`, … */
  readonly type: string;
  /** The label of the device it was read from. */
  readonly label: string;
  /** Whether names are compared without regard to case (NTFS, FAT). */
  readonly caseInsensitive: boolean;
  /** What the reader noticed on opening (a backup superblock used, a journal to replay, …). */
  readonly findings: readonly Finding[];
  /** Follows symlinks (inside this filesystem only). */
  stat(path: string): Promise<Stats>;
  /** Does not follow a symlink in the last component. */
  lstat(path: string): Promise<Stats>;
  /** The entries of a directory, without `.` and `..`, in the order stored. */
  readdir(path: string): Promise<DirEntry[]>;
  readlink(path: string): Promise<string>;
  /**
   * A whole file. Like a device's reads, the result may share memory with the device or a
   * cache: treat it as read-only, and copy it to change it.
   */
  readFile(path: string, options?: ReadFileOptions): Promise<Uint8Array>;
  /** A file's bytes in chunks (each, like `readFile`'s result, read-only). */
  createReadStream(path: string, options?: StreamOptions): ReadableStream<Uint8Array>;
  statfs(): Promise<FsStats>;
}
