/**
 * A read-only consistency check of a VMDK's sparse extents, in the spirit of `qemu-img check`:
 * grain directory and table bounds, grains that overlap each other or the metadata, and in
 * compressed (streamOptimized) extents every grain marker — its LBA, its size against the
 * compressed stream's real length, and the length the grain expands to — plus the footer and
 * end-of-stream marker. Findings use the words importers print ("Uncompressed data has invalid
 * length"), so a user can search for them.
 */
import { inflateRawExpand } from '../../codec/inflate.js';
import { DiskProbeError, ErrorCode } from '../../errors.js';
import { viewOf } from '../../util/bytes.js';
import type { Disk, Finding } from '../types.js';
import { Marker } from './layout.js';
import type { SparseExtent } from './sparse.js';

const SECTOR = 512;
/** Findings listed at most (counts go on). */
const MAX_FINDINGS = 100;

export interface VmdkIntegrityReport {
  format: 'vmdk';
  extents: number;
  allocatedGrains: number;
  compressedGrains: number;
  zeroedGrains: number;
  /** Structural errors: out-of-bounds tables and grains, overlaps, bad markers, grains that do not expand. */
  errors: number;
  /** Inconsistencies that do not stop reading (a marker's size longer than its stream). */
  warnings: number;
  findings: Finding[];
}

/** The sparse extents of a VMDK disk opened by this package. */
interface WithExtents {
  sparseExtents(): readonly SparseExtent[];
}

/** Checks every sparse extent of a VMDK `Disk` (as `openDisk` returned it). */
export async function checkVmdkIntegrity(disk: Disk, options: { signal?: AbortSignal } = {}): Promise<VmdkIntegrityReport> {
  if (disk.format !== 'vmdk' || typeof (disk as Partial<WithExtents>).sparseExtents !== 'function') {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'not a VMDK disk opened by diskprobe', { layer: 'container', format: 'vmdk', device: disk.label });
  }
  const report: VmdkIntegrityReport = { format: 'vmdk', extents: 0, allocatedGrains: 0, compressedGrains: 0, zeroedGrains: 0, errors: 0, warnings: 0, findings: [] };
  const note = (severity: 'error' | 'warning', code: string, message: string, offset?: number) => {
    if (severity === 'error') report.errors++;
    else report.warnings++;
    if (report.findings.length < MAX_FINDINGS) report.findings.push(offset === undefined ? { severity, code, message } : { severity, code, message, offset });
  };
  for (const extent of (disk as unknown as WithExtents).sparseExtents()) {
    report.extents++;
    await checkExtent(extent, report, note, options.signal);
  }
  return report;
}

type Note = (severity: 'error' | 'warning', code: string, message: string, offset?: number) => void;

async function checkExtent(x: SparseExtent, report: VmdkIntegrityReport, note: Note, signal?: AbortSignal): Promise<void> {
  const h = x.header;
  const file = x.dev;
  const label = file.label;
  const grains = Math.ceil(h.capacity / h.grainSize);
  const n = h.numGTEsPerGT;
  // Ranges of the file in use, in bytes: [start, end, what].
  const used: [number, number, string][] = [[0, SECTOR, 'the header']];
  if (h.descriptorOffset > 0) used.push([h.descriptorOffset * SECTOR, (h.descriptorOffset + h.descriptorSize) * SECTOR, 'the descriptor']);
  const gdEntries = Math.ceil(grains / n);
  used.push([h.gdOffset * SECTOR, h.gdOffset * SECTOR + gdEntries * 4, 'the grain directory']);
  for (let i = 0; i < gdEntries; i++) {
    const tableSector = x.directoryEntry(i);
    if (tableSector === 0) continue;
    const at = tableSector * SECTOR;
    if (at + n * 4 > file.size) {
      note('error', 'vmdk.gt-out-of-bounds', `${label}: grain table ${i} at sector ${tableSector} lies past the end of the file`, h.gdOffset * SECTOR + i * 4);
      continue;
    }
    used.push([at, at + n * 4, `grain table ${i}`]);
    for (let k = 0; k < n; k++) {
      const g = i * n + k;
      if (g >= grains) break;
      if (signal?.aborted) throw new DiskProbeError(ErrorCode.ABORTED, 'the check was aborted', { layer: 'container', format: 'vmdk', device: label });
      let entry;
      try {
        entry = await x.entry(g, signal);
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        note('error', 'vmdk.grain-out-of-bounds', `${label}: ${e.reason}`, at + k * 4);
        continue;
      }
      if (entry.kind === 'unallocated') continue;
      if (entry.kind === 'zero') {
        report.zeroedGrains++;
        continue;
      }
      report.allocatedGrains++;
      if (entry.kind === 'data') {
        used.push([entry.offset, entry.offset + x.grainBytes, `grain ${g}`]);
        continue;
      }
      report.compressedGrains++;
      const end = await checkCompressed(x, g, entry.offset, note, signal);
      if (end !== undefined) used.push([entry.offset, end, `grain ${g}`]);
    }
  }
  // Overlaps: sort by start; each range must end before the next starts.
  used.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let overlaps = 0;
  for (let i = 1; i < used.length; i++) {
    const [s, , what] = used[i]!;
    const [, pe, pwhat] = used[i - 1]!;
    if (s < pe) {
      if (overlaps++ < 20) note('error', 'vmdk.overlap', `${label}: ${what} (at ${s}) overlaps ${pwhat} (which ends at ${pe})`, s);
      else note('error', 'vmdk.overlap', `${label}: more overlaps`, s);
    }
  }
}

/**
 * A compressed grain: its marker and stream. Returns the end of the bytes it occupies, or
 * undefined when it could not be read.
 */
async function checkCompressed(x: SparseExtent, g: number, offset: number, note: Note, signal?: AbortSignal): Promise<number | undefined> {
  const label = x.dev.label;
  const grainBytes = x.grainBytes;
  let head = 0;
  let declared: number | undefined;
  if (x.markers) {
    if (offset + Marker.data > x.dev.size) {
      note('error', 'vmdk.marker-truncated', `${label}: grain ${g}'s marker is cut off by the end of the file`, offset);
      return undefined;
    }
    const m = viewOf(await x.dev.read(offset, Marker.data, signal));
    const lba = Number(m.getBigUint64(Marker.val, true));
    declared = m.getUint32(Marker.size, true);
    head = Marker.data;
    if (lba !== g * x.header.grainSize) note('error', 'vmdk.marker-lba', `${label}: grain ${g}'s marker says LBA ${lba}, the grain table puts it at LBA ${g * x.header.grainSize}`, offset);
    if (declared === 0) {
      note('error', 'vmdk.marker-size', `${label}: grain ${g} points at a metadata marker, not a grain`, offset);
      return undefined;
    }
    if (offset + head + declared > x.dev.size) {
      note('error', 'vmdk.grain-truncated', `${label}: grain ${g}'s ${declared} compressed bytes run past the end of the file (a stream cut short)`, offset);
      return undefined;
    }
  }
  const length = declared ?? Math.min(2 * grainBytes + 1024, x.dev.size - offset);
  const data = await x.dev.read(offset + head, length, signal);
  if (data.length < 2 || (data[0]! & 0x0f) !== 8 || ((data[0]! << 8) | data[1]!) % 31 !== 0) {
    note('error', 'vmdk.grain-not-zlib', `${label}: grain ${g} does not start with a zlib header`, offset + head);
    return undefined;
  }
  let expanded: { output: Uint8Array; consumed: number };
  try {
    expanded = inflateRawExpand(data.subarray(2), grainBytes);
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    note('error', 'vmdk.grain-corrupt', `${label}: grain ${g} does not decompress (${e.reason})`, offset + head);
    return undefined;
  }
  // zlib: 2 header bytes, the deflate stream, a 4-byte Adler-32.
  const stream = 2 + expanded.consumed + 4;
  if (expanded.output.length !== grainBytes) {
    note('error', 'vmdk.grain-length', `${label}: grain ${g}: Uncompressed data has invalid length (${expanded.output.length} bytes, a grain is ${grainBytes})`, offset + head);
  }
  if (declared !== undefined && declared !== stream) {
    note(declared < stream ? 'error' : 'warning', 'vmdk.marker-size', `${label}: grain ${g}'s marker says ${declared} compressed bytes, its zlib stream is ${stream} bytes`, offset);
  }
  // What the grain really occupies: a marker that claims more is reported above, not as an overlap.
  return offset + head + Math.min(declared ?? stream, stream);
}
