/**
 * /etc/fstab (fstab(5)): one filesystem per line, six fields separated by blanks, `#` comments.
 * Octal escapes (`\040` for a space) are decoded in the first two fields. A line with fewer than
 * four fields, or whose mount point is neither a path nor `none`/`swap`, is recorded as
 * unparsed, with its number, and the rest of the file still counts.
 */

/** How an fstab line names its device. */
export type FstabSpec =
  | { kind: 'uuid' | 'label' | 'partuuid' | 'partlabel'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'other'; value: string };

export interface FstabEntry {
  /** 1-based line number. */
  line: number;
  /** The first field as written (after escape decoding). */
  device: string;
  spec: FstabSpec;
  mountpoint: string;
  type: string;
  options: string[];
  freq: number;
  passno: number;
}

export interface Fstab {
  entries: FstabEntry[];
  unparsed: { line: number; text: string; reason: string }[];
}

/** Decodes fstab's octal escapes (`\040`, `\011`, `\134`). */
export function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** What the first field names: a tag (`UUID=`, `LABEL=`, `PARTUUID=`, `PARTLABEL=`), a path, or something else. */
export function parseSpec(device: string): FstabSpec {
  const m = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/i.exec(device);
  if (m) {
    let value = m[2]!;
    // Some tools quote the value: UUID="…".
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    return { kind: m[1]!.toLowerCase() as 'uuid' | 'label' | 'partuuid' | 'partlabel', value };
  }
  if (device.startsWith('/')) return { kind: 'path', value: device };
  return { kind: 'other', value: device };
}

export function parseFstab(text: string): Fstab {
  const entries: FstabEntry[] = [];
  const unparsed: Fstab['unparsed'] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const body = raw.replace(/^\s+/, '');
    if (body === '' || body.startsWith('#')) continue;
    const fields = body.split(/\s+/).filter(Boolean);
    // A trailing comment is not part of fstab(5), but libmount tolerates it after six fields.
    const hash = fields.findIndex((f) => f.startsWith('#'));
    if (hash >= 4) fields.length = hash;
    if (fields.length < 4) {
      unparsed.push({ line: i + 1, text: raw, reason: `${fields.length} field${fields.length === 1 ? '' : 's'}, at least 4 expected` });
      continue;
    }
    const mountpoint = unescapeOctal(fields[1]!);
    // Swap lines name "none" or "swap"; every other mount point is a path.
    if (!mountpoint.startsWith('/') && mountpoint !== 'none' && mountpoint !== 'swap') {
      unparsed.push({ line: i + 1, text: raw, reason: `mount point "${mountpoint}" is not an absolute path` });
      continue;
    }
    const number = (f: string | undefined) => (f !== undefined && /^\d+$/.test(f) ? Number(f) : 0);
    const device = unescapeOctal(fields[0]!);
    entries.push({
      line: i + 1,
      device,
      spec: parseSpec(device),
      mountpoint,
      type: fields[2]!,
      options: fields[3]!.split(',').filter(Boolean),
      freq: number(fields[4]),
      passno: number(fields[5]),
    });
  }
  return { entries, unparsed };
}
