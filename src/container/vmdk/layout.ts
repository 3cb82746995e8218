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

/** SparseExtentHeader.gdOffset of a streamOptimized file whose grain directory follows the data: read the footer. */
export const GD_AT_END = 0xffffffffffffffffn;

/** Technote "Stream-Optimized Compressed Sparse Extents": marker types (MetaDataMarker.type). */
export const MarkerType = {
  EOS: 0,
  GT: 1,
  GD: 2,
  FOOTER: 3,
} as const;

/** A marker: `uint64 val` (sectors or lba), `uint32 size` (0 for metadata markers), then `type` or grain data. */
export const Marker = {
  val: 0,
  size: 8,
  type: 12,
  /** Compressed grain data starts here in a grain marker. */
  data: 12,
} as const;

/** What the technote and qemu allow. */
export const VmdkLimits = {
  /** Largest grain qemu opens: 2^16 sectors (32 MiB). */
  MAX_GRAIN_SECTORS: 65536,
  /** Largest grain table, in entries. */
  MAX_GTES_PER_GT: 65536,
  /** Grain directory bytes read at most (256 MiB of directory: far beyond any real disk). */
  MAX_GD_BYTES: 256 * 1024 * 1024,
  /** Extents in one descriptor. */
  MAX_EXTENTS: 4096,
} as const;
