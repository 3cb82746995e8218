import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import type { BlockDevice } from '../device/types.js';
import { probe } from './probe.js';
import { OPENERS } from './registry.js';
import type { Disk, OpenOptions, ProbeResult } from './types.js';

function refuse(dev: BlockDevice, probed: ProbeResult): never {
  const where = { layer: 'container' as const, format: probed.format, device: dev.label };
  if (probed.alsoMatched.length > 0) {
    throw new DiskProbeError(ErrorCode.UNKNOWN_FORMAT, `${probed.problem}; pass { format } to choose`, where);
  }
  if (probed.kind === 'encrypted') throw new DiskProbeError(ErrorCode.ENCRYPTED, probed.problem ?? 'encrypted', where);
  if (probed.kind !== 'disk') throw new DiskProbeError(ErrorCode.NOT_A_DISK, probed.problem ?? `a ${probed.format} file is not a disk image`, where);
  throw new DiskProbeError(
    ErrorCode.UNSUPPORTED,
    probed.problem ?? `this version of diskprobe does not read ${probed.format} images yet; pass { format: 'raw' } to read the file's bytes as they are`,
    where,
  );
}

/**
 * Opens a disk image: the guest-visible bytes, as a `Disk`. Without `options.format` the
 * source is probed first; a source that matches several formats, is not a disk image, is
 * encrypted, or is of a format this version does not read is refused with a `DiskProbeError`
 * that says why. With `options.format`, the source is read as that format and nothing else.
 */
export async function openDisk(dev: BlockDevice, options: OpenOptions = {}): Promise<Disk> {
  throwIfAborted(options.signal, { layer: 'container', device: dev.label });
  if (options.format !== undefined) {
    const opener = OPENERS[options.format];
    if (!opener) {
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, `this version of diskprobe does not read ${options.format} images`, {
        layer: 'container',
        format: options.format,
        device: dev.label,
      });
    }
    return opener(dev, options, undefined, openDisk);
  }
  const probed = await probe(dev, options);
  const opener = OPENERS[probed.format];
  if (!opener || probed.alsoMatched.length > 0 || probed.kind !== 'disk') {
    refuse(dev, probed);
  }
  return opener(dev, options, probed, openDisk);
}
