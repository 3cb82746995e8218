import { u64 } from '../../errors.js';
import { guidString, hasBytes, utf16le, viewOf } from '../../util/bytes.js';
import type { Evidence, FormatProbe, ProbeContext, ProbeMatch, ProbeOutcome } from '../types.js';
import {
  FILE_SIGNATURE,
  FileParametersFlags,
  Guids,
  METADATA_SIGNATURE,
  MetadataTableEntry as ME,
  MetadataTableHeader as MH,
  REGION_TABLE_LENGTH,
  REGION_TABLE_OFFSETS,
  REGION_TABLE_SIGNATURE,
  RegionTableEntry as RE,
  RegionTableHeader as RH,
} from './layout.js';

/** Finds the metadata region in a region table: its file offset, or a reason. */
function metadataRegion(table: Uint8Array): number | string {
  if (!hasBytes(table, 0, REGION_TABLE_SIGNATURE)) return 'no "regi" signature';
  if (table.length < RH.LENGTH) return `region table cut short at ${table.length} bytes`;
  const view = viewOf(table);
  const count = view.getUint32(RH.EntryCount, true);
  if (count > RH.MAX_ENTRIES) return `EntryCount ${count} exceeds ${RH.MAX_ENTRIES}`;
  for (let i = 0; i < count; i++) {
    const at = RH.LENGTH + i * RE.LENGTH;
    if (at + RE.LENGTH > table.length) break;
    if (guidString(table, at + RE.Guid) === Guids.MetadataRegion) {
      const offset = view.getBigUint64(at + RE.FileOffset, true);
      return offset < 2n ** 53n ? Number(offset) : 'metadata region offset beyond 2^53';
    }
  }
  return 'no metadata region entry';
}

/** Reads the metadata items the probe reports: virtual size and file parameters. */
async function readMetadata(ctx: ProbeContext, regionOffset: number, match: ProbeMatch): Promise<void> {
  const table = await ctx.read(regionOffset, 64 * 1024);
  if (!table || !hasBytes(table, 0, METADATA_SIGNATURE) || table.length < MH.LENGTH) {
    match.problem = `no complete metadata table at ${regionOffset}`;
    return;
  }
  const view = viewOf(table);
  const count = Math.min(view.getUint16(MH.EntryCount, true), MH.MAX_ENTRIES);
  match.evidence.push({ offset: regionOffset, what: `metadata table, ${count} entries` });
  const where = { layer: 'container' as const, format: 'vhdx', device: ctx.dev.label, structure: 'VirtualDiskSize' };
  for (let i = 0; i < count; i++) {
    const at = MH.LENGTH + i * ME.LENGTH;
    if (at + ME.LENGTH > table.length) break;
    const id = guidString(table, at + ME.ItemId);
    const itemOffset = regionOffset + view.getUint32(at + ME.Offset, true);
    if (id === Guids.VirtualDiskSize) {
      const item = await ctx.read(itemOffset, 8);
      if (item?.length === 8) {
        match.virtualSize = u64(viewOf(item), 0, true, { ...where, field: 'VirtualDiskSize', offset: itemOffset });
        match.evidence.push({ offset: itemOffset, what: `VirtualDiskSize = ${match.virtualSize}` });
      }
    } else if (id === Guids.FileParameters) {
      const item = await ctx.read(itemOffset, 8);
      if (item?.length === 8) {
        const p = viewOf(item);
        const flags = p.getUint32(4, true);
        match.facts!.blockSize = p.getUint32(0, true);
        match.facts!.leaveBlockAllocated = (flags & FileParametersFlags.LeaveBlockAllocated) !== 0;
        match.facts!.hasParent = (flags & FileParametersFlags.HasParent) !== 0;
        match.subformat = match.facts!.hasParent ? 'differencing' : match.facts!.leaveBlockAllocated ? 'fixed' : 'dynamic';
      }
    }
  }
}

/**
 * Recognises VHDX by its file type identifier, then follows the region table to the metadata
 * region for the virtual size and whether the disk is fixed, dynamic or differencing. Checksums
 * are verified by the reader, not here.
 */
export const vhdxProbe: FormatProbe = {
  formats: ['vhdx'],
  async probe(ctx): Promise<ProbeOutcome> {
    if (!hasBytes(ctx.head, 0, FILE_SIGNATURE)) return { reject: 'no "vhdxfile" signature at 0' };
    const evidence: Evidence[] = [{ offset: 0, what: 'file type identifier "vhdxfile"' }];
    const match: ProbeMatch = {
      format: 'vhdx',
      kind: 'disk',
      evidence,
      facts: { creator: utf16le(ctx.head, 8, 512) },
    };
    let reason = '';
    for (const offset of REGION_TABLE_OFFSETS) {
      const table = await ctx.read(offset, REGION_TABLE_LENGTH);
      const region = table ? metadataRegion(table) : 'past the end of the file';
      if (typeof region === 'number') {
        evidence.push({ offset, what: 'region table "regi"' });
        await readMetadata(ctx, region, match);
        return match;
      }
      reason += `${reason ? '; ' : ''}region table at ${offset}: ${region}`;
    }
    match.problem = `damaged VHDX: ${reason}`;
    return match;
  },
};
