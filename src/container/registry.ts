/**
 * The ordered probe registry, and the formats `openDisk` can read. Binary headers at offset 0
 * come first, then footers, then text, raw last.
 */
import { isoProbe } from './other/iso.js';
import { luksProbe, parallelsProbe, qedProbe, vdiProbe } from './other/named.js';
import { bzip2Probe, gzipProbe, xzProbe, zipProbe, zstdProbe } from './other/compressed.js';
import { tarProbe } from './other/tar.js';
import { qcowProbe } from './qcow2/probe.js';
import { openQcow2 } from './qcow2/index.js';
import { openRaw, rawProbe } from './raw/index.js';
import { vhdProbe } from './vhd/probe.js';
import { vhdxProbe } from './vhdx/probe.js';
import { vmdkDescriptorProbe, vmdkProbe } from './vmdk/probe.js';
import { openVmdk } from './vmdk/index.js';
import { openVhd } from './vhd/reader.js';
import { openVhdx } from './vhdx/reader.js';
import type { BlockDevice } from '../device/types.js';
import type { Disk, FormatName, FormatProbe, OpenOptions, ProbeResult } from './types.js';

/** Every probe but raw, in the order they are tried. */
export const PROBES: readonly FormatProbe[] = [
  qcowProbe,
  vhdxProbe,
  vmdkProbe,
  vdiProbe,
  qedProbe,
  parallelsProbe,
  luksProbe,
  vhdProbe,
  isoProbe,
  gzipProbe,
  xzProbe,
  zstdProbe,
  bzip2Probe,
  zipProbe,
  tarProbe,
  vmdkDescriptorProbe,
];

/** The fallback when no container matched. */
export const FALLBACK_PROBE: FormatProbe = rawProbe;

/**
 * Opens a source of a given format as a Disk. `openDisk` is passed in so that formats with
 * backing files can open them without importing the registry.
 */
export type Opener = (
  dev: BlockDevice,
  options: OpenOptions,
  probed: ProbeResult | undefined,
  openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>,
) => Promise<Disk>;

/** The formats this version reads. Later formats register here. */
export const OPENERS: Partial<Record<FormatName, Opener>> = {
  raw: async (dev, _options, probed) => openRaw(dev, probed?.subformat),
  qcow2: (dev, options, _probed, openDisk) => openQcow2(dev, options, openDisk),
  vmdk: (dev, options, _probed, openDisk) => openVmdk(dev, options, openDisk),
  vhd: (dev, options, _probed, openDisk) => openVhd(dev, options, openDisk),
  vhdx: (dev, options, _probed, openDisk) => openVhdx(dev, options, openDisk),
};
