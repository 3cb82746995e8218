/** qcow2 as the container registry sees it: open an image as a Disk. */
import type { BlockDevice } from '../../device/types.js';
import type { Disk, OpenOptions } from '../types.js';
import { cached } from '../../device/cached.js';
import { Qcow2Image } from './reader.js';

export { Qcow2Image, type Snapshot } from './reader.js';
export { checkIntegrity, type IntegrityReport } from './integrity.js';

/**
 * Compressed clusters are a few KiB each and stored one after another: read through a block
 * cache, eight or more of them cost one device read (bench: zstd at depth 1 from 242 to 380
 * MB/s). Uncompressed data is read straight from the device. The cache reuses its buffers and
 * the reader reads runs into pooled ones, so a scan of a compressed image allocates nothing
 * per cluster once warm.
 */
const COMPRESSED_CACHE = { blockSize: 512 * 1024, maxBytes: 4 * 1024 * 1024, reuse: true };

/** Opens the active image of a qcow2 file (or, with `snapshot`, one internal snapshot). */
export async function openQcow2(
  dev: BlockDevice,
  options: OpenOptions,
  openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>,
): Promise<Disk> {
  const image = await Qcow2Image.open(dev, options, openDisk, cached(dev, COMPRESSED_CACHE));
  return options.snapshot === undefined ? image.disk() : image.snapshotDisk(options.snapshot, options.signal);
}
