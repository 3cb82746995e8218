/**
 * LVM2 on-disk structures: the physical volume label, the PV header with its data and metadata
 * area lists, and the metadata area header whose raw locations point at the text metadata.
 *
 * Reference: LVM2's lib/label/label.h (`struct label_header`), lib/format_text/layout.h
 * (`struct pv_header`, `struct disk_locn`, `struct pv_header_extension`, `struct mda_header`,
 * `struct raw_locn`) and lib/misc/crc.c; all fields little-endian. The label sits in one of the
 * first four 512-byte sectors; its CRC covers the sector from `offset_xl` to its end. Checksums
 * use CRC-32's register with the start value 0xf597a6cf and no final inversion.
 */
import { asciiBytes, hasBytes } from '../../util/bytes.js';
import { crc32Update } from '../../util/crc32.js';

export const LVM_SECTOR = 512;
/** Sectors a label may be in. */
export const LABEL_SCAN_SECTORS = 4;
export const LABEL_ID = asciiBytes('LABELONE');
export const LABEL_TYPE = asciiBytes('LVM2 001');
/** LVM's CRC start value (`INITIAL_CRC`). */
export const LVM_INITIAL_CRC = 0xf597a6cf;

/** `struct label_header` (32 bytes). */
export const LabelHeader = { id: 0, sector_xl: 8, crc_xl: 16, offset_xl: 20, type: 24, SIZE: 32 } as const;
/** `struct pv_header`: the UUID, then the device size, then the area lists. */
export const PvHeader = { pv_uuid: 0, ID_LEN: 32, device_size_xl: 32, disk_areas_xl: 40 } as const;
/** `struct disk_locn` (16 bytes): offset and size in bytes. */
export const DISK_LOCN_SIZE = 16;
/** `struct mda_header` (40 bytes, then the raw locations), in a 512-byte block. */
export const MdaHeader = { checksum_xl: 0, magic: 4, version: 20, start: 24, size: 32, raw_locns: 40, SIZE: 512 } as const;
export const MDA_MAGIC = asciiBytes(' LVM2 x[5A%r0N*>');
/** `struct raw_locn` (24 bytes). */
export const RawLocn = { offset: 0, size: 8, checksum: 16, flags: 20, SIZE: 24 } as const;
/** `RAW_LOCN_IGNORED`: the copy is kept but not used (pvchange --metadataignore). */
export const RAW_LOCN_IGNORED = 0x1;

/** LVM's checksum of `bytes[start, end)`, continuing from `crc`. */
export function lvmCrc(bytes: Uint8Array, start = 0, end = bytes.length, crc = LVM_INITIAL_CRC): number {
  return crc32Update(crc, bytes, start, end);
}

/** A 64-bit field, or Infinity when it does not fit in 2^53. */
export function u64le(view: DataView, at: number): number {
  const hi = view.getUint32(at + 4, true);
  return hi >= 0x200000 ? Infinity : hi * 0x1_0000_0000 + view.getUint32(at, true);
}

/** A label found in the first sectors. */
export interface PvLabel {
  /** Byte offset of the label sector. */
  offset: number;
  /** The PV UUID, 32 characters without dashes. */
  pvUuid: string;
  /** Whether the label's CRC matches. */
  crcOk: boolean;
  /** Where the PV header starts (bytes from the device start). */
  headerOffset: number;
}

/** Finds the PV label in `head` (which must hold the first 2 KiB), checking its CRC. */
export function findPvLabel(head: Uint8Array): PvLabel | undefined {
  for (let s = 0; s < LABEL_SCAN_SECTORS; s++) {
    const at = s * LVM_SECTOR;
    if (at + LVM_SECTOR > head.length) break;
    if (!hasBytes(head, at, LABEL_ID) || !hasBytes(head, at + LabelHeader.type, LABEL_TYPE)) continue;
    const v = new DataView(head.buffer, head.byteOffset + at, LVM_SECTOR);
    const headerOffset = v.getUint32(LabelHeader.offset_xl, true);
    if (headerOffset < LabelHeader.SIZE || headerOffset + PvHeader.disk_areas_xl > LVM_SECTOR) continue;
    const crcOk = lvmCrc(head, at + LabelHeader.offset_xl, at + LVM_SECTOR) === v.getUint32(LabelHeader.crc_xl, true);
    const pvUuid = String.fromCharCode(...head.subarray(at + headerOffset, at + headerOffset + PvHeader.ID_LEN));
    return { offset: at, pvUuid, crcOk, headerOffset: at + headerOffset };
  }
  return undefined;
}

/** A PV UUID as LVM prints it: 32 characters in groups of 6-4-4-4-4-4-6. */
export function pvUuidString(raw: string): string {
  const groups = [6, 4, 4, 4, 4, 4, 6];
  let at = 0;
  return groups.map((n) => raw.slice(at, (at += n))).join('-');
}

/** A (offset, size) area of the PV, in bytes. */
export interface DiskArea {
  offset: number;
  size: number;
}

/**
 * Decodes the PV header's two zero-terminated area lists (data areas, then metadata areas),
 * reading at most what fits in the label sector.
 */
export function decodePvHeader(sector: Uint8Array, headerAt: number): { deviceSize: number; dataAreas: DiskArea[]; metadataAreas: DiskArea[] } {
  const v = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  const deviceSize = u64le(v, headerAt + PvHeader.device_size_xl);
  const lists: DiskArea[][] = [[], []];
  let at = headerAt + PvHeader.disk_areas_xl;
  for (const list of lists) {
    while (at + DISK_LOCN_SIZE <= sector.length) {
      const offset = u64le(v, at);
      const size = u64le(v, at + 8);
      at += DISK_LOCN_SIZE;
      if (offset === 0 && size === 0) break;
      list.push({ offset, size });
    }
  }
  return { deviceSize, dataAreas: lists[0]!, metadataAreas: lists[1]! };
}
