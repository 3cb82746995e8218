/**
 * qcow2 on-disk structures. Reference: qemu `docs/interop/qcow2.rst` ("Header"), and for
 * version 1 qemu `block/qcow.c` (QCowHeader). All fields are big-endian.
 */

/** `QFI\xfb`, at offset 0 of every qcow version. */
export const QCOW_MAGIC = [0x51, 0x46, 0x49, 0xfb] as const;

/** qcow2.rst "Header": byte offsets of the fields common to versions 2 and 3. */
export const QCowHeader = {
  magic: 0,
  version: 4,
  backing_file_offset: 8,
  backing_file_size: 16,
  cluster_bits: 20,
  size: 24,
  crypt_method: 32,
  l1_size: 36,
  l1_table_offset: 40,
  refcount_table_offset: 48,
  refcount_table_clusters: 56,
  nb_snapshots: 60,
  snapshots_offset: 64,
  /** Length of the version 2 header. */
  V2_LENGTH: 72,
  // Version 3 only:
  incompatible_features: 72,
  compatible_features: 80,
  autoclear_features: 88,
  refcount_order: 96,
  header_length: 100,
  compression_type: 104,
  /** Smallest version 3 header. */
  V3_MIN_LENGTH: 104,
} as const;

/** qemu block/qcow.c: the version 1 header (big-endian). */
export const QCowV1Header = {
  magic: 0,
  version: 4,
  backing_file_offset: 8,
  backing_file_size: 16,
  mtime: 20,
  size: 24,
  cluster_bits: 32,
  l2_bits: 33,
  crypt_method: 36,
  l1_table_offset: 40,
  LENGTH: 48,
} as const;

/** qcow2.rst: values of `crypt_method`. */
export const CRYPT_METHODS: Record<number, string> = { 0: 'none', 1: 'aes', 2: 'luks' };

/** qcow2.rst: a backing file name is at most 1023 bytes. */
export const MAX_BACKING_NAME = 1023;

/** qcow2.rst "Header": incompatible feature bits. */
export const Incompatible = { dirty: 0, corrupt: 1, externalDataFile: 2, compressionType: 3, extendedL2: 4 } as const;
/** The incompatible bits this reader understands; any other set bit refuses the image. */
export const KNOWN_INCOMPATIBLE = 0b11111;
/** qcow2.rst "Header": compatible and autoclear feature bits. */
export const Compatible = { lazyRefcounts: 0 } as const;
export const Autoclear = { bitmaps: 0, rawExternalData: 1 } as const;
/** qcow2.rst "Additional fields": compression_type values. */
export const COMPRESSION_TYPES: Record<number, 'deflate' | 'zstd'> = { 0: 'deflate', 1: 'zstd' };

/** qcow2.rst "Header extensions": extension type codes. */
export const Extension = {
  end: 0x00000000,
  backingFormat: 0xe2792aca,
  featureNameTable: 0x6803f857,
  bitmaps: 0x23852875,
  fullDiskEncryption: 0x0537be77,
  externalDataFile: 0x44415441,
} as const;
/** qcow2.rst "Feature name table": one 48-byte entry per name. */
export const FeatureNameEntry = { type: 0, bit: 1, name: 2, NAME_LENGTH: 46, LENGTH: 48 } as const;
/** qcow2.rst "Bitmaps extension" data. */
export const BitmapsExtension = { nb_bitmaps: 0, bitmap_directory_size: 8, bitmap_directory_offset: 16, LENGTH: 24 } as const;
/** qcow2.rst "Full disk encryption header pointer" data. */
export const FdeExtension = { offset: 0, length: 8, LENGTH: 16 } as const;

/** qcow2.rst "Snapshots": a snapshot table entry (variable length; fixed part first). */
export const SnapshotEntry = {
  l1_table_offset: 0,
  l1_size: 8,
  id_str_size: 12,
  name_size: 14,
  date_sec: 16,
  date_nsec: 20,
  vm_clock_nsec: 24,
  vm_state_size: 32,
  extra_data_size: 36,
  FIXED_LENGTH: 40,
  // Extra data, relative to the entry:
  vm_state_size_large: 40,
  disk_size: 48,
  icount: 56,
} as const;

/**
 * L1 and L2 entries (qcow2.rst "Cluster mapping"), split into their big-endian 32-bit halves:
 * `hi` holds bits 32-63, `lo` bits 0-31.
 */
export const EntryBits = {
  /** Bit 63 (in hi): refcount is exactly one ("copied"). */
  COPIED_HI: 0x8000_0000,
  /** Bit 62 (in hi): compressed cluster. */
  COMPRESSED_HI: 0x4000_0000,
  /** Bits 9-31 of the host offset (in lo). */
  OFFSET_LO: 0xffff_fe00,
  /** Bits 32-55 of the host offset (in hi). */
  OFFSET_HI: 0x00ff_ffff,
  /** Bit 0 (in lo) of a standard descriptor: reads as zeros (v3 without extended L2). */
  ZERO_LO: 0x1,
  /** Reserved bits of an L1 entry: 1-8 (lo) and 56-62 (hi). */
  L1_RESERVED_LO: 0x1fe,
  L1_RESERVED_HI: 0x7f00_0000,
  /** Reserved bits of a standard L2 descriptor: 1-8 (lo) and 56-61 (hi). */
  L2_RESERVED_LO: 0x1fe,
  L2_RESERVED_HI: 0x3f00_0000,
} as const;

/** Bits 9-55 of an L1 entry, standard L2 descriptor or bitmap table entry: a host offset. */
export function hostOffset(hi: number, lo: number): number {
  return (hi & EntryBits.OFFSET_HI) * 0x1_0000_0000 + ((lo & EntryBits.OFFSET_LO) >>> 0);
}

/**
 * qcow2.rst "Compressed Clusters Descriptor": with x = 62 - (cluster_bits - 8), bits 0..x-1
 * are the host offset and bits x..61 the number of further 512-byte sectors. Returns the
 * offset and the byte length up to the end of the last sector (the offset need not be
 * aligned). The offset may pass 2^53 only in a crafted entry; callers check it.
 */
export function compressedDescriptor(hi: number, lo: number, clusterBits: number): { host: number; length: number } {
  const hiOffsetBits = 62 - (clusterBits - 8) - 32;
  const host = (hi & ((1 << hiOffsetBits) - 1)) * 0x1_0000_0000 + (lo >>> 0);
  const sectors = (hi >>> hiOffsetBits) & ((1 << (clusterBits - 8)) - 1);
  return { host, length: (sectors + 1) * 512 - (host % 512) };
}

/** qemu's implementation limits, which this reader adopts (qemu block/qcow2.h). */
export const Limits = {
  /** QCOW_MAX_L1_SIZE: 32 MiB of L1 table. */
  MAX_L1_BYTES: 32 * 1024 * 1024,
  /** QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table. */
  MAX_REFTABLE_BYTES: 8 * 1024 * 1024,
  /** QCOW_MAX_SNAPSHOTS. */
  MAX_SNAPSHOTS: 65536,
  /** QCOW_MAX_SNAPSHOT_EXTRA_DATA. */
  MAX_SNAPSHOT_EXTRA_DATA: 1024,
  /** QCOW_MAX_SNAPSHOTS_SIZE: the whole snapshot table. */
  MAX_SNAPSHOTS_BYTES: 64 * 1024 * 1024,
  /** Smallest and largest cluster_bits qemu opens. */
  MIN_CLUSTER_BITS: 9,
  MAX_CLUSTER_BITS: 21,
  /** Extended L2 entries need clusters of at least 16 KiB. */
  MIN_EXTENDED_L2_CLUSTER_BITS: 14,
  /** Feature name table entries and unknown extensions listed, at most. */
  MAX_EXTENSIONS: 64,
} as const;
