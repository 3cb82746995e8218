/**
 * VMDK on-disk structures. References: VMware "Virtual Disk Format 5.0" technote, sections
 * "Hosted Sparse Extent Header" and "ESX Server Sparse Extent Header"; libyal libvmdk
 * documentation "VMWare Virtual Disk Format (VMDK)". All fields are little-endian.
 */

/** `KDMV`: the hosted sparse extent header (SparseExtentHeader). */
export const SPARSE_MAGIC = [0x4b, 0x44, 0x4d, 0x56] as const;
/** `COWD`: the ESX Server sparse extent header (COWDisk_Header), used by vmfsSparse. */
export const COWD_MAGIC = [0x43, 0x4f, 0x57, 0x44] as const;

/** Technote "Hosted Sparse Extent Header": SparseExtentHeader field offsets. */
export const SparseExtentHeader = {
  magicNumber: 0,
  version: 4,
  flags: 8,
  capacity: 12,
  grainSize: 20,
  descriptorOffset: 28,
  descriptorSize: 36,
  numGTEsPerGT: 44,
  rgdOffset: 48,
  gdOffset: 56,
  overHead: 64,
  uncleanShutdown: 72,
  singleEndLineChar: 73,
  nonEndLineChar: 74,
  doubleEndLineChar1: 75,
  doubleEndLineChar2: 76,
  compressAlgorithm: 77,
  LENGTH: 512,
} as const;

/** SparseExtentHeader.flags bits. */
export const SparseFlags = {
  validNewLineDetection: 1 << 0,
  redundantGrainTable: 1 << 1,
  zeroedGrainTableEntries: 1 << 2,
  compressedGrains: 1 << 16,
  markers: 1 << 17,
} as const;

/** Technote "ESX Server Sparse Extent Header": COWDisk_Header field offsets. */
export const COWDiskHeader = {
  magicNumber: 0,
  version: 4,
  flags: 8,
  numSectors: 12,
  grainSize: 16,
  gdOffset: 20,
  numGDEntries: 24,
  freeSector: 28,
  LENGTH: 2048,
} as const;

/** Longest embedded or standalone descriptor diskprobe reads. */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;
