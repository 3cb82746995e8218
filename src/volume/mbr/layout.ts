/**
 * The Master Boot Record and the Extended Boot Records of DOS partitioning.
 *
 * References: UEFI 2.10 §5.2.1 "Legacy Master Boot Record" (field offsets, the 0xAA55
 * signature, the protective MBR of §5.2.3); the Linux kernel's block/partitions/msdos.c and
 * util-linux libfdisk (the EBR chain: a logical partition's start is relative to its own EBR,
 * the link to the next EBR relative to the start of the outermost extended partition, and
 * logical partitions numbered from 5).
 */
import { hasBytes, latin1 } from '../../util/bytes.js';

/** Byte offsets in sector 0 (UEFI 2.10 Table 5-1). */
export const Mbr = {
  BootCode: 0,
  BOOT_CODE_SIZE: 440,
  UniqueMBRDiskSignature: 440,
  Unknown: 444,
  PartitionRecord: 446,
  RECORD_SIZE: 16,
  RECORDS: 4,
  Signature: 510,
} as const;

/** Byte offsets in a 16-byte partition record (UEFI 2.10 Table 5-2). */
export const Record = {
  BootIndicator: 0,
  StartingCHS: 1,
  OSType: 4,
  EndingCHS: 5,
  StartingLBA: 8,
  SizeInLBA: 12,
} as const;

/** One partition record, decoded (numbers as stored; LBAs relative to whatever the record is in). */
export interface MbrRecord {
  /** 0..3: the slot in its sector. */
  slot: number;
  bootIndicator: number;
  osType: number;
  startingLba: number;
  sizeInLba: number;
  /** [cylinder, head, sector] as stored. */
  startingChs: [number, number, number];
  endingChs: [number, number, number];
}

/** Whether `sector` ends with the 0x55 0xAA signature. */
export function hasMbrSignature(sector: Uint8Array): boolean {
  return sector.length >= 512 && sector[Mbr.Signature] === 0x55 && sector[Mbr.Signature + 1] === 0xaa;
}

function chs(b: Uint8Array, at: number): [number, number, number] {
  const head = b[at]!;
  const sector = b[at + 1]! & 0x3f;
  const cylinder = ((b[at + 1]! & 0xc0) << 2) | b[at + 2]!;
  return [cylinder, head, sector];
}

/** Decodes the four records of an MBR or EBR sector. */
export function decodeRecords(sector: Uint8Array): MbrRecord[] {
  const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  const out: MbrRecord[] = [];
  for (let slot = 0; slot < Mbr.RECORDS; slot++) {
    const at = Mbr.PartitionRecord + slot * Mbr.RECORD_SIZE;
    out.push({
      slot,
      bootIndicator: sector[at + Record.BootIndicator]!,
      osType: sector[at + Record.OSType]!,
      startingLba: view.getUint32(at + Record.StartingLBA, true),
      sizeInLba: view.getUint32(at + Record.SizeInLBA, true),
      startingChs: chs(sector, at + Record.StartingCHS),
      endingChs: chs(sector, at + Record.EndingCHS),
    });
  }
  return out;
}

/** Extended-partition types whose contents are an EBR chain (DOS 0x05, Windows LBA 0x0f, Linux 0x85). */
export const EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);
/** The protective-MBR type of GPT disks (UEFI 2.10 §5.2.3). */
export const GPT_PROTECTIVE = 0xee;

/** Names of partition type ids, as partitioning tools commonly show them. */
export const MBR_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x00: 'Empty',
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x05: 'Extended',
  0x06: 'FAT16',
  0x07: 'HPFS/NTFS/exFAT',
  0x0b: 'W95 FAT32',
  0x0c: 'W95 FAT32 (LBA)',
  0x0e: 'W95 FAT16 (LBA)',
  0x0f: "W95 Ext'd (LBA)",
  0x11: 'Hidden FAT12',
  0x12: 'Compaq diagnostics',
  0x14: 'Hidden FAT16 <32M',
  0x16: 'Hidden FAT16',
  0x17: 'Hidden HPFS/NTFS',
  0x1b: 'Hidden W95 FAT32',
  0x1c: 'Hidden W95 FAT32 (LBA)',
  0x1e: 'Hidden W95 FAT16 (LBA)',
  0x27: 'Hidden NTFS WinRE',
  0x42: 'SFS',
  0x82: 'Linux swap / Solaris',
  0x83: 'Linux',
  0x84: 'OS/2 hidden or Intel hibernation',
  0x85: 'Linux extended',
  0x86: 'NTFS volume set',
  0x87: 'NTFS volume set',
  0x88: 'Linux plaintext',
  0x8e: 'Linux LVM',
  0xa5: 'FreeBSD',
  0xa6: 'OpenBSD',
  0xa8: 'Darwin UFS',
  0xa9: 'NetBSD',
  0xaf: 'HFS / HFS+',
  0xbe: 'Solaris boot',
  0xbf: 'Solaris',
  0xda: 'Non-FS data',
  0xde: 'Dell Utility',
  0xee: 'GPT',
  0xef: 'EFI (FAT-12/16/32)',
  0xfb: 'VMware VMFS',
  0xfc: 'VMware VMKCORE',
  0xfd: 'Linux raid autodetect',
};

/** The name of an MBR type id. */
export function mbrTypeName(id: number): string {
  return MBR_TYPE_NAMES[id] ?? 'unknown';
}

/** What the boot code in sector 0 looks like it is, from the strings and code each loader carries. */
export type BootCodeKind = 'empty' | 'grub2' | 'grub-legacy' | 'windows' | 'syslinux' | 'lilo' | 'unknown';

/** The instructions every Windows MBR since Windows 2000 starts with: zero AX, set up SS:SP at 0x7C00. */
const WINDOWS_ENTRY = [0x33, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x7c];

/**
 * Classifies the boot code of sector 0 (bytes 0..439) by what is in it:
 * - GRUB (boot.img and GRUB Legacy's stage1) keep the messages "GRUB ", "Geom", "Hard Disk",
 *   "Read" and " Error"; GRUB Legacy's stage1 also stores its version (3.2) at 0x3e.
 * - Windows MBRs start with `xor ax,ax; mov ss,ax; mov sp,0x7c00` and carry "Invalid partition
 *   table" and "Missing operating system".
 * - SYSLINUX's mbr.bin and altmbr.bin say "Operating system load error."; gptmbr.bin says
 *   "Missing OS" and "Disk error".
 * - LILO writes "LILO" at offset 6.
 */
export function classifyBootCode(sector: Uint8Array): { kind: BootCodeKind; evidence: string } {
  const code = sector.subarray(0, Mbr.BOOT_CODE_SIZE);
  if (code.every((b) => b === 0)) return { kind: 'empty', evidence: 'the 440 bytes of boot code are all zero' };
  const text = latin1(code);
  const has = (...words: string[]) => words.every((w) => text.includes(w));
  if (has('GRUB ', 'Geom', 'Hard Disk', 'Read', ' Error')) {
    const legacy = code[0x3e] === 3 && code[0x3f] === 2;
    return { kind: legacy ? 'grub-legacy' : 'grub2', evidence: `boot code holds GRUB's messages ("GRUB ", "Geom", "Hard Disk")${legacy ? ' and stage1 version 3.2 at 0x3e' : ''}` };
  }
  if (hasBytes(code, 0, WINDOWS_ENTRY) && (has('Invalid partition table') || has('Missing operating system'))) {
    return { kind: 'windows', evidence: 'boot code starts with the Windows MBR entry (33 C0 8E D0 BC 00 7C) and holds its messages' };
  }
  if (has('Operating system load error.') || has('Missing OS', 'Disk error')) {
    return { kind: 'syslinux', evidence: "boot code holds SYSLINUX's MBR messages" };
  }
  if (hasBytes(code, 6, [0x4c, 0x49, 0x4c, 0x4f])) return { kind: 'lilo', evidence: '"LILO" at offset 6' };
  if (hasBytes(code, 0, WINDOWS_ENTRY)) return { kind: 'windows', evidence: 'boot code starts with the Windows MBR entry (33 C0 8E D0 BC 00 7C)' };
  return { kind: 'unknown', evidence: 'boot code present but not recognised' };
}
