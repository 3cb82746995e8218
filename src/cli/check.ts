import { mkdir, writeFile } from 'node:fs/promises';
import type { Limits } from '../limits.js';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTxt } from '../check/report.js';
import { PROFILE_NAMES } from '../check/profiles.js';
import type { NameSet } from '../check/types.js';
import { checkImage } from '../node/check.js';
import { EXIT, toJson, UsageError, type Io } from './io.js';

declare const __VERSION__: string | undefined;

export const CHECK_HELP = `Usage: diskprobe check [--profile P|all] [--format txt|json] [-o FILE] [--names V] [--no-md5] <image|url>
       diskprobe check --jobs N [options] [-o DIR] <image|url>...

Checks an image, item by item, against what each cloud requires to import it, boot it and
manage it (the items of Alibaba's image_check, DiDi's check_image, JD Cloud's rules and the
AWS, Azure, Google, Huawei, Tencent and Baidu import requirements), offline, without booting
anything. Every verdict comes with its evidence (file and line, structure and offset) and,
when not OK, a suggestion.

Options:
  --profile P    one of ${PROFILE_NAMES.join(', ')}, a comma-separated list, or all
                 (a matrix of item × cloud from one inspection). Default: generic
  --format F     txt (the vendors' console style, default) or json
  -o, --output   write the report to FILE instead of standard output
  --names V      item names in a vendor's vocabulary: alibaba, ecs, didi, jdcloud, diskprobe
  --no-md5       do not compute the MD5 and SHA-256 of the image file(s)
  --md5          compute them for an image at a URL too (reads all of it)
  -q, --quiet    no progress bar
  --timeout S    give up on an image after S seconds (exit 2, "ran past its time budget")
  -j, --jobs N   batch mode: check several images, N at a time (2 suits two cores);
                 one summary line per image as it finishes, then images per minute. With
                 -o DIR each report is written to DIR/<image>.txt or .json; with --format json
                 and no -o, one report per line (JSON Lines) on standard output
  -h, --help     show this help

Verdicts: OK; WARNING (starts, but the cloud cannot fully manage it); FAILED (will not import or
start); ERROR (could not read what the item needs, and why); SKIPPED (does not apply, and why).

Exit codes: 0 nothing FAILED; 1 something FAILED; 2 usage error, or the input could not be read.
`;

const NAME_SETS = new Set(['alibaba', 'ecs', 'didi', 'jdcloud', 'diskprobe']);

function rate(bytes: number, ms: number): string {
  return `${(bytes / 1048576 / Math.max(ms / 1000, 0.001)).toFixed(0)} MiB/s`;
}

export async function checkCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      names: { type: 'string' },
      'no-md5': { type: 'boolean' },
      md5: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      jobs: { type: 'string', short: 'j' },
      timeout: { type: 'string' },
    },
  });
  if (positionals.length < 1) throw new UsageError('expected an image (a path or an http(s) URL)');
  if (positionals.length > 1 && values.jobs === undefined) throw new UsageError('several images: give --jobs N (batch mode)');
  const format = values.format ?? 'txt';
  if (format !== 'txt' && format !== 'json') throw new UsageError(`--format must be txt or json, not "${format}"`);
  if (values.names !== undefined && !NAME_SETS.has(values.names)) throw new UsageError(`--names must be one of ${[...NAME_SETS].join(', ')}`);
  for (const p of (values.profile ?? 'generic').split(',')) if (p !== 'all' && !PROFILE_NAMES.includes(p)) throw new UsageError(`unknown profile "${p}" (known: ${PROFILE_NAMES.join(', ')}, all)`);
  if (values.jobs !== undefined) {
    const jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`--jobs must be a whole number from 1 to 256, not "${values.jobs}"`);
    return batch(positionals, jobs, format, values, io);
  }
  const tty = !values.quiet && process.stderr.isTTY === true;
  const started = Date.now();
  let shown = false;
  const onDigestProgress = (bytes: number, total: number) => {
    if (!tty) return;
    const ms = Date.now() - started;
    const eta = bytes > 0 ? ((total - bytes) * ms) / bytes / 1000 : 0;
    const width = 30;
    const filled = total ? Math.round((bytes / total) * width) : width;
    io.err(`\r  md5 [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(bytes / 1048576).toFixed(0)}/${(total / 1048576).toFixed(0)} MiB ${rate(bytes, ms)} ETA ${eta.toFixed(0)}s `);
    shown = true;
  };
  const digest = values['no-md5'] ? false : values.md5 ? true : undefined;
  const { report, http } = await checkImage(positionals[0]!, {
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.names !== undefined ? { names: values.names as NameSet } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...limitsOf(values),
    onDigestProgress,
    version: typeof __VERSION__ === 'string' ? __VERSION__ : 'dev',
  });
  if (shown) io.err('\n');
  const text = format === 'json' ? `${toJson(http ? { ...report, http } : report)}\n` : `${renderTxt(report)}${http ? `Fetched ${http.bytesFetched} bytes in ${http.requests} requests.\n` : ''}`;
  if (values.output !== undefined) {
    await writeFile(values.output, text);
    io.err(`report written to ${values.output}\n`);
  } else io.out(text);
  const failed = report.profiles.some((p) => p.counts.FAILED > 0);
  return failed ? EXIT.PROBLEM : EXIT.OK;
}

/**
 * Batch mode: `jobs` checks in flight at once (their reads overlap; the rules of one run while
 * another waits for bytes), a summary line per image as it finishes, then the rate.
 */
/** `--timeout S` as the check's time budget. */
function limitsOf(values: { timeout?: string }): { limits?: Limits } {
  if (values.timeout === undefined) return {};
  const s = Number(values.timeout);
  if (!(s > 0) || !Number.isFinite(s)) throw new UsageError(`--timeout must be a positive number of seconds, not "${values.timeout}"`);
  return { limits: { timeoutMs: Math.round(s * 1000) } };
}

async function batch(images: string[], jobs: number, format: 'txt' | 'json', values: { profile?: string; names?: string; output?: string; 'no-md5'?: boolean; md5?: boolean; timeout?: string }, io: Io): Promise<number> {
  const started = Date.now();
  const digest = values['no-md5'] ? false : values.md5 ? true : undefined;
  if (values.output !== undefined) await mkdir(values.output, { recursive: true });
  let next = 0;
  let failed = 0;
  let unreadable = 0;
  const used = new Set<string>();
  const worker = async () => {
    while (next < images.length) {
      const image = images[next++]!;
      const t = Date.now();
      try {
        const { report, http } = await checkImage(image, {
          ...(values.profile !== undefined ? { profile: values.profile } : {}),
          ...(values.names !== undefined ? { names: values.names as NameSet } : {}),
          ...(digest !== undefined ? { digest } : {}),
          ...limitsOf(values),
          version: typeof __VERSION__ === 'string' ? __VERSION__ : 'dev',
        });
        const anyFailed = report.profiles.some((p) => p.counts.FAILED > 0);
        if (anyFailed) failed++;
        const counts = report.profiles.map((p) => `${p.profile} ${p.counts.OK}/${p.counts.FAILED}/${p.counts.WARNING}/${p.counts.ERROR}`).join(' ');
        io.err(`${anyFailed ? 'FAILED' : 'ok    '} ${image}  ${((Date.now() - t) / 1000).toFixed(2)} s  (OK/FAILED/WARNING/ERROR: ${counts})\n`);
        const body = format === 'json' ? toJson(http ? { ...report, http } : report) : renderTxt(report);
        if (values.output !== undefined) {
          // One file per image; the same base name twice gets a number.
          let name = basename(image.replace(/[?#].*$/, '')) || 'image';
          for (let n = 2; used.has(name); n++) name = `${basename(image)}.${n}`;
          used.add(name);
          await writeFile(join(values.output, `${name}.${format}`), format === 'json' ? `${body}\n` : body);
        } else if (format === 'json') io.out(`${JSON.stringify(JSON.parse(body))}\n`);
      } catch (e) {
        unreadable++;
        io.err(`ERROR  ${image}  ${(e as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, images.length) || 1 }, worker));
  const s = (Date.now() - started) / 1000;
  io.err(`${images.length} image(s) in ${s.toFixed(2)} s with ${jobs} job(s): ${((images.length / Math.max(s, 0.001)) * 60).toFixed(0)} images per minute; ${failed} with FAILED items, ${unreadable} not checked\n`);
  return unreadable ? EXIT.USAGE : failed ? EXIT.PROBLEM : EXIT.OK;
}
