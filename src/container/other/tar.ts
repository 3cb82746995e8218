/**
 * tar archives, and OVA packages (a tar whose first member is an OVF descriptor).
 * References: POSIX.1-2017 pax, "ustar Interchange Format" (header layout and checksum) and
 * "pax Extended Header" (`path=` records); GNU tar manual, "Basic Tar Format" (the `L` long
 * name member, base-256 sizes); DMTF DSP0243 2.1.1, 5.3 (an OVA's OVF descriptor comes first).
 */
import { asciiBytes, cString, hasBytes } from '../../util/bytes.js';
import type { Evidence, FormatProbe, ProbeContext, ProbeOutcome } from '../types.js';

export const BLOCK = 512;
/** ustar header field offsets. */
export const TarHeader = { name: 0, size: 124, chksum: 148, typeflag: 156, magic: 257, prefix: 345 } as const;
const USTAR = asciiBytes('ustar');
const POSIX_MAGIC = asciiBytes('ustar\x0000');
/** Members looked at, at most: enough to name an OVA's descriptor, manifest and first disk. */
const MAX_MEMBERS = 4;
/** Longest pax or GNU long-name record read. */
export const MAX_LONG_NAME = 4096;

/** The header's checksum is valid (POSIX: the sum of its bytes, chksum counted as spaces). */
export function checksumValid(h: Uint8Array): boolean {
  const stored = parseInt(cString(h, TarHeader.chksum, 8).trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= TarHeader.chksum && i < TarHeader.chksum + 8 ? 0x20 : h[i]!;
  return sum === stored;
}

/** A member's size: octal text, or GNU base-256 when the top bit of the first byte is set. */
export function memberSize(h: Uint8Array): number | undefined {
  const field = h.subarray(TarHeader.size, TarHeader.size + 12);
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < 12; i++) n = n * 256 + field[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = cString(field, 0, 12).trim();
  if (!/^[0-7]*$/.test(text)) return undefined;
  return text === '' ? 0 : parseInt(text, 8);
}

export function memberName(h: Uint8Array): string {
  const name = cString(h, TarHeader.name, 100);
  // Only POSIX ustar ("ustar\0" "00") has a name prefix; GNU's "ustar  \0" keeps times there.
  const prefix = hasBytes(h, TarHeader.magic, POSIX_MAGIC) ? cString(h, TarHeader.prefix, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

async function probeTar(ctx: ProbeContext): Promise<ProbeOutcome> {
  const first = ctx.peek(0, BLOCK);
  if (!first) return { reject: 'shorter than a tar header' };
  const ustar = hasBytes(first, TarHeader.magic, USTAR);
  if (!checksumValid(first)) return { reject: ustar ? '"ustar" magic, but the header checksum is wrong' : 'no "ustar" magic at 257 and no valid tar header checksum' };

  const evidence: Evidence[] = [{ offset: 0, what: ustar ? 'tar header, "ustar" magic at 257, checksum valid' : 'tar header (pre-POSIX), checksum valid' }];
  const members: { name: string; size: number; offset: number }[] = [];
  let at = 0;
  let longName: string | undefined;
  for (let guard = 0; members.length < MAX_MEMBERS && guard < MAX_MEMBERS * 2 && at + BLOCK <= ctx.size; guard++) {
    const h = at === 0 ? first : await ctx.read(at, BLOCK);
    if (!h || h.length < BLOCK || !checksumValid(h)) break;
    const size = memberSize(h);
    if (size === undefined) break;
    const type = String.fromCharCode(h[TarHeader.typeflag]!);
    const data = at + BLOCK;
    if (type === 'x' || type === 'L') {
      // The next member's real name, in a pax record or a GNU long-name member.
      const record = await ctx.read(data, Math.min(size, MAX_LONG_NAME));
      // pax records are UTF-8 (POSIX pax, "pax Extended Header").
      const text = record ? new TextDecoder('utf-8', { fatal: false }).decode(record) : '';
      longName = type === 'L' ? text.replace(/\0.*$/s, '') : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1];
    } else if (type !== 'g') {
      members.push({ name: longName ?? memberName(h), size, offset: data });
      longName = undefined;
    }
    at = data + Math.ceil(size / BLOCK) * BLOCK;
  }
  const names = members.map((m) => m.name);
  if (members.length > 0) evidence.push({ offset: 0, what: `members: ${names.map((n) => `"${n}"`).join(', ')}${members.length === MAX_MEMBERS ? ', …' : ''}` });
  const firstName = names[0] ?? '';
  if (/\.ovf$/i.test(firstName)) {
    const disks = names.filter((n) => /\.(vmdk|vhdx?|qcow2|img|raw|iso)(\.gz)?$/i.test(n));
    return {
      format: 'ova',
      kind: 'archive',
      evidence,
      facts: { members },
      problem:
        `an OVA package (descriptor "${firstName}"${disks.length ? `, disk${disks.length > 1 ? 's' : ''} ${disks.map((d) => `"${d}"`).join(', ')}` : ''}): ` +
        'open the disk image inside it, or import it with a tool that reads OVA',
    };
  }
  return {
    format: 'tar',
    kind: 'archive',
    evidence,
    facts: { members },
    problem: `a tar archive${firstName ? ` (first member "${firstName}")` : ''}: extract it and upload the disk image inside`,
  };
}

export const tarProbe: FormatProbe = { formats: ['tar', 'ova'], probe: probeTar };
