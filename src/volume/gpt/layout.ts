/**
 * The GUID Partition Table: header and partition entries.
 *
 * Reference: UEFI Specification 2.10, §5.3 "GUID Partition Table (GPT) Disk Layout": Table 5-5
 * (GPT header), Table 5-6 (partition entry), Table 5-7 (attribute bits), §5.3.2 (the checks a
 * reader makes: signature, header CRC32 over HeaderSize bytes with the CRC field zeroed, MyLBA,
 * entry-array CRC32; if the primary fails, the backup at the last LBA is used). The
 * Discoverable Partitions Specification (uapi-group.org) names the type-specific attribute bits
 * of Linux partitions; Microsoft's documentation of CREATE_PARTITION_PARAMETERS names those of
 * basic data partitions. Entry ranges are inclusive: EndingLBA is the partition's last sector.
 */
import { guidString, utf16le } from '../../util/bytes.js';
import { GptType, gptTypeName } from './types.js';

/** "EFI PART" */
export const GPT_SIGNATURE = [0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54] as const;

/** Byte offsets of the GPT header (UEFI 2.10 Table 5-5). */
export const GptHeader = {
  Signature: 0,
  Revision: 8,
  HeaderSize: 12,
  HeaderCRC32: 16,
  Reserved: 20,
  MyLBA: 24,
  AlternateLBA: 32,
  FirstUsableLBA: 40,
  LastUsableLBA: 48,
  DiskGUID: 56,
  PartitionEntryLBA: 72,
  NumberOfPartitionEntries: 80,
  SizeOfPartitionEntry: 84,
  PartitionEntryArrayCRC32: 88,
  /** The header's defined fields end here; HeaderSize may be larger (up to a sector). */
  MIN_SIZE: 92,
} as const;

/** Byte offsets of a partition entry (UEFI 2.10 Table 5-6). */
export const GptEntry = {
  PartitionTypeGUID: 0,
  UniquePartitionGUID: 16,
  StartingLBA: 32,
  EndingLBA: 40,
  Attributes: 48,
  PartitionName: 56,
  NAME_BYTES: 72,
  /** SizeOfPartitionEntry is 128 × 2^n. */
  MIN_SIZE: 128,
} as const;

/** A header's numbers, decoded (not yet validated). LBAs are numbers exact below 2^53. */
export interface GptHeaderFields {
  revision: number;
  headerSize: number;
  headerCrc32: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  partitionEntryLba: number;
  numberOfPartitionEntries: number;
  sizeOfPartitionEntry: number;
  partitionEntryArrayCrc32: number;
}

/** A 64-bit little-endian field; values of 2^53 or more come out as Infinity (never valid here). */
function lba(view: DataView, at: number): number {
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x1_0000_0000 + view.getUint32(at, true);
}

export function decodeHeader(b: Uint8Array): GptHeaderFields {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    revision: v.getUint32(GptHeader.Revision, true),
    headerSize: v.getUint32(GptHeader.HeaderSize, true),
    headerCrc32: v.getUint32(GptHeader.HeaderCRC32, true),
    myLba: lba(v, GptHeader.MyLBA),
    alternateLba: lba(v, GptHeader.AlternateLBA),
    firstUsableLba: lba(v, GptHeader.FirstUsableLBA),
    lastUsableLba: lba(v, GptHeader.LastUsableLBA),
    diskGuid: guidString(b, GptHeader.DiskGUID),
    partitionEntryLba: lba(v, GptHeader.PartitionEntryLBA),
    numberOfPartitionEntries: v.getUint32(GptHeader.NumberOfPartitionEntries, true),
    sizeOfPartitionEntry: v.getUint32(GptHeader.SizeOfPartitionEntry, true),
    partitionEntryArrayCrc32: v.getUint32(GptHeader.PartitionEntryArrayCRC32, true),
  };
}

/** One entry, decoded. */
export interface GptEntryFields {
  typeGuid: string;
  uniqueGuid: string;
  startingLba: number;
  endingLba: number;
  /** The 64 attribute bits as two 32-bit halves (bits 0-31, 32-63). */
  attributesLow: number;
  attributesHigh: number;
  name: string;
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export function decodeEntry(b: Uint8Array, at: number): GptEntryFields {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    typeGuid: guidString(b, at + GptEntry.PartitionTypeGUID),
    uniqueGuid: guidString(b, at + GptEntry.UniquePartitionGUID),
    startingLba: lba(v, at + GptEntry.StartingLBA),
    endingLba: lba(v, at + GptEntry.EndingLBA),
    attributesLow: v.getUint32(at + GptEntry.Attributes, true),
    attributesHigh: v.getUint32(at + GptEntry.Attributes + 4, true),
    name: utf16le(b, at + GptEntry.PartitionName, GptEntry.NAME_BYTES),
  };
}

/** Whether the 16 bytes at `at` are all zero (an unused entry's type GUID). */
export function isZeroGuid(b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (b[at + i] !== 0) return false;
  return true;
}

/**
 * Names of the attribute bits set: bits 0-2 for every partition (UEFI 2.10 Table 5-7); bits
 * 48-63 by type, for Microsoft basic data and recovery partitions and for Linux types (the
 * Discoverable Partitions Specification). Other set bits are named `bitN`.
 */
export function attributeNames(low: number, high: number, typeGuid: string): string[] {
  const isSet = (n: number) => (n < 32 ? (low >>> n) & 1 : (high >>> (n - 32)) & 1) === 1;
  const names: string[] = [];
  const named = new Set<number>();
  const add = (n: number, name: string) => {
    if (isSet(n)) names.push(name);
    named.add(n);
  };
  add(0, 'RequiredPartition');
  add(1, 'NoBlockIOProtocol');
  add(2, 'LegacyBIOSBootable');
  if (typeGuid === GptType.MICROSOFT_BASIC_DATA || typeGuid === 'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC') {
    add(60, 'ReadOnly');
    add(61, 'ShadowCopy');
    add(62, 'Hidden');
    add(63, 'NoDriveLetter');
  } else if (gptTypeName(typeGuid).startsWith('Linux')) {
    add(59, 'GrowFileSystem');
    add(60, 'ReadOnly');
    add(63, 'NoAuto');
  }
  for (let n = 0; n < 64; n++) if (!named.has(n) && isSet(n)) names.push(`bit${n}`);
  return names;
}
