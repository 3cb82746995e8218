import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderTxt } from '../check/report.js';
import { PROFILE_NAMES } from '../check/profiles.js';
import type { NameSet } from '../check/types.js';
import { checkImage } from '../node/check.js';
import { EXIT, toJson, UsageError, type Io } from './io.js';

declare const __VERSION__: string | undefined;

export const CHECK_HELP = `Usage: diskprobe check [--profile P|all] [--format txt|json] [-o FILE] [--names V] [--no-md5] <image|url>

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
    },
  });
  if (positionals.length !== 1) throw new UsageError('expected one image (a path or an http(s) URL)');
  const format = values.format ?? 'txt';
  if (format !== 'txt' && format !== 'json') throw new UsageError(`--format must be txt or json, not "${format}"`);
  if (values.names !== undefined && !NAME_SETS.has(values.names)) throw new UsageError(`--names must be one of ${[...NAME_SETS].join(', ')}`);
  for (const p of (values.profile ?? 'generic').split(',')) if (p !== 'all' && !PROFILE_NAMES.includes(p)) throw new UsageError(`unknown profile "${p}" (known: ${PROFILE_NAMES.join(', ')}, all)`);
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
