/**
 * Reads a DOS partition table: the four primary records of the MBR, and the logical
 * partitions through the chain of EBRs inside each extended partition (layout.ts has the
 * references). The chain is followed with a visited set and a limit, so a chain that loops or
 * never ends costs at most MAX_LOGICAL sector reads and gives a finding.
 */
import type { BlockDevice } from '../../device/types.js';
import type { Finding } from '../../container/types.js';
import { hasBytes, latin1 } from '../../util/bytes.js';
import type { PartitionSlot } from '../slot.js';
import {
  classifyBootCode,
  decodeRecords,
  EXTENDED_TYPES,
  GPT_PROTECTIVE,
  hasMbrSignature,
  Mbr,
  mbrTypeName,
  type MbrRecord,
} from './layout.js';

/** Logical partitions followed in one extended partition before giving up (Linux stops well before). */
export const MAX_LOGICAL = 128;

/** Whether sector 0 is a DOS partition table rather than a filesystem's boot sector. */
export function looksLikeMbr(sector: Uint8Array): { ok: boolean; reason: string } {
  if (!hasMbrSignature(sector)) return { ok: false, reason: 'no 0x55AA signature at 510' };
  const records = decodeRecords(sector);
  const bad = records.find((r) => r.bootIndicator !== 0 && r.bootIndicator !== 0x80);
  if (bad) return { ok: false, reason: `record ${bad.slot + 1} has boot indicator 0x${bad.bootIndicator.toString(16)} (expected 0x00 or 0x80)` };
  // A FAT, NTFS or exFAT boot sector also ends in 0x55AA: name them before taking records.
  if (hasBytes(sector, 3, [0x4e, 0x54, 0x46, 0x53, 0x20, 0x20, 0x20, 0x20])) return { ok: false, reason: 'an NTFS boot sector ("NTFS    " at 3)' };
  if (hasBytes(sector, 3, [0x45, 0x58, 0x46, 0x41, 0x54, 0x20, 0x20, 0x20])) return { ok: false, reason: 'an exFAT boot sector ("EXFAT   " at 3)' };
  const used = records.filter((r) => r.osType !== 0 && r.sizeInLba !== 0);
  const fatText = latin1(sector, 0x36, 0x3e) + latin1(sector, 0x52, 0x5a);
  if (/FAT1[26]|FAT32/.test(fatText) && (used.length === 0 || used.some((r) => r.startingLba === 0))) {
    return { ok: false, reason: 'a FAT boot sector (FAT type string in its BPB)' };
  }
  return { ok: true, reason: 'signature 0x55AA at 510 and boot indicators 0x00/0x80' };
}

/** What {@link readMbr} returns. */
export interface MbrRead {
  facts: Record<string, unknown>;
  id: string;
  partitions: PartitionSlot[];
  findings: Finding[];
  /** A 0xEE record is present: the disk is GPT, and this is its protective (or hybrid) MBR. */
  protective: boolean;
  /** A protective MBR that also lists other partitions. */
  hybrid: boolean;
}

function recordFacts(r: MbrRecord): Record<string, unknown> {
  return {
    bootable: r.bootIndicator === 0x80,
    startingChs: r.startingChs,
    endingChs: r.endingChs,
    startingLba: r.startingLba,
    sizeInLba: r.sizeInLba,
  };
}

/**
 * Reads the MBR in `sector0` of `dev` (whose sectors are `sectorSize` bytes) and the EBR chains
 * of its extended partitions.
 */
export async function readMbr(dev: BlockDevice, sector0: Uint8Array, sectorSize: number, signal?: AbortSignal): Promise<MbrRead> {
  const findings: Finding[] = [];
  const view = new DataView(sector0.buffer, sector0.byteOffset, sector0.byteLength);
  const signature = view.getUint32(Mbr.UniqueMBRDiskSignature, true);
  const id = `0x${signature.toString(16).padStart(8, '0')}`;
  const records = decodeRecords(sector0);
  const bootCode = classifyBootCode(sector0);
  const protective = records.some((r) => r.osType === GPT_PROTECTIVE);
  const others = records.filter((r) => r.osType !== 0 && r.osType !== GPT_PROTECTIVE && r.sizeInLba !== 0);
  const facts: Record<string, unknown> = {
    diskSignature: id,
    bootCode: bootCode.kind,
    bootCodeEvidence: bootCode.evidence,
    protective,
    hybrid: protective && others.length > 0,
    // The four records as stored (for a hybrid MBR: what MBR-only tools see).
    records: records.filter((r) => r.osType !== 0).map((r) => ({ slot: r.slot + 1, type: `0x${r.osType.toString(16).padStart(2, '0')}`, typeName: mbrTypeName(r.osType), bootable: r.bootIndicator === 0x80, startingLba: r.startingLba, sizeInLba: r.sizeInLba })),
  };
  const partitions: PartitionSlot[] = [];
  const active = records.filter((r) => r.bootIndicator === 0x80 && r.osType !== 0);
  if (active.length > 1) {
    findings.push({ severity: 'warning', code: 'mbr.several-active', message: `${active.length} partitions are marked active (bootable); BIOS boot code expects one`, offset: Mbr.PartitionRecord });
  }
  let nextLogical = 5;
  for (const r of records) {
    if (r.osType === 0 || r.sizeInLba === 0) continue;
    const recordOffset = Mbr.PartitionRecord + r.slot * Mbr.RECORD_SIZE;
    const extended = EXTENDED_TYPES.has(r.osType);
    partitions.push({
      id: `p${r.slot + 1}`,
      index: r.slot + 1,
      start: r.startingLba * sectorSize,
      size: r.sizeInLba * sectorSize,
      type: `0x${r.osType.toString(16).padStart(2, '0')}`,
      typeName: mbrTypeName(r.osType),
      facts: { ...recordFacts(r), kind: extended ? 'extended' : 'primary', recordOffset },
      findings: [],
      container: extended,
    });
    if (extended && !protective) {
      nextLogical = await readEbrChain(dev, r, sectorSize, nextLogical, partitions, findings, signal);
    }
  }
  return { facts, id, partitions, findings, protective, hybrid: protective && others.length > 0 };
}

/**
 * Follows one extended partition's EBR chain. Logical partitions get numbers from `number` on,
 * in chain order; returns the next free number.
 */
async function readEbrChain(
  dev: BlockDevice,
  extended: MbrRecord,
  sectorSize: number,
  number: number,
  out: PartitionSlot[],
  findings: Finding[],
  signal?: AbortSignal,
): Promise<number> {
  const base = extended.startingLba;
  const visited = new Set<number>();
  let ebr = base;
  for (let hops = 0; ; hops++) {
    const at = ebr * sectorSize;
    if (visited.has(ebr)) {
      findings.push({ severity: 'error', code: 'mbr.ebr-loop', message: `the EBR chain loops back to the EBR at LBA ${ebr}; stopped following it`, offset: at });
      return number;
    }
    if (hops >= MAX_LOGICAL) {
      findings.push({ severity: 'error', code: 'mbr.ebr-limit', message: `the EBR chain has more than ${MAX_LOGICAL} links; stopped following it`, offset: at });
      return number;
    }
    visited.add(ebr);
    if (at + 512 > dev.size) {
      findings.push({ severity: 'error', code: 'mbr.ebr-past-end', message: `an EBR at LBA ${ebr} lies past the end of the disk`, offset: at });
      return number;
    }
    const sector = await dev.read(at, 512, signal);
    if (!hasMbrSignature(sector)) {
      // An extended partition with nothing in it yet has a zeroed first EBR; anything else is damage.
      if (!(hops === 0 && sector.every((b) => b === 0))) {
        findings.push({ severity: 'error', code: 'mbr.ebr-signature', message: `the EBR at LBA ${ebr} has no 0x55AA signature; the logical partitions after it are not read`, offset: at });
      }
      return number;
    }
    let link: MbrRecord | undefined;
    for (const r of decodeRecords(sector)) {
      if (r.osType === 0 || r.sizeInLba === 0) continue;
      if (EXTENDED_TYPES.has(r.osType)) {
        link ??= r;
        continue;
      }
      out.push({
        id: `p${number}`,
        index: number,
        start: (ebr + r.startingLba) * sectorSize,
        size: r.sizeInLba * sectorSize,
        type: `0x${r.osType.toString(16).padStart(2, '0')}`,
        typeName: mbrTypeName(r.osType),
        facts: { ...recordFacts(r), kind: 'logical', ebrLba: ebr, recordOffset: at + Mbr.PartitionRecord + r.slot * Mbr.RECORD_SIZE },
        findings: [],
      });
      number++;
    }
    if (!link) return number;
    ebr = base + link.startingLba;
  }
}
