/**
 * qcow2 header and header extensions: decoded, then validated, then interpreted.
 * Reference: qemu docs/interop/qcow2.rst, "Header", "Additional fields", "Header extensions",
 * "Feature name table", "Bitmaps extension", "Full disk encryption header pointer".
 */
import { DiskProbeError, ErrorCode, u64, type Where } from '../../errors.js';
import { hasBytes, latin1, viewOf } from '../../util/bytes.js';
import type { BlockDevice } from '../../device/types.js';
import {
  BitmapsExtension,
  COMPRESSION_TYPES,
  CRYPT_METHODS,
  Extension,
  FdeExtension,
  FeatureNameEntry,
  Incompatible,
  KNOWN_INCOMPATIBLE,
  Limits,
  MAX_BACKING_NAME,
  QCOW_MAGIC,
  QCowHeader as H,
} from './layout.js';

/** The header fields, with the specification's names. 64-bit feature masks stay bigints. */
export interface QCowHeaderFields {
  version: number;
  backing_file_offset: number;
  backing_file_size: number;
  cluster_bits: number;
  size: number;
  crypt_method: number;
  l1_size: number;
  l1_table_offset: number;
  refcount_table_offset: number;
  refcount_table_clusters: number;
  nb_snapshots: number;
  snapshots_offset: number;
  incompatible_features: bigint;
  compatible_features: bigint;
  autoclear_features: bigint;
  refcount_order: number;
  header_length: number;
  compression_type: number;
}

export interface FeatureName {
  type: 'incompatible' | 'compatible' | 'autoclear';
  bit: number;
  name: string;
}

export interface HeaderExtensions {
  backingFormat?: string;
  featureNames: FeatureName[];
  bitmaps?: { count: number; directorySize: number; directoryOffset: number };
  encryption?: { offset: number; length: number };
  dataFile?: string;
  /** Extensions this reader does not know, skipped. */
  unknown: { type: number; offset: number; length: number }[];
}

/** Everything read from the first cluster. */
export interface QCowHeaderInfo {
  fields: QCowHeaderFields;
  extensions: HeaderExtensions;
  backingFile?: string;
  clusterSize: number;
  extendedL2: boolean;
  compression: 'deflate' | 'zstd';
}

const FEATURE_TYPES = ['incompatible', 'compatible', 'autoclear'] as const;

/** Reads and checks the header in the first cluster of `dev`. Throws DiskProbeError. */
export async function readHeader(dev: BlockDevice, signal?: AbortSignal): Promise<QCowHeaderInfo> {
  const where: Where = { layer: 'container', format: 'qcow2', device: dev.label, structure: 'QCowHeader' };
  if (dev.size < H.V2_LENGTH) {
    throw new DiskProbeError(ErrorCode.TRUNCATED, `file of ${dev.size} bytes is shorter than a qcow2 header`, { ...where, offset: 0 });
  }
  const first = await dev.read(0, Math.min(dev.size, 4096), signal);
  if (!hasBytes(first, 0, QCOW_MAGIC)) {
    throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'not a qcow2 image', { ...where, field: 'magic', offset: 0, value: first.subarray(0, 4), expected: 'QFI\\xfb' });
  }
  const version = viewOf(first).getUint32(H.version);
  if (version >= 3 && first.length < H.V3_MIN_LENGTH) {
    throw new DiskProbeError(ErrorCode.TRUNCATED, `file of ${dev.size} bytes is shorter than a version 3 header`, { ...where, offset: 0 });
  }
  const fields = decodeFields(viewOf(first), where);
  validateFields(fields, dev.size, where);

  const clusterSize = 2 ** fields.cluster_bits;
  // Extensions and the backing file name live in the first cluster.
  const cluster = clusterSize <= first.length ? first.subarray(0, clusterSize) : await dev.read(0, Math.min(clusterSize, dev.size), signal);
  const extensions = readExtensions(cluster, fields, where);

  let backingFile: string | undefined;
  if (fields.backing_file_offset !== 0) {
    const end = fields.backing_file_offset + fields.backing_file_size;
    if (end > cluster.length) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'backing file name lies outside the first cluster', {
        ...where,
        field: 'backing_file_offset',
        offset: H.backing_file_offset,
        value: fields.backing_file_offset,
        expected: `name within [0, ${cluster.length})`,
      });
    }
    // Not NUL-terminated by the specification, but qemu stops at a NUL: so does diskprobe.
    const name = cluster.subarray(fields.backing_file_offset, end);
    const nul = name.indexOf(0);
    backingFile = new TextDecoder('utf-8', { fatal: false }).decode(nul >= 0 ? name.subarray(0, nul) : name);
  }

  const compression = COMPRESSION_TYPES[fields.compression_type]!;
  const info: QCowHeaderInfo = {
    fields,
    extensions,
    clusterSize,
    extendedL2: bit(fields.incompatible_features, Incompatible.extendedL2),
    compression,
  };
  if (backingFile !== undefined) info.backingFile = backingFile;
  return info;
}

/** Refuses an encrypted image: its metadata is readable, its guest data is not. */
export function refuseEncrypted(info: QCowHeaderInfo, where: Where): void {
  const method = info.fields.crypt_method;
  if (method === 0) return;
  throw new DiskProbeError(ErrorCode.ENCRYPTED, `encrypted image (${CRYPT_METHODS[method] ?? `method ${method}`}): diskprobe does not decrypt`, {
    ...where,
    structure: 'QCowHeader',
    field: 'crypt_method',
    offset: H.crypt_method,
    value: method,
  });
}

/** Whether bit `n` of a 64-bit mask is set. */
export function bit(mask: bigint, n: number): boolean {
  return ((mask >> BigInt(n)) & 1n) === 1n;
}

function decodeFields(view: DataView, where: Where): QCowHeaderFields {
  const field = (name: keyof typeof H) => ({ ...where, field: name, offset: H[name] });
  const version = view.getUint32(H.version);
  const v3 = version >= 3;
  const headerLength = v3 ? view.getUint32(H.header_length) : H.V2_LENGTH;
  return {
    version,
    backing_file_offset: u64(view, H.backing_file_offset, false, field('backing_file_offset')),
    backing_file_size: view.getUint32(H.backing_file_size),
    cluster_bits: view.getUint32(H.cluster_bits),
    size: u64(view, H.size, false, field('size')),
    crypt_method: view.getUint32(H.crypt_method),
    l1_size: view.getUint32(H.l1_size),
    l1_table_offset: u64(view, H.l1_table_offset, false, field('l1_table_offset')),
    refcount_table_offset: u64(view, H.refcount_table_offset, false, field('refcount_table_offset')),
    refcount_table_clusters: view.getUint32(H.refcount_table_clusters),
    nb_snapshots: view.getUint32(H.nb_snapshots),
    snapshots_offset: u64(view, H.snapshots_offset, false, field('snapshots_offset')),
    incompatible_features: v3 ? view.getBigUint64(H.incompatible_features) : 0n,
    compatible_features: v3 ? view.getBigUint64(H.compatible_features) : 0n,
    autoclear_features: v3 ? view.getBigUint64(H.autoclear_features) : 0n,
    refcount_order: v3 ? view.getUint32(H.refcount_order) : 4,
    header_length: headerLength,
    // qcow2.rst rule 3: a field beyond header_length is absent, which reads as zero.
    compression_type: v3 && headerLength > H.compression_type ? view.getUint8(H.compression_type) : 0,
  };
}

/** The named checks of qcow2.rst "Header", with qemu's implementation limits. */
function validateFields(f: QCowHeaderFields, fileSize: number, where: Where): void {
  const fail = (code: ErrorCode, reason: string, name: keyof typeof H, value: unknown, expected: string): never => {
    throw new DiskProbeError(code, reason, { ...where, field: name, offset: H[name], value, expected });
  };
  if (f.version === 1) fail(ErrorCode.UNSUPPORTED, 'qcow version 1 is not read; convert it with qemu-img convert -O qcow2', 'version', 1, '2 or 3');
  if (f.version !== 2 && f.version !== 3) fail(ErrorCode.UNSUPPORTED, 'unknown qcow2 version', 'version', f.version, '2 or 3');
  if (f.cluster_bits < Limits.MIN_CLUSTER_BITS || f.cluster_bits > Limits.MAX_CLUSTER_BITS) {
    fail(f.cluster_bits < Limits.MIN_CLUSTER_BITS ? ErrorCode.CORRUPT : ErrorCode.UNSUPPORTED, 'cluster size out of range', 'cluster_bits', f.cluster_bits, `${Limits.MIN_CLUSTER_BITS}..${Limits.MAX_CLUSTER_BITS}`);
  }
  if (f.version === 3) {
    if (f.header_length < H.V3_MIN_LENGTH || f.header_length % 8 !== 0) {
      fail(ErrorCode.CORRUPT, 'version 3 header length must be at least 104 and a multiple of 8', 'header_length', f.header_length, '>= 104, multiple of 8');
    }
    if (f.header_length > 2 ** f.cluster_bits) fail(ErrorCode.CORRUPT, 'header longer than a cluster', 'header_length', f.header_length, `<= ${2 ** f.cluster_bits}`);
    if (f.refcount_order > 6) fail(ErrorCode.CORRUPT, 'refcount width above 64 bits', 'refcount_order', f.refcount_order, '0..6');
  }
  if (f.backing_file_offset !== 0 && f.backing_file_size > MAX_BACKING_NAME) {
    fail(ErrorCode.CORRUPT, 'backing file name too long', 'backing_file_size', f.backing_file_size, `<= ${MAX_BACKING_NAME}`);
  }
  const clusterSize = 2 ** f.cluster_bits;
  const aligned = (name: keyof typeof H, value: number) => {
    if (value % clusterSize !== 0) fail(ErrorCode.CORRUPT, 'offset not aligned to a cluster', name, value, `a multiple of ${clusterSize}`);
  };
  aligned('l1_table_offset', f.l1_table_offset);
  aligned('refcount_table_offset', f.refcount_table_offset);
  if (f.nb_snapshots > 0) aligned('snapshots_offset', f.snapshots_offset);
  if (f.l1_size * 8 > Limits.MAX_L1_BYTES) fail(ErrorCode.LIMIT, 'L1 table larger than qemu allows', 'l1_size', f.l1_size, `<= ${Limits.MAX_L1_BYTES / 8}`);
  if (f.refcount_table_clusters * clusterSize > Limits.MAX_REFTABLE_BYTES) {
    fail(ErrorCode.LIMIT, 'refcount table larger than qemu allows', 'refcount_table_clusters', f.refcount_table_clusters, `<= ${Limits.MAX_REFTABLE_BYTES / clusterSize}`);
  }
  if (f.nb_snapshots > Limits.MAX_SNAPSHOTS) fail(ErrorCode.LIMIT, 'too many snapshots', 'nb_snapshots', f.nb_snapshots, `<= ${Limits.MAX_SNAPSHOTS}`);

  // The L1 table must be able to map the whole virtual size.
  const extended = f.version === 3 && bit(f.incompatible_features, Incompatible.extendedL2);
  const l2Entries = clusterSize / (extended ? 16 : 8);
  const needed = Math.ceil(f.size / (clusterSize * l2Entries));
  if (f.l1_size < needed) fail(ErrorCode.CORRUPT, `L1 table too small for the virtual size ${f.size}`, 'l1_size', f.l1_size, `>= ${needed}`);
  if (f.l1_size > 0 && f.l1_table_offset + f.l1_size * 8 > fileSize) {
    fail(ErrorCode.CORRUPT, 'L1 table runs past the end of the file', 'l1_table_offset', f.l1_table_offset, `table end <= file size ${fileSize}`);
  }
  if (f.l1_size > 0 && f.l1_table_offset === 0) fail(ErrorCode.CORRUPT, 'L1 table at offset 0 overlaps the header', 'l1_table_offset', 0, `> 0`);

  // Unknown incompatible bits are refused in readExtensions, once the feature name table is read.
  if (extended && f.cluster_bits < Limits.MIN_EXTENDED_L2_CLUSTER_BITS) {
    fail(ErrorCode.CORRUPT, 'extended L2 entries need clusters of 16 KiB or more', 'cluster_bits', f.cluster_bits, `>= ${Limits.MIN_EXTENDED_L2_CLUSTER_BITS}`);
  }
  const compressionBit = bit(f.incompatible_features, Incompatible.compressionType);
  if (COMPRESSION_TYPES[f.compression_type] === undefined) {
    fail(ErrorCode.UNSUPPORTED, 'unknown compression type', 'compression_type', f.compression_type, '0 (deflate) or 1 (zstd)');
  }
  if (compressionBit !== (f.compression_type !== 0)) {
    fail(ErrorCode.CORRUPT, 'compression type and the compression-type feature bit disagree', 'compression_type', f.compression_type, compressionBit ? 'non-zero' : '0');
  }
}

function readExtensions(cluster: Uint8Array, f: QCowHeaderFields, where: Where): HeaderExtensions {
  const out: HeaderExtensions = { featureNames: [], unknown: [] };
  const view = viewOf(cluster);
  // Extensions follow the header; the backing file name, if any, comes after them.
  const limit = f.backing_file_offset > 0 ? Math.min(f.backing_file_offset, cluster.length) : cluster.length;
  let at = f.header_length;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  for (let count = 0; at + 8 <= limit; count++) {
    const type = view.getUint32(at);
    const length = view.getUint32(at + 4);
    if (type === Extension.end) break;
    const ext = { ...where, structure: 'HeaderExtension', offset: at, value: `0x${type.toString(16)}` };
    if (count >= Limits.MAX_EXTENSIONS) throw new DiskProbeError(ErrorCode.LIMIT, 'too many header extensions', ext);
    const data = at + 8;
    if (data + length > limit) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `header extension of ${length} bytes runs past the first cluster`, { ...ext, expected: `end <= ${limit}` });
    }
    const body = cluster.subarray(data, data + length);
    const bodyView = viewOf(body);
    switch (type) {
      case Extension.backingFormat:
        out.backingFormat = decoder.decode(body);
        break;
      case Extension.externalDataFile:
        out.dataFile = decoder.decode(body);
        break;
      case Extension.featureNameTable:
        for (let e = 0; e + FeatureNameEntry.LENGTH <= length; e += FeatureNameEntry.LENGTH) {
          const t = body[e + FeatureNameEntry.type]!;
          const nameBytes = body.subarray(e + FeatureNameEntry.name, e + FeatureNameEntry.name + FeatureNameEntry.NAME_LENGTH);
          const nul = nameBytes.indexOf(0);
          out.featureNames.push({
            type: FEATURE_TYPES[t] ?? 'incompatible',
            bit: body[e + FeatureNameEntry.bit]!,
            name: latin1(nul >= 0 ? nameBytes.subarray(0, nul) : nameBytes),
          });
        }
        break;
      case Extension.bitmaps:
        if (length >= BitmapsExtension.LENGTH) {
          out.bitmaps = {
            count: bodyView.getUint32(BitmapsExtension.nb_bitmaps),
            directorySize: u64(bodyView, BitmapsExtension.bitmap_directory_size, false, { ...ext, field: 'bitmap_directory_size' }),
            directoryOffset: u64(bodyView, BitmapsExtension.bitmap_directory_offset, false, { ...ext, field: 'bitmap_directory_offset' }),
          };
        }
        break;
      case Extension.fullDiskEncryption:
        if (length >= FdeExtension.LENGTH) {
          out.encryption = {
            offset: u64(bodyView, FdeExtension.offset, false, { ...ext, field: 'offset' }),
            length: u64(bodyView, FdeExtension.length, false, { ...ext, field: 'length' }),
          };
        }
        break;
      default:
        out.unknown.push({ type, offset: at, length });
    }
    at = data + Math.ceil(length / 8) * 8;
  }

  const unknownBits = f.incompatible_features & ~BigInt(KNOWN_INCOMPATIBLE);
  if (unknownBits !== 0n) {
    const bits: string[] = [];
    for (let b = 0; b < 64; b++) {
      if (!bit(unknownBits, b)) continue;
      const named = out.featureNames.find((n) => n.type === 'incompatible' && n.bit === b);
      bits.push(named ? `bit ${b} "${named.name}"` : `bit ${b}`);
    }
    throw new DiskProbeError(ErrorCode.UNSUPPORTED, `unknown incompatible feature ${bits.join(', ')}`, {
      ...where,
      field: 'incompatible_features',
      offset: H.incompatible_features,
      value: `0x${f.incompatible_features.toString(16)}`,
      expected: `no bits beyond 0x${KNOWN_INCOMPATIBLE.toString(16)}`,
    });
  }
  return out;
}
