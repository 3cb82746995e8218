/**
 * Reads a GUID Partition Table (layout.ts has the references): both headers and entry arrays
 * are checked; the primary is used when it is whole, the backup when it is not (a finding, never
 * silence); differences between the two, a backup header that is not at the end of the disk
 * (an image grown without moving it), and a missing or hybrid protective MBR are findings.
 * The logical sector size is found, not assumed: the header is looked for at byte 512 and at
 * byte 4096.
 */
import type { Finding } from '../../container/types.js';
import type { BlockDevice } from '../../device/types.js';
import { copyBytes, hasBytes } from '../../util/bytes.js';
import { crc32 } from '../../util/crc32.js';
import type { PartitionSlot } from '../slot.js';
import { attributeNames, decodeEntry, decodeHeader, GPT_SIGNATURE, GptEntry, GptHeader, isZeroGuid, type GptHeaderFields } from './layout.js';
import { gptTypeName } from './types.js';

/** The most entries diskprobe reads (the usual table has 128; sgdisk allows a few thousand). */
export const MAX_GPT_ENTRIES = 16384;
/** The largest entry array read: the usual is 16 KiB. */
export const MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024;
/** The largest entry size accepted (128 × 2^n; every known writer uses 128). */
export const MAX_ENTRY_SIZE = 4096;
/** Logical sector sizes looked for, in order. */
export const SECTOR_SIZES = [512, 4096] as const;

/** One header as read: where, what it says, and what is wrong with it. */
interface HeaderCopy {
  lba: number;
  offset: number;
  fields?: GptHeaderFields;
  /** Why the header cannot be used; empty when it can. */
  problems: string[];
  entries?: Uint8Array;
  /** Why its entry array cannot be trusted, if it cannot. */
  entriesProblem?: string;
}

/** Whether `head` (the disk's first bytes) or the disk holds a GPT signature for sector size `ss`. */
export function gptSignatureAt(head: Uint8Array, ss: number): boolean {
  return hasBytes(head, ss, GPT_SIGNATURE);
}

async function readHeader(dev: BlockDevice, lba: number, ss: number, role: 'primary' | 'backup', signal?: AbortSignal): Promise<HeaderCopy> {
  const offset = lba * ss;
  const copy: HeaderCopy = { lba, offset, problems: [] };
  if (!Number.isSafeInteger(offset) || offset + ss > dev.size || lba < 1) {
    copy.problems.push(`LBA ${lba} is outside the disk`);
    return copy;
  }
  const b = await dev.read(offset, ss, signal);
  if (!hasBytes(b, 0, GPT_SIGNATURE)) {
    copy.problems.push('no "EFI PART" signature');
    return copy;
  }
  const f = decodeHeader(b);
  copy.fields = f;
  if (f.headerSize < GptHeader.MIN_SIZE || f.headerSize > ss) {
    copy.problems.push(`HeaderSize ${f.headerSize} is outside ${GptHeader.MIN_SIZE}..${ss}`);
    return copy;
  }
  const zeroed = copyBytes(b, 0, f.headerSize);
  zeroed.fill(0, GptHeader.HeaderCRC32, GptHeader.HeaderCRC32 + 4);
  const crc = crc32(zeroed);
  if (crc !== f.headerCrc32) copy.problems.push(`HeaderCRC32 is 0x${f.headerCrc32.toString(16)}, computed 0x${crc.toString(16)}`);
  if (f.myLba !== lba) copy.problems.push(`MyLBA is ${f.myLba}, but the header was read at LBA ${lba}`);
  const size = f.sizeOfPartitionEntry;
  if (size < GptEntry.MIN_SIZE || size > MAX_ENTRY_SIZE || size % GptEntry.MIN_SIZE !== 0 || (size & (size - 1)) !== 0) {
    copy.problems.push(`SizeOfPartitionEntry ${size} is not 128 × 2^n (at most ${MAX_ENTRY_SIZE})`);
  }
  if (f.numberOfPartitionEntries > MAX_GPT_ENTRIES || f.numberOfPartitionEntries * size > MAX_ENTRY_ARRAY_BYTES) {
    copy.problems.push(`NumberOfPartitionEntries ${f.numberOfPartitionEntries} exceeds diskprobe's limit (${MAX_GPT_ENTRIES} entries, ${MAX_ENTRY_ARRAY_BYTES} bytes)`);
  }
  if (!(f.firstUsableLba <= f.lastUsableLba + 1)) copy.problems.push(`FirstUsableLBA ${f.firstUsableLba} is after LastUsableLBA ${f.lastUsableLba}`);
  if (copy.problems.length > 0) return copy;
  const arrayBytes = f.numberOfPartitionEntries * size;
  const arrayAt = f.partitionEntryLba * ss;
  if (!Number.isSafeInteger(arrayAt) || arrayAt + arrayBytes > dev.size) {
    copy.entriesProblem = `the ${role} entry array (LBA ${f.partitionEntryLba}, ${arrayBytes} bytes) runs past the end of the disk`;
    return copy;
  }
  if (role === 'primary' ? f.partitionEntryLba <= lba : f.partitionEntryLba === lba) {
    copy.entriesProblem = `PartitionEntryLBA ${f.partitionEntryLba} overlaps the header or the MBR`;
    return copy;
  }
  copy.entries = arrayBytes === 0 ? new Uint8Array(0) : await dev.read(arrayAt, arrayBytes, signal);
  const arrayCrc = crc32(copy.entries);
  if (arrayCrc !== f.partitionEntryArrayCrc32) {
    copy.entriesProblem = `PartitionEntryArrayCRC32 is 0x${f.partitionEntryArrayCrc32.toString(16)}, computed 0x${arrayCrc.toString(16)}`;
  }
  return copy;
}

/** What {@link readGpt} returns. */
export interface GptRead {
  sectorSize: number;
  id?: string;
  facts: Record<string, unknown>;
  partitions: PartitionSlot[];
  findings: Finding[];
}

/**
 * Finds the sector size and reads the GPT of `dev`, or returns undefined when neither a primary
 * nor a backup header is found for either sector size. `head` holds at least the first 8 KiB.
 */
export async function readGpt(dev: BlockDevice, head: Uint8Array, mbr: { protective: boolean; hybrid: boolean } | undefined, signal?: AbortSignal): Promise<GptRead | undefined> {
  let primary: HeaderCopy | undefined;
  let ss: number | undefined;
  for (const size of SECTOR_SIZES) {
    if (!gptSignatureAt(head, size)) continue;
    const copy = await readHeader(dev, 1, size, 'primary', signal);
    if (!primary || (copy.problems.length === 0 && primary.problems.length > 0)) {
      primary = copy;
      ss = size;
    }
  }
  // Without a primary, the backup is looked for on the disk's last sector of each size.
  let backup: HeaderCopy | undefined;
  if (!primary) {
    for (const size of SECTOR_SIZES) {
      const last = Math.floor(dev.size / size) - 1;
      if (last < 2) continue;
      const copy = await readHeader(dev, last, size, 'backup', signal);
      if (copy.fields) {
        backup = copy;
        ss = size;
        break;
      }
    }
    if (!backup) return undefined;
  }
  const sectorSize = ss!;
  const lastLba = Math.floor(dev.size / sectorSize) - 1;
  const findings: Finding[] = [];
  if (primary && !backup) {
    const usable = primary.problems.length === 0 && primary.fields;
    const at = usable && usable.alternateLba <= lastLba && usable.alternateLba > 1 ? usable.alternateLba : lastLba;
    backup = await readHeader(dev, at, sectorSize, 'backup', signal);
    if (usable && backup.problems.length > 0 && at !== lastLba) {
      // AlternateLBA pointed nowhere useful: the last sector is where the backup belongs.
      const atEnd = await readHeader(dev, lastLba, sectorSize, 'backup', signal);
      if (atEnd.problems.length === 0) backup = atEnd;
    }
  }
  const good = (c: HeaderCopy | undefined) => c !== undefined && c.problems.length === 0 && c.entriesProblem === undefined;
  const headerOk = (c: HeaderCopy | undefined) => c !== undefined && c.problems.length === 0 && c.entries !== undefined;
  let used: HeaderCopy | undefined;
  if (good(primary)) used = primary;
  else if (good(backup)) {
    used = backup;
    const why = primary ? [...primary.problems, primary.entriesProblem].filter(Boolean).join('; ') : 'no primary header at LBA 1';
    findings.push({ severity: 'warning', code: 'gpt.used-backup', message: `the primary GPT is damaged (${why}); the backup header at LBA ${backup!.lba} was used`, offset: primary?.offset ?? sectorSize });
  } else if (headerOk(primary) || headerOk(backup)) {
    used = headerOk(primary) ? primary : backup;
    findings.push({ severity: 'error', code: 'gpt.entries-crc', message: `no GPT entry array matches its CRC (${used!.entriesProblem}); the partitions listed may be wrong`, offset: used!.fields!.partitionEntryLba * sectorSize });
  } else {
    const why = [primary, backup].filter((c): c is HeaderCopy => c !== undefined).map((c) => `LBA ${c.lba}: ${[...c.problems, c.entriesProblem].filter(Boolean).join('; ')}`);
    findings.push({ severity: 'error', code: 'gpt.unreadable', message: `a GPT signature was found but no header is usable (${why.join(' | ')})`, offset: primary?.offset ?? backup?.offset });
    return { sectorSize, facts: { usable: false }, partitions: [], findings };
  }
  if (used !== backup && backup && !good(backup)) {
    findings.push({ severity: 'warning', code: 'gpt.backup-damaged', message: `the backup GPT at LBA ${backup.lba} is damaged (${[...backup.problems, backup.entriesProblem].filter(Boolean).join('; ')})`, offset: backup.offset });
  }
  const f = used!.fields!;
  compareCopies(primary, backup, findings);
  const expectedBackup = used === primary ? f.alternateLba : used!.lba;
  if (expectedBackup > lastLba) {
    findings.push({ severity: 'error', code: 'gpt.disk-too-small', message: `the GPT puts its backup header at LBA ${expectedBackup}, past the disk's last LBA ${lastLba}: the image is truncated`, offset: used!.offset + GptHeader.AlternateLBA });
  } else if (expectedBackup !== lastLba) {
    findings.push({ severity: 'warning', code: 'gpt.backup-not-at-end', message: `the backup GPT header is at LBA ${expectedBackup}, not at the disk's last LBA ${lastLba}: the image was enlarged without moving it (sgdisk -e or growpart relocates it)`, offset: expectedBackup * sectorSize });
  }
  if (f.lastUsableLba >= lastLba) {
    findings.push({ severity: 'error', code: 'gpt.usable-past-end', message: `LastUsableLBA ${f.lastUsableLba} is at or past the disk's last LBA ${lastLba}`, offset: used!.offset + GptHeader.LastUsableLBA });
  }
  if (mbr === undefined || !mbr.protective) {
    findings.push({ severity: 'warning', code: 'gpt.no-protective-mbr', message: 'the disk has a GPT but no protective MBR (no 0xEE record): BIOS-era tools may take it for unpartitioned', offset: 0 });
  } else if (mbr.hybrid) {
    findings.push({ severity: 'info', code: 'gpt.hybrid-mbr', message: 'the MBR is hybrid: it lists partitions besides the 0xEE record, and MBR-only tools will see those', offset: 446 });
  }

  const partitions: PartitionSlot[] = [];
  const entries = used!.entries!;
  const arrayAt = f.partitionEntryLba * sectorSize;
  for (let i = 0; i < f.numberOfPartitionEntries; i++) {
    const at = i * f.sizeOfPartitionEntry;
    if (isZeroGuid(entries, at + GptEntry.PartitionTypeGUID)) continue;
    const e = decodeEntry(entries, at);
    const id = `p${i + 1}`;
    const where = arrayAt + at;
    if (!(e.startingLba <= e.endingLba) || !Number.isSafeInteger(e.endingLba * sectorSize)) {
      findings.push({ severity: 'error', code: 'gpt.bad-range', message: `entry ${i + 1} ends (LBA ${e.endingLba}) before it starts (LBA ${e.startingLba}), or lies beyond 2^53 bytes; skipped`, offset: where });
      continue;
    }
    const slotFindings: Finding[] = [];
    if (e.startingLba < f.firstUsableLba || e.endingLba > f.lastUsableLba) {
      const finding: Finding = { severity: 'warning', code: 'gpt.outside-usable', message: `partition ${id} (LBA ${e.startingLba}..${e.endingLba}) is outside the usable range ${f.firstUsableLba}..${f.lastUsableLba}`, offset: where };
      slotFindings.push(finding);
      findings.push(finding);
    }
    partitions.push({
      id,
      index: i + 1,
      start: e.startingLba * sectorSize,
      // EndingLBA is inclusive.
      size: (e.endingLba - e.startingLba + 1) * sectorSize,
      type: e.typeGuid,
      typeName: gptTypeName(e.typeGuid),
      name: e.name,
      uuid: e.uniqueGuid,
      facts: {
        startingLba: e.startingLba,
        endingLba: e.endingLba,
        attributes: attributeNames(e.attributesLow, e.attributesHigh, e.typeGuid),
        attributeBits: `0x${e.attributesHigh.toString(16).padStart(8, '0')}${e.attributesLow.toString(16).padStart(8, '0')}`,
        entryOffset: where,
      },
      findings: slotFindings,
    });
  }
  return {
    sectorSize,
    id: f.diskGuid,
    facts: {
      diskGuid: f.diskGuid,
      revision: `${f.revision >>> 16}.${f.revision & 0xffff}`,
      headerUsed: used === primary ? 'primary' : 'backup',
      headerLba: used!.lba,
      alternateLba: f.alternateLba,
      firstUsableLba: f.firstUsableLba,
      lastUsableLba: f.lastUsableLba,
      partitionEntryLba: f.partitionEntryLba,
      numberOfPartitionEntries: f.numberOfPartitionEntries,
      sizeOfPartitionEntry: f.sizeOfPartitionEntry,
      primaryValid: good(primary),
      backupValid: good(backup),
    },
    partitions,
    findings,
  };
}

/** Findings for fields where two valid copies disagree (UEFI 2.10 §5.3.2: they must match). */
function compareCopies(primary: HeaderCopy | undefined, backup: HeaderCopy | undefined, findings: Finding[]): void {
  const p = primary?.problems.length === 0 ? primary.fields : undefined;
  const b = backup?.problems.length === 0 ? backup.fields : undefined;
  if (!p || !b) return;
  const differ: string[] = [];
  for (const key of ['diskGuid', 'firstUsableLba', 'lastUsableLba', 'numberOfPartitionEntries', 'sizeOfPartitionEntry', 'partitionEntryArrayCrc32'] as const) {
    if (p[key] !== b[key]) differ.push(`${key}: primary ${String(p[key])}, backup ${String(b[key])}`);
  }
  if (p.alternateLba !== backup!.lba) differ.push(`primary AlternateLBA ${p.alternateLba} is not the backup's LBA ${backup!.lba}`);
  if (b.alternateLba !== primary!.lba) differ.push(`backup AlternateLBA ${b.alternateLba} is not the primary's LBA ${primary!.lba}`);
  if (differ.length > 0) {
    findings.push({ severity: 'warning', code: 'gpt.copies-differ', message: `the primary and backup GPT headers disagree (${differ.join('; ')})`, offset: backup!.offset });
  }
}
