/**
 * Reports: one structure (what `check` returns and the JSON report prints) with the vendors'
 * fields — platform, os_big_version, os_small_version, architecture, system_disk_size, version,
 * time, check_items[] of name, result, error_code, description, comment — and diskprobe's richer
 * fields beside them; and the TXT rendering in the vendors' console style. The JSON Schema is
 * docs/check-report.schema.json.
 */
import type { Finding } from '../container/types.js';
import { mountedStats, type CheckContext } from './context.js';
import { RULES } from './rules/index.js';
import type { CheckOptions } from './engine.js';
import type { CheckEvidence, CheckItem, ImageFacts, ImportParameters, ProfileReport, Verdict } from './types.js';

/** One item as the vendors' JSON holds it, with diskprobe's fields beside. */
export interface ReportItem {
  name: string;
  result: Verdict;
  /** `0` OK, `1` WARNING, `2` FAILED, `3` ERROR, `4` SKIPPED. */
  error_code: string;
  description: string;
  /** The suggestion (vendors' "comment"), empty when OK. */
  comment: string;
  id: string;
  title: string;
  evidence: CheckEvidence[];
  value?: string | number;
}

export interface ReportProfile {
  profile: string;
  title: string;
  check_items: ReportItem[];
  counts: Record<Verdict, number>;
  import_parameters: ImportParameters;
}

/** What `check` returns, and what `--format json` prints. */
export interface CheckReport {
  platform: string;
  os_big_version: string;
  os_small_version: string;
  architecture: string;
  /** GiB, rounded up, as a string (as the vendors' reports print it). */
  system_disk_size: string;
  version: string;
  /** `YYYY-MM-DD_HH-MM-SS` in UTC, as image_check prints it. */
  time: string;
  /** The same instant in ISO 8601. */
  timestamp: string;
  /** The items of the first (or only) profile, in the vendors' shape. */
  check_items: ReportItem[];
  profile: string;
  profiles: ReportProfile[];
  /** Item id → profile → verdict, when more than one profile ran. */
  matrix?: Record<string, Record<string, Verdict>>;
  image: Omit<ImageFacts, 'findings'>;
  volumes: { id: string; scheme: string; start?: number; size: number; type: string; typeName: string; content: string; uuid?: string; label?: string }[];
  filesystems: { mount: string; volume: string; type: string; size?: number; free?: number; available?: number; inodes?: number; freeInodes?: number; features?: string[]; clean?: boolean; error?: string }[];
  guest?: { root: string; distro: string; version?: string; product?: string; hostname?: string; arch?: string; kernel?: string; bootLoader: string; cmdline?: string };
  findings: Finding[];
}

const CODES: Record<Verdict, string> = { OK: '0', WARNING: '1', FAILED: '2', ERROR: '3', SKIPPED: '4' };

function item(i: CheckItem): ReportItem {
  const r: ReportItem = { name: i.name, result: i.verdict, error_code: CODES[i.verdict], description: i.description, comment: i.suggestion ?? '', id: i.id, title: i.title, evidence: i.evidence };
  if (i.value !== undefined) r.value = i.value;
  return r;
}

function vendorTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}_${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
}

export async function buildReport(ctx: CheckContext, profiles: ProfileReport[], options: CheckOptions): Promise<CheckReport> {
  const time = options.time ?? new Date();
  const g = ctx.guest;
  const w = g ? undefined : ctx.windows;
  const first = profiles[0]!;
  const params = first.importParameters;
  const [big, small] = (g?.identity.version ?? w?.identity.version ?? '').split('.');
  const { findings, ...image } = ctx.image;
  const report: CheckReport = {
    platform: params.platform ?? '',
    os_big_version: big ?? '',
    os_small_version: small ?? '',
    architecture: g?.arch ?? w?.arch ?? '',
    system_disk_size: params.systemDiskSizeGB !== undefined ? String(params.systemDiskSizeGB) : '',
    version: options.version ?? 'dev',
    time: vendorTime(time),
    timestamp: time.toISOString(),
    check_items: first.items.map(item),
    profile: first.profile,
    profiles: profiles.map((p) => ({ profile: p.profile, title: p.title, check_items: p.items.map(item), counts: p.counts, import_parameters: p.importParameters })),
    image,
    volumes: (ctx.layout?.volumes ?? []).map((v) => {
      const o: CheckReport['volumes'][number] = { id: v.id, scheme: v.scheme, size: v.size, type: v.type, typeName: v.typeName, content: v.content.type };
      if (v.start !== undefined) o.start = v.start;
      if (v.content.uuid) o.uuid = v.content.uuid;
      if (v.content.label) o.label = v.content.label;
      return o;
    }),
    filesystems: g || w
      ? (await mountedStats(ctx)).map((s) => {
          if (!s.stats) return { mount: s.path, volume: s.volume, type: s.type, error: s.error ?? 'unreadable' };
          const st = s.stats;
          return { mount: s.path, volume: s.volume, type: st.type, size: st.blocks * st.blockSize, free: st.freeBlocks * st.blockSize, available: Math.max(0, st.freeBlocks - st.reservedBlocks) * st.blockSize, inodes: st.inodes, freeInodes: st.freeInodes, features: st.features, clean: st.state.clean };
        })
      : [],
    findings: [...findings, ...(ctx.layout?.findings ?? []), ...(ctx.inspection?.findings ?? []), ...(g?.findings ?? w?.findings ?? [])],
  };
  if (profiles.length > 1) {
    const matrix: Record<string, Record<string, Verdict>> = {};
    for (const p of profiles) for (const i of p.items) (matrix[i.id] ??= {})[p.profile] = i.verdict;
    // Rows in catalogue order.
    const order = new Map(RULES.map((r, n) => [r.id, n]));
    report.matrix = Object.fromEntries(Object.entries(matrix).sort(([a], [b]) => (order.get(a) ?? 999) - (order.get(b) ?? 999)));
  }
  if (g) {
    const gs: NonNullable<CheckReport['guest']> = { root: g.root, distro: g.identity.distro, bootLoader: g.boot.loader };
    if (g.identity.version) gs.version = g.identity.version;
    if (g.identity.product) gs.product = g.identity.product;
    if (g.hostname) gs.hostname = g.hostname;
    if (g.arch) gs.arch = g.arch;
    const k = g.boot.defaultKernel ?? g.kernels[0];
    if (k) gs.kernel = k.version;
    if (g.boot.cmdline !== undefined) gs.cmdline = g.boot.cmdline;
    report.guest = gs;
  } else if (w) {
    const gs: NonNullable<CheckReport['guest']> = { root: w.root, distro: 'windows', bootLoader: w.boot.bootmgr.length ? 'bootmgr' : 'none' };
    if (w.identity.version) gs.version = `${w.identity.version}${w.identity.build !== undefined ? `.${w.identity.build}` : ''}`;
    if (w.identity.product) gs.product = w.identity.product;
    if (w.hostname) gs.hostname = w.hostname;
    if (w.arch) gs.arch = w.arch;
    report.guest = gs;
  }
  return report;
}

const MARK: Record<Verdict, string> = { OK: '[  OK  ]', WARNING: '[ WARN ]', FAILED: '[FAILED]', ERROR: '[ERROR ]', SKIPPED: '[ SKIP ]' };
const WIDTH = 58;

function evidenceLine(e: CheckEvidence): string {
  const where = `${e.source}${e.line !== undefined ? `:${e.line}` : ''}${e.offset !== undefined ? ` @${e.offset}` : ''}`;
  return `${where}${e.absent ? ' (absent)' : ''}${e.value ? `: ${e.value}` : ''}`;
}

/** The TXT report: header, one line per item, counts, then each item's details. */
export function renderTxt(r: CheckReport): string {
  const rule = '-'.repeat(WIDTH + 14);
  const out: string[] = [`diskprobe ${r.version} — image check of ${r.image.label} (${r.timestamp})`, rule];
  const p0 = r.profiles[0]!.import_parameters;
  out.push('The information you need to input when you import your image:');
  out.push(`  Current system: ${r.platform || 'unknown'}${r.guest?.version ? ` ${r.guest.version}` : ''}${r.guest?.product ? ` (${r.guest.product})` : ''}`);
  out.push(`  Architecture: ${r.architecture || 'unknown'}`);
  out.push(`  System disk size: ${r.system_disk_size ? `${r.system_disk_size} GiB` : 'unknown'}`);
  out.push(`  Image format: ${p0.diskFormat ?? r.image.format}${r.image.subformat ? ` (${r.image.subformat})` : ''}`);
  if (p0.bootMode) out.push(`  Boot mode: ${p0.bootMode}`);
  out.push(rule);
  if (r.profiles.length === 1) {
    const p = r.profiles[0]!;
    out.push(`Profile: ${p.profile} — ${p.title}`);
    for (const i of p.check_items) out.push(padDisplay(`    Check ${i.name} `, WIDTH + 4) + ` ${MARK[i.result]}`);
    out.push(rule);
    out.push(...counts(p.counts));
    out.push(rule, 'Details:', '');
    for (const i of p.check_items) out.push(...details(i));
    return `${out.join('\n')}\n`;
  }
  // Several profiles: a matrix, then each item's distinct outcomes with the profiles that got them.
  const names = r.profiles.map((p) => p.profile);
  const ids = Object.keys(r.matrix ?? {});
  const idWidth = Math.max(...ids.map((i) => i.length), 4);
  const col = Math.max(...names.map((n) => n.length), 7);
  out.push(`${'item'.padEnd(idWidth)}  ${names.map((n) => n.padEnd(col)).join(' ')}`);
  for (const id of ids) out.push(`${id.padEnd(idWidth)}  ${names.map((n) => (r.matrix![id]![n] ?? '-').padEnd(col)).join(' ')}`);
  out.push(rule);
  for (const p of r.profiles) out.push(`${p.profile.padEnd(col)} ${p.counts.OK} OK, ${p.counts.FAILED} FAILED, ${p.counts.WARNING} WARNING, ${p.counts.ERROR} ERROR, ${p.counts.SKIPPED} SKIPPED — ${p.title}`);
  out.push(rule, 'Details:', '');
  for (const id of ids) {
    const seen = new Map<string, { item: ReportItem; profiles: string[] }>();
    for (const p of r.profiles) {
      const i = p.check_items.find((x) => x.id === id);
      if (!i) continue;
      const key = `${i.result}\n${i.description}\n${i.comment}`;
      const s = seen.get(key);
      if (s) s.profiles.push(p.profile);
      else seen.set(key, { item: i, profiles: [p.profile] });
    }
    for (const { item: i, profiles } of seen.values()) out.push(...details({ ...i, name: `${i.id} (${profiles.join(', ')})` }));
  }
  return `${out.join('\n')}\n`;
}

/** Columns a string takes on a terminal: East Asian wide characters (the JD Cloud names) take two. */
function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function counts(c: Record<Verdict, number>): string[] {
  const lines = [`    ${c.OK} items are OK.`, `    ${c.FAILED} items are failed.`, `    ${c.WARNING} items are warning.`];
  if (c.ERROR) lines.push(`    ${c.ERROR} items could not be checked (ERROR).`);
  if (c.SKIPPED) lines.push(`    ${c.SKIPPED} items do not apply (SKIPPED).`);
  return lines;
}

function details(i: ReportItem): string[] {
  const out = [`  Check ${i.name}`, `    ${i.result}: ${i.description}`];
  for (const e of i.evidence.slice(0, 12)) out.push(`      ${evidenceLine(e)}`);
  if (i.evidence.length > 12) out.push(`      … ${i.evidence.length - 12} more`);
  if (i.comment) out.push(`    Suggestion: ${i.comment}`);
  out.push('');
  return out;
}
