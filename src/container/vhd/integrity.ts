/**
 * Read-only consistency checks of VHD and VHDX allocation, in the spirit of `qemu-img check`:
 * every allocated block inside the file and not overlapping another block or the metadata;
 * VHDX BAT states the specification allows ([MS-VHDX] 2.5.1) and, for fixed VHDX, every block
 * present. Header, footer and checksum problems are found on opening and are in the disk's
 * findings; they are counted here too.
 */
import type { Disk, Finding } from '../types.js';

const MiB = 1024 * 1024;
const MAX_FINDINGS = 100;

export interface AllocationReport {
  format: 'vhd' | 'vhdx';
  blocks: number;
  allocatedBlocks: number;
  errors: number;
  warnings: number;
  findings: Finding[];
}

type VhdAllocation = { bat: Uint32Array; blockBytes: number; bitmapBytes: number; tableOffset: number; headerOffset: number };
type VhdxAllocation = { bat: Float64Array; blockSize: number; chunkRatio: number };

/** Checks a VHD or VHDX `Disk` opened by this package. */
export function checkVhdIntegrity(disk: Disk): AllocationReport {
  const format = disk.format === 'vhdx' ? 'vhdx' : 'vhd';
  const report: AllocationReport = { format, blocks: 0, allocatedBlocks: 0, errors: 0, warnings: 0, findings: [] };
  const note = (severity: 'error' | 'warning', code: string, message: string, offset?: number) => {
    if (severity === 'error') report.errors++;
    else report.warnings++;
    if (report.findings.length < MAX_FINDINGS) report.findings.push(offset === undefined ? { severity, code, message } : { severity, code, message, offset });
  };
  for (const f of disk.findings ?? []) if (f.severity !== 'info') note(f.severity === 'error' ? 'error' : 'warning', f.code, f.message, f.offset);
  const fileSize = disk.source.size;
  const ranges: [number, number, string][] = [];
  const a = (disk as unknown as { allocation?: () => unknown }).allocation?.();
  if (!a) return report;
  if (format === 'vhd') {
    const v = a as VhdAllocation;
    report.blocks = v.bat.length;
    ranges.push([0, 512, 'the footer copy'], [v.headerOffset, v.headerOffset + 1024, 'the dynamic header'], [v.tableOffset, v.tableOffset + v.bat.length * 4, 'the BAT'], [fileSize - 512, fileSize, 'the footer']);
    for (let i = 0; i < v.bat.length; i++) {
      const e = v.bat[i]!;
      if (e === 0xffffffff) continue;
      report.allocatedBlocks++;
      const at = e * 512;
      const end = at + v.bitmapBytes + v.blockBytes;
      if (end > fileSize - 512) note('error', 'vhd.block-out-of-bounds', `block ${i} at sector ${e} runs past the footer (ends at ${end}, the footer is at ${fileSize - 512})`, v.tableOffset + i * 4);
      else ranges.push([at, end, `block ${i}`]);
    }
  } else {
    const x = a as VhdxAllocation;
    for (let i = 0; i < x.bat.length; i++) {
      const entry = x.bat[i]!;
      const state = entry % 8;
      const isBitmap = (i + 1) % (x.chunkRatio + 1) === 0;
      const offset = Math.floor(entry / MiB) * MiB;
      if (!isBitmap) report.blocks++;
      if (isBitmap ? state !== 0 && state !== 6 : ![0, 1, 2, 3, 6, 7].includes(state)) note('error', 'vhdx.bat-state', `BAT entry ${i}: state ${state} is not one the specification allows for a ${isBitmap ? 'sector bitmap' : 'payload'} entry`);
      if (state !== 6 && state !== 7) continue;
      if (!isBitmap) report.allocatedBlocks++;
      const length = isBitmap ? MiB : x.blockSize;
      if (offset < MiB) note('error', 'vhdx.bat-offset', `BAT entry ${i} points into the first MiB (headers and region tables)`);
      else if (offset + length > fileSize) note('error', 'vhdx.block-out-of-bounds', `BAT entry ${i} at ${offset} runs past the end of the file`);
      else ranges.push([offset, offset + length, `BAT entry ${i}`]);
    }
  }
  ranges.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) note('error', `${format}.overlap`, `${ranges[i]![2]} (at ${ranges[i]![0]}) overlaps ${ranges[i - 1]![2]} (which ends at ${ranges[i - 1]![1]})`, ranges[i]![0]);
  }
  return report;
}
