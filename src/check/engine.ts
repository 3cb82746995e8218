/**
 * The check engine: opens what it is given, inspects it once, runs every item of every profile
 * asked for over that one inspection (concurrently; reads are shared through the context), and
 * returns the report. One rule's exception is that rule's ERROR, never the run's.
 */
import { exactReads } from '../device/check.js';
import { withTimeBudget, type Limits } from '../limits.js';
import { openDisk } from '../container/open.js';
import { openOva, openOvaDisk } from '../container/ova/index.js';
import { probe } from '../container/probe.js';
import type { Disk, OpenOptions, ProbeResult } from '../container/types.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import { inspectLayout, type LinuxGuest } from '../guest/inspect.js';
import type { WindowsGuest } from '../guest/windows/inspect.js';
import { readLayout } from '../volume/index.js';
import { memoiser, mountedStats, type CheckContext } from './context.js';
import { PROFILES } from './profiles.js';
import { error } from './rule.js';
import { RULES } from './rules/index.js';
import { noGuestOutcome, noWindowsOutcome } from './rules/image.js';
import { bootMode } from './rules/disk.js';
import { windowsRelease } from './rules/windows.js';
import type { CheckItem, CheckProgress, ImageDigest, ImageFacts, ImportParameters, NameSet, Outcome, Profile, ProfileReport, Verdict } from './types.js';
import { buildReport, type CheckReport } from './report.js';

export interface CheckOptions {
  /** A profile name, several, or `all` (default `generic`). */
  profile?: string | readonly string[];
  /** The vocabulary of item names (default: each profile's own). */
  names?: NameSet;
  signal?: AbortSignal;
  onProgress?: (p: CheckProgress) => void;
  /** Digests of the image's files, computed by the caller (diskprobe/node's `checkImage` does). */
  digests?: ImageDigest[];
  /** Why there are no digests (`--no-md5`, an image at a URL). */
  digestSkipped?: string;
  /** Every file the image is made of, with its size (default: the source and its backing chain). */
  files?: { label: string; size: number }[];
  /** How to open a device that is not yet a Disk. */
  open?: OpenOptions;
  /**
   * Limits for this check: chain depth, metadata cache, expansion, directory, hive sizes, and
   * `timeoutMs`, a time budget for the whole check (past it, `E_ABORTED` naming the budget).
   */
  limits?: Limits;
  /** The report's time (default now) and tool version. */
  time?: Date;
  version?: string;
}

export const DEFAULT_PROFILE = 'generic';

/** The profiles an option names, in order; throws on an unknown name. */
export function selectProfiles(profile: string | readonly string[] | undefined): Profile[] {
  const names = profile === undefined ? [DEFAULT_PROFILE] : typeof profile === 'string' ? profile.split(',') : [...profile];
  const out: Profile[] = [];
  for (const n of names) {
    if (n === 'all') out.push(...Object.values(PROFILES));
    else if (PROFILES[n]) out.push(PROFILES[n]);
    else throw new DiskProbeError(ErrorCode.ARGUMENT, `unknown profile "${n}" (known: ${Object.keys(PROFILES).join(', ')}, all)`, { layer: 'check' });
  }
  return [...new Map(out.map((p) => [p.name, p])).values()];
}

function isDisk(x: BlockDevice | Disk): x is Disk {
  return typeof (x as Disk).format === 'string' && (x as Disk).source !== undefined;
}

/** Builds the shared context: probe, open, layout, inspection. Failures become facts, not throws. */
export async function prepare(input: BlockDevice | Disk, options: CheckOptions = {}): Promise<CheckContext> {
  const signal = options.signal;
  const progress = (step: CheckProgress['step']) => options.onProgress?.({ step, bytes: 0, total: 0 });
  let disk: Disk | undefined;
  let probed: ProbeResult | undefined;
  let openError: string | undefined;
  // A caller's device (and a caller's resolver's) is held to its contract: a short read is E_IO.
  if (!isDisk(input)) input = exactReads(input);
  const resolver = options.open?.resolver;
  const open: OpenOptions = { ...openLimits(options.limits), ...options.open, ...(resolver ? { resolver: async (ref, s) => exactReads(await resolver(ref, s)) } : {}), ...(signal ? { signal } : {}) };
  const source = isDisk(input) ? input.source : input;
  progress('open');
  try {
    probed = await probe(source, signal ? { signal } : {});
  } catch (e) {
    if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
    openError = e.message;
  }
  if (isDisk(input)) disk = input;
  else if (probed?.format === 'ova') {
    // An OVA: its first disk, read in place.
    try {
      const ova = await openOva(input, signal ? { signal } : {});
      disk = await openOvaDisk(ova, 0, open, openDisk);
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
      openError = `the OVA's first disk could not be opened: ${e.message}`;
    }
  } else if (!probed || (probed.kind === 'disk' && probed.readable)) {
    try {
      disk = await openDisk(input, open);
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
      openError = e.message;
    }
  } else openError = probed.problem ?? (probed.kind !== 'disk' ? `the file is ${probed.format}, not a disk image` : `this version cannot read ${probed.format}${probed.subformat ? ` (${probed.subformat})` : ''} images`);

  const files = options.files ?? [source, ...chain(disk)].map((d) => ({ label: d.label, size: d.size }));
  const image: ImageFacts = {
    label: source.label,
    // An OVA is uploaded as such: its format is the package's, its disk is checked.
    format: probed?.format === 'ova' ? 'ova' : (disk?.format ?? probed?.format ?? 'raw'),
    files,
    fileSize: files.reduce((s, f) => s + f.size, 0),
    findings: [...(disk?.findings ?? [])],
  };
  const subformat = probed?.format === 'ova' ? undefined : (disk?.subformat ?? probed?.subformat);
  if (subformat) image.subformat = subformat;
  const virtualSize = disk?.size ?? probed?.virtualSize;
  if (virtualSize !== undefined) image.virtualSize = virtualSize;
  const backing = chain(disk).map((d) => d.label);
  if (backing.length) image.backing = backing;
  if (options.digests) image.digests = options.digests;
  if (options.digestSkipped) image.digestSkipped = options.digestSkipped;

  const ctx: CheckContext = { image, memo: memoiser() };
  if (options.limits) ctx.limits = options.limits;
  if (signal) ctx.signal = signal;
  if (probed) ctx.probe = probed;
  if (openError) ctx.openError = openError;
  if (!disk) {
    ctx.noGuest = { verdict: 'ERROR', reason: `the image could not be opened: ${openError ?? 'unknown format'}` };
    ctx.noWindows = ctx.noGuest;
    return ctx;
  }
  ctx.disk = disk;
  progress('inspect');
  try {
    ctx.layout = await readLayout(disk, signal ? { signal } : {});
    ctx.inspection = await inspectLayout(ctx.layout, { ...(signal ? { signal } : {}), ...(options.limits ? { limits: options.limits } : {}) });
  } catch (e) {
    if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
    ctx.noGuest = { verdict: 'ERROR', reason: `the volumes could not be read: ${e.message}` };
    ctx.noWindows = ctx.noGuest;
    return ctx;
  }
  const linux = ctx.inspection.guests.filter((g): g is LinuxGuest => g.os === 'linux');
  const windows = ctx.inspection.guests.filter((g): g is WindowsGuest => g.os === 'windows');
  const guest = pickGuest(linux);
  const win = pickWindows(windows);
  if (guest) ctx.guest = guest;
  else if (win) ctx.noGuest = { verdict: 'SKIPPED', reason: `a Windows guest (${win.root}${win.identity.product ? `: ${win.identity.product}` : ''}), not Linux` };
  else {
    const ntfs = ctx.layout.volumes.find((v) => v.content.type === 'ntfs');
    ctx.noGuest = ntfs ? { verdict: 'ERROR', reason: `no Linux root; ${ntfs.id} holds NTFS without a Windows folder this version recognises` } : { verdict: 'ERROR', reason: 'no Linux root was found on the disk' };
  }
  if (win) ctx.windows = win;
  else if (guest) ctx.noWindows = { verdict: 'SKIPPED', reason: `a Linux guest (${guest.root}), not Windows` };
  else {
    const locked = ctx.layout.volumes.find((v) => v.content.type.toLowerCase() === 'bitlocker');
    ctx.noWindows = locked ? { verdict: 'ERROR', reason: `${locked.id} is BitLocker-encrypted: the Windows on it cannot be read` } : { verdict: 'ERROR', reason: 'no Windows installation was found on the disk (no NTFS volume with Windows/System32/config/SYSTEM)' };
  }
  return ctx;
}

function chain(disk: Disk | undefined): Disk[] {
  const out: Disk[] = [];
  for (let d = disk?.backing; d && out.length < 64; d = d.backing) out.push(d);
  return out;
}

/** The Windows the cloud would boot: the one the BCD's default entry names, else the first. */
function pickWindows(guests: WindowsGuest[]): WindowsGuest | undefined {
  return guests.find((g) => g.boot.entries.some((e) => e.isDefault && e.osDevice?.volume === g.root)) ?? guests[0];
}

/** The root the cloud would boot: one with a boot loader entry and kernel, else the first. */
function pickGuest(guests: LinuxGuest[]): LinuxGuest | undefined {
  return guests.find((g) => g.boot.defaultKernel) ?? guests.find((g) => g.boot.loader !== 'none') ?? guests[0];
}

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** Runs one item for one profile; never throws (but for an abort). */
export async function runItem(ctx: CheckContext, profile: Profile, id: string): Promise<Outcome> {
  const rule = BY_ID.get(id);
  if (!rule) return error(`no rule "${id}" in this version`);
  if (rule.scope === 'linux' && !ctx.guest) return noGuestOutcome(ctx);
  if (rule.scope === 'windows' && !ctx.windows) return noWindowsOutcome(ctx);
  try {
    const bad = profile.severity[id] ?? rule.severity;
    const o = await rule.run(ctx, profile, bad);
    // A rule that caught the abort as a read failure does not get to report it as an ERROR.
    throwIfAborted(ctx.signal, { layer: 'check' });
    if ((o.verdict === 'OK' || o.verdict === 'WARNING' || o.verdict === 'FAILED') && !o.evidence.length) {
      return error(`the rule decided ${o.verdict} without evidence (a defect in diskprobe): ${o.description}`);
    }
    return o;
  } catch (e) {
    if (ctx.signal?.aborted) throw e;
    const what = e instanceof DiskProbeError ? e.message : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
    return error(`the rule failed while reading: ${what}`);
  }
}

/** Checks an image (a Disk, or a device to probe and open) against one or more cloud profiles. */
export async function check(input: BlockDevice | Disk, options: CheckOptions = {}): Promise<CheckReport> {
  const profiles = selectProfiles(options.profile);
  return withTimeBudget(options, async (o) => evaluate(await prepare(input, o), profiles, o));
}

/** The open options a set of limits gives. */
function openLimits(limits: Limits | undefined): Pick<OpenOptions, 'maxChainDepth' | 'metadataCacheBytes'> {
  const out: Pick<OpenOptions, 'maxChainDepth' | 'metadataCacheBytes'> = {};
  if (limits?.maxChainDepth !== undefined) out.maxChainDepth = limits.maxChainDepth;
  if (limits?.metadataCacheBytes !== undefined) out.metadataCacheBytes = limits.metadataCacheBytes;
  return out;
}


/** Evaluates profiles over a prepared context (the CLI prepares once, then renders). */
export async function evaluate(ctx: CheckContext, profiles: Profile[], options: CheckOptions = {}): Promise<CheckReport> {
  throwIfAborted(ctx.signal, { layer: 'check' });
  options.onProgress?.({ step: 'rules', bytes: 0, total: 0 });
  // Warm the shared reads every profile needs, then run all items at once.
  if (ctx.guest || ctx.windows) await mountedStats(ctx);
  const reports: ProfileReport[] = await Promise.all(
    profiles.map(async (p) => {
      const items: CheckItem[] = await Promise.all(
        p.items.map(async (id) => {
          const o = await runItem(ctx, p, id);
          const rule = BY_ID.get(id);
          const vocabulary = options.names ?? p.names;
          const name = rule?.names[vocabulary] ?? id;
          return { id, name, title: rule?.title ?? id, ...o };
        }),
      );
      const counts: Record<Verdict, number> = { OK: 0, WARNING: 0, FAILED: 0, ERROR: 0, SKIPPED: 0 };
      for (const i of items) counts[i.verdict]++;
      return { profile: p.name, title: p.title, items, counts, importParameters: importParameters(ctx, p) };
    }),
  );
  return buildReport(ctx, reports, options);
}

/** What an import console asks for, from what was found. */
function importParameters(ctx: CheckContext, profile: Profile): ImportParameters {
  const out: ImportParameters = {};
  const g = ctx.guest;
  if (g) {
    out.osType = 'linux';
    out.platform = platformName(g, profile);
    if (g.identity.version) out.osVersion = g.identity.version;
    if (g.arch) out.architecture = g.arch;
  } else if (ctx.windows) {
    const w = ctx.windows;
    out.osType = 'windows';
    out.platform = windowsRelease(w) ?? 'Windows';
    if (w.identity.version) out.osVersion = `${w.identity.version}${w.identity.build !== undefined ? `.${w.identity.build}` : ''}`;
    if (w.arch) out.architecture = w.arch;
  }
  out.diskFormat = ctx.image.format;
  if (ctx.image.virtualSize !== undefined) out.systemDiskSizeGB = Math.ceil(ctx.image.virtualSize / 1024 ** 3);
  const b = bootMode(ctx);
  if (b && b.mode !== 'none') out.bootMode = b.mode === 'both' ? 'BIOS' : b.mode.toUpperCase();
  return out;
}

/** Console platform names, as the import forms list them. */
const PLATFORMS: Record<string, string> = {
  centos: 'CentOS', rhel: 'RedHat', ubuntu: 'Ubuntu', debian: 'Debian', sles: 'SUSE', opensuse: 'OpenSUSE', 'opensuse-leap': 'OpenSUSE', fedora: 'Fedora', almalinux: 'AlmaLinux', rocky: 'Rocky Linux', ol: 'Oracle Linux', amzn: 'Amazon Linux', alinux: 'Aliyun', anolis: 'Anolis', gentoo: 'Gentoo', freebsd: 'FreeBSD', coreos: 'CoreOS', arch: 'Arch Linux', alpine: 'Alpine',
};

export function platformName(g: LinuxGuest, profile?: Profile): string {
  const d = g.identity.distro;
  return profile?.platformNames?.[d] ?? PLATFORMS[d] ?? (d === 'unknown' ? 'Others Linux' : (g.identity.name ?? d));
}
