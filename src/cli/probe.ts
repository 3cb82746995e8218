import { parseArgs } from 'node:util';
import { probe, type ProbeResult } from '../index.js';
import { DiskProbeError } from '../errors.js';
import { openSource } from '../node/source.js';
import { EXIT, humanSize, toJson, UsageError, type Io } from './io.js';

export const PROBE_HELP = `Usage: diskprobe probe [--json] [--verbose] <path|url>...

Says what each input is: its container format (raw, qcow2, VMDK, VHD, VHDX, and the formats
uploaded by mistake: ISO 9660, gzip, xz, zstd, bzip2, zip, tar, OVA, LUKS, empty or all-zero
files), the variant, the virtual size the header declares, and the evidence (offsets and
magic numbers). A URL must answer HTTP range requests.

Options:
  --json         print a JSON array, one object per input: path, format, subformat, kind,
                 virtualSize, fileSize, evidence, rejected, problem, alsoMatched, readable, facts
                 (or, for an input that could not be read, path and error: code, message, …)
  -v, --verbose  also print the evidence and why each other format was rejected
  -h, --help     show this help

Exit codes: 0 every input is a disk image; 1 some input is not a usable disk image (an ISO, an
archive, compressed, encrypted, empty, all-zero, ambiguous, or an unsupported variant);
2 usage error or an input could not be read.
`;

interface Row {
  path: string;
  result?: ProbeResult;
  error?: DiskProbeError | Error;
}

export async function probeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
  });
  if (positionals.length === 0) throw new UsageError('no input given');

  const rows: Row[] = [];
  for (const path of positionals) {
    let dev;
    try {
      dev = await openSource(path);
      rows.push({ path, result: await probe(dev) });
    } catch (e) {
      rows.push({ path, error: e as Error });
    } finally {
      await dev?.close?.();
    }
  }

  if (values.json) {
    io.out(
      toJson(
        rows.map(({ path, result, error }) =>
          error
            ? { path, error: error instanceof DiskProbeError ? error.toJSON() : { message: error.message } }
            : { path, ...result },
        ),
      ) + '\n',
    );
  } else {
    io.out(table(rows, values.verbose ?? false));
  }
  if (rows.some((r) => r.error)) return EXIT.USAGE;
  if (rows.some((r) => r.result?.problem)) return EXIT.PROBLEM;
  return EXIT.OK;
}

function table(rows: Row[], verbose: boolean): string {
  const header = ['PATH', 'FORMAT', 'SUBFORMAT', 'VIRTUAL SIZE', 'FILE SIZE'];
  const cells = rows.map(({ path, result, error }) =>
    error
      ? [path, 'error', '-', '-', '-']
      : [path, result!.format, result!.subformat ?? '-', humanSize(result!.virtualSize), humanSize(result!.fileSize)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ') + '\n';
  let out = line(header) + cells.map(line).join('');

  const notes: string[] = [];
  for (const { path, result, error } of rows) {
    if (error) notes.push(`${path}: error: ${error.message}`);
    else if (result?.problem) notes.push(`${path}: ${result.problem}`);
    if (verbose && result) {
      for (const e of result.evidence) notes.push(`${path}: evidence at 0x${e.offset.toString(16)}: ${e.what}`);
      for (const m of result.alsoMatched) notes.push(`${path}: also matches ${m.format}${m.subformat ? ` (${m.subformat})` : ''}`);
      for (const r of result.rejected) notes.push(`${path}: not ${r.format}: ${r.reason}`);
    }
  }
  if (notes.length) out += '\n' + notes.join('\n') + '\n';
  if (rows.length > 1) {
    const ok = rows.filter((r) => r.result && !r.result.problem).length;
    out += `\n${rows.length} inputs: ${ok} disk image${ok === 1 ? '' : 's'} without problems, ${rows.length - ok} with problems or errors\n`;
  }
  return out;
}
