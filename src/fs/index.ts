/**
 * The filesystem layer: `openFileSystem(volume)` recognises what a volume holds and opens it
 * with the reader for it. This version reads ext2, ext3, ext4, XFS, FAT12/16/32 and NTFS.
 */
import type { Limits } from '../limits.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { probeContent } from '../volume/content.js';
import { ExtFileSystem } from './ext/reader.js';
import { XfsFileSystem } from './xfs/reader.js';
import { FatFileSystem } from './fat/reader.js';
import { NtfsFileSystem } from './ntfs/reader.js';
import type { FileSystem } from './types.js';

export type { DirEntry, FileSystem, FileType, FsStats, ReadFileOptions, Stats, StreamOptions, Timestamp } from './types.js';
export { ExtFileSystem } from './ext/reader.js';
export { XfsFileSystem } from './xfs/reader.js';
export { FatFileSystem } from './fat/reader.js';
export { NtfsFileSystem } from './ntfs/reader.js';

/** The volume content types (as `probeContent` names them) that {@link openFileSystem} reads. */
export const READABLE_FILESYSTEMS: readonly string[] = ['ext2', 'ext3', 'ext4', 'ext4dev', 'xfs', 'vfat', 'ntfs'];

/** Options of {@link openFileSystem}. */
export interface OpenFileSystemOptions extends Pick<Limits, 'maxDirectoryBytes' | 'maxDirectoryEntries'> {
  signal?: AbortSignal;
}

/** Opens the filesystem on a volume (or any device), or says why it cannot. */
export async function openFileSystem(volume: BlockDevice, options: OpenFileSystemOptions = {}): Promise<FileSystem> {
  const fs = await openReader(volume, options);
  return fs.configure(options);
}

async function openReader(volume: BlockDevice, options: OpenFileSystemOptions): Promise<ExtFileSystem | XfsFileSystem | FatFileSystem | NtfsFileSystem> {
  const content = await probeContent(volume, undefined, options.signal);
  switch (content.type) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
    case 'ext4dev':
      return ExtFileSystem.open(volume, options.signal);
    case 'xfs':
      return XfsFileSystem.open(volume, options.signal);
    case 'vfat':
      return FatFileSystem.open(volume, options.signal);
    case 'ntfs':
      return NtfsFileSystem.open(volume, options.signal);
    default:
      // A damaged primary superblock: let the ext reader look for its backup.
      // A damaged NTFS boot sector: let the NTFS reader look for the backup at the volume's end.
      if (content.type === 'unknown' || content.type === 'zero') {
        try {
          return await ExtFileSystem.open(volume, options.signal);
        } catch (e) {
          if (!(e instanceof DiskProbeError) || e.code !== ErrorCode.BAD_MAGIC) throw e;
        }
        try {
          return await NtfsFileSystem.open(volume, options.signal);
        } catch (e) {
          if (!(e instanceof DiskProbeError) || (e.code !== ErrorCode.BAD_MAGIC && e.code !== ErrorCode.CORRUPT && e.code !== ErrorCode.TRUNCATED) || e.structure !== 'NTFS boot sector') throw e;
        }
      }
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, content.type === 'unknown' || content.type === 'zero' ? 'no filesystem diskprobe reads was found' : `${content.type} is not read by this version of diskprobe`, {
        layer: 'fs',
        format: content.type,
        device: volume.label,
      });
  }
}
