import { u64 } from '../../errors.js';
import { hasBytes, latin1, viewOf } from '../../util/bytes.js';
import type { Evidence, FormatProbe, ProbeContext, ProbeOutcome } from '../types.js';
import { DISK_TYPES, FOOTER_COOKIE, Footer as F, footerChecksum } from './layout.js';

/** Decodes one footer (at absolute `offset`) into a match, or says what is wrong with it. */
function readFooter(ctx: ProbeContext, footer: Uint8Array, offset: number, evidence: Evidence[]): ProbeOutcome {
  const view = viewOf(footer);
  const where = { layer: 'container' as const, format: 'vhd', device: ctx.dev.label, structure: 'Footer' };
  const type = view.getUint32(F.disk_type);
  const stored = view.getUint32(F.checksum);
  const computed = footerChecksum(footer);
  const currentSize = u64(view, F.current_size, false, { ...where, field: 'current_size', offset: offset + F.current_size });
  evidence.push(
    { offset, what: 'cookie "conectix"' },
    { offset: offset + F.disk_type, what: `disk_type = ${type} (${DISK_TYPES[type] ?? 'unknown'})` },
    {
      offset: offset + F.checksum,
      what: stored === computed ? 'footer checksum valid' : `footer checksum 0x${stored.toString(16)} != computed 0x${computed.toString(16)}`,
    },
  );
  const match: ProbeOutcome = {
    format: 'vhd',
    kind: 'disk',
    subformat: DISK_TYPES[type] ?? `type${type}`,
    virtualSize: currentSize,
    evidence,
    facts: {
      footerOffset: offset,
      creatorApplication: latin1(footer, F.creator_application, F.creator_application + 4),
      creatorHostOs: latin1(footer, F.creator_host_os, F.creator_host_os + 4),
      originalSize: Number(view.getBigUint64(F.original_size)),
      checksumValid: stored === computed,
      geometry: { cylinders: view.getUint16(F.disk_geometry), heads: view.getUint8(F.disk_geometry + 2), sectors: view.getUint8(F.disk_geometry + 3) },
    },
  };
  if (DISK_TYPES[type] === undefined) match.problem = `VHD disk type ${type} is not fixed (2), dynamic (3) or differencing (4)`;
  return match;
}

/**
 * Recognises VHD: the 512-byte footer at the end of every VHD (a fixed VHD has nothing else —
 * qemu-img's probe calls it raw), and the footer's copy at offset 0 of dynamic disks. A footer
 * at the very end 511 bytes long, written by early Virtual PC versions, is accepted too.
 */
export const vhdProbe: FormatProbe = {
  formats: ['vhd'],
  probe(ctx) {
    const evidence: Evidence[] = [];
    const tailFooter = ctx.size >= F.LENGTH ? ctx.peek(ctx.size - F.LENGTH, F.LENGTH) : undefined;
    if (tailFooter && hasBytes(tailFooter, 0, FOOTER_COOKIE)) {
      if (ctx.size >= 2 * F.LENGTH && hasBytes(ctx.head, 0, FOOTER_COOKIE)) evidence.push({ offset: 0, what: 'footer copy "conectix" at 0' });
      return readFooter(ctx, tailFooter, ctx.size - F.LENGTH, evidence);
    }
    const short = ctx.size >= 511 ? ctx.peek(ctx.size - 511, 511) : undefined;
    if (short && hasBytes(short, 0, FOOTER_COOKIE)) {
      const padded = new Uint8Array(F.LENGTH);
      padded.set(short);
      evidence.push({ offset: ctx.size - 511, what: '511-byte footer (early Virtual PC)' });
      return readFooter(ctx, padded, ctx.size - 511, evidence);
    }
    if (ctx.head.length >= F.LENGTH && hasBytes(ctx.head, 0, FOOTER_COOKIE)) {
      // The copy at the start of a dynamic disk, with no footer at the end: cut short.
      const match = readFooter(ctx, ctx.head.subarray(0, F.LENGTH), 0, evidence);
      if ('format' in match) {
        match.problem = 'the footer copy at offset 0 is present but the footer at the end is missing: the file is truncated';
      }
      return match;
    }
    return { reject: 'no "conectix" footer in the last 512 bytes or at 0' };
  },
};
