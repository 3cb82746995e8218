/** qcow2 as the container registry sees it: open an image as a Disk. */
import type { BlockDevice } from '../../device/types.js';
import type { Disk, OpenOptions } from '../types.js';
import { Qcow2Image } from './reader.js';

export { Qcow2Image, type Snapshot } from './reader.js';
export { checkIntegrity, type IntegrityReport } from './integrity.js';

/** Opens the active image of a qcow2 file (or, with `snapshot`, one internal snapshot). */
export async function openQcow2(
  dev: BlockDevice,
  options: OpenOptions,
  openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>,
): Promise<Disk> {
  const image = await Qcow2Image.open(dev, options, openDisk);
  return options.snapshot === undefined ? image.disk() : image.snapshotDisk(options.snapshot, options.signal);
}
