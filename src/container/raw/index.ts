/**
 * Raw images: the guest's bytes as they are. Probed last, when no container matched; the
 * evidence says what the first sectors hold (a partition table, a filesystem) or that the
 * image is blank.
 */
import { asciiBytes, hasBytes, isAllZero } from '../../util/bytes.js';
import { checkRead } from '../../device/check.js';
import type { BlockDevice } from '../../device/types.js';
import type { Disk, Evidence, FormatProbe, ProbeContext, ProbeMatch } from '../types.js';

/** Signatures noted as evidence for a raw image (offset, bytes, meaning). Hints, not verdicts. */
const SIGNATURES: readonly [number, Uint8Array, string][] = [
  [510, new Uint8Array([0x55, 0xaa]), 'MBR boot signature 55aa'],
  [512, asciiBytes('EFI PART'), 'GPT header "EFI PART" (512-byte sectors)'],
  [4096, asciiBytes('EFI PART'), 'GPT header "EFI PART" (4096-byte sectors)'],
  [1080, new Uint8Array([0x53, 0xef]), 'ext2/3/4 superblock magic ef53'],
  [0, asciiBytes('XFSB'), 'XFS superblock "XFSB"'],
  [3, asciiBytes('NTFS    '), 'NTFS boot sector "NTFS"'],
  [54, asciiBytes('FAT1'), 'FAT12/16 boot sector'],
  [82, asciiBytes('FAT32'), 'FAT32 boot sector'],
  [512, asciiBytes('LABELONE'), 'LVM2 physical volume label "LABELONE"'],
  [4086, asciiBytes('SWAPSPACE2'), 'Linux swap "SWAPSPACE2"'],
  [0x10040, asciiBytes('_BHRfS_M'), 'btrfs superblock'],
];

/** Interior places sampled for an all-zero image, as fractions of the size. */
const ZERO_SAMPLES = [0.25, 0.5, 0.75];
const ZERO_SAMPLE_BYTES = 4096;

async function probeRaw(ctx: ProbeContext): Promise<ProbeMatch> {
  const evidence: Evidence[] = [];
  for (const [offset, magic, what] of SIGNATURES) {
    if (hasBytes(ctx.head, offset, magic)) evidence.push({ offset, what });
  }
  const match: ProbeMatch = { format: 'raw', kind: 'disk', virtualSize: rawDiskSize(ctx.size), evidence };
  if (ctx.size % SECTOR_BYTES !== 0) {
    match.facts = { fileSize: ctx.size };
  }
  const odd = () => {
    if (ctx.size % SECTOR_BYTES !== 0) {
      evidence.push({ offset: ctx.size, what: `size ${ctx.size} is not a multiple of ${SECTOR_BYTES}: the last sector is completed with zeros` });
    }
  };
  if (evidence.length > 0 || !isAllZero(ctx.head) || !isAllZero(ctx.tail)) {
    if (evidence.length === 0) evidence.push({ offset: 0, what: 'no container signature; data present' });
    odd();
    return match;
  }
  // Head and tail are zero: look at a few places in between before calling the image blank.
  let sampled = ctx.head.length + ctx.tail.length;
  const covered = sampled >= ctx.size;
  if (!covered) {
    for (const fraction of ZERO_SAMPLES) {
      const at = Math.floor((ctx.size * fraction) / ZERO_SAMPLE_BYTES) * ZERO_SAMPLE_BYTES;
      const bytes = await ctx.read(at, ZERO_SAMPLE_BYTES);
      if (!bytes) continue;
      if (!isAllZero(bytes)) {
        evidence.push({ offset: at, what: 'first 64 KiB and last bytes are zero; data further in' });
        odd();
        return match;
      }
      sampled += bytes.length;
    }
  }
  odd();
  match.subformat = 'zero';
  evidence.push({ offset: 0, what: covered ? `all ${ctx.size} bytes are zero` : `all ${sampled} sampled bytes are zero` });
  match.problem = covered
    ? 'the image is all zeros: it holds no partition table, filesystem or boot loader'
    : 'every sampled byte is zero (start, end and three places between): the image holds no partition table, filesystem or boot loader';
  return match;
}

export const rawProbe: FormatProbe = { formats: ['raw'], probe: probeRaw };

/** The guest sees whole sectors: a raw file's size rounded up to a multiple of this. */
export const SECTOR_BYTES = 512;

/** The guest-visible size of a raw file: its size rounded up to whole sectors. */
export function rawDiskSize(fileSize: number): number {
  return Math.ceil(fileSize / SECTOR_BYTES) * SECTOR_BYTES;
}

/**
 * Opens a raw image: the guest-visible bytes are the source's bytes. A file whose size is not
 * a whole number of sectors is presented, as qemu presents it, as a disk rounded up to the
 * next sector, the missing tail reading as zeros.
 */
export function openRaw(dev: BlockDevice, subformat?: string): Disk {
  const size = rawDiskSize(dev.size);
  const fileSize = dev.size;
  const read =
    size === fileSize
      ? (offset: number, length: number, signal?: AbortSignal) => dev.read(offset, length, signal)
      : async (offset: number, length: number, signal?: AbortSignal) => {
          checkRead('raw', dev.label, size, offset, length, signal);
          if (offset + length <= fileSize) return dev.read(offset, length, signal);
          const out = new Uint8Array(length);
          if (offset < fileSize) out.set(await dev.read(offset, fileSize - offset, signal));
          return out;
        };
  const disk: Disk = { size, label: dev.label, format: 'raw', source: dev, facts: { fileSize }, read };
  return subformat === undefined ? disk : { ...disk, subformat };
}
