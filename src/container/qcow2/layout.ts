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
