/**
 * The VMDK text descriptor. Reference: VMware "Virtual Disk Format 5.0" technote, "The
 * Descriptor File" (header, extent descriptions, disk database). Keys are case-insensitive;
 * `#` starts a comment; values may be quoted.
 */

/** One extent line: `RW 16777216 SPARSE "disk-s001.vmdk" 0`. */
export interface ExtentLine {
  access: string;
  sectors: number;
  type: string;
  file?: string;
  offset?: number;
  /** 1-based line number in the descriptor. */
  line: number;
}

export interface Descriptor {
  /** Header keys (`version`, `CID`, `parentCID`, `createType`, …), lower-cased. */
  header: Record<string, string>;
  extents: ExtentLine[];
  /** Disk database entries (`ddb.adapterType`, …), keys lower-cased. */
  ddb: Record<string, string>;
  /** Lines that are neither comments, keys, extents nor blank: noted, not fatal. */
  unparsed: { line: number; text: string }[];
}

/** `RW <sectors> <type> ["file name" [offset]]`; file names may hold spaces. */
const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?/i;
/** Longest descriptor, in lines, that is parsed. */
export const MAX_DESCRIPTOR_LINES = 10_000;

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Parses a descriptor's text. Never throws; what it cannot read is listed in `unparsed`. */
export function parseDescriptor(text: string): Descriptor {
  const out: Descriptor = { header: {}, extents: [], ddb: {}, unparsed: [] };
  const lines = text.split(/\r?\n/, MAX_DESCRIPTOR_LINES);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.replace(/\0+$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT.exec(line);
    if (extent) {
      const e: ExtentLine = { access: extent[1]!.toUpperCase(), sectors: Number(extent[2]), type: extent[3]!.toUpperCase(), line: i + 1 };
      if (extent[4] !== undefined) e.file = extent[4];
      if (extent[5] !== undefined) e.offset = Number(extent[5]);
      out.extents.push(e);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) {
      const key = line.slice(0, eq).trim().toLowerCase();
      const value = unquote(line.slice(eq + 1));
      if (key.startsWith('ddb.')) out.ddb[key] = value;
      else out.header[key] = value;
      continue;
    }
    out.unparsed.push({ line: i + 1, text: line.slice(0, 200) });
  }
  return out;
}

/**
 * The virtual size a descriptor declares: the sum of its extents, in bytes; `undefined` when
 * the sum is not an exact number below 2^53.
 */
export function descriptorSize(d: Descriptor): number | undefined {
  let sectors = 0;
  for (const e of d.extents) sectors += e.sectors;
  const bytes = sectors * 512;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
