/**
 * What rules read: the image's facts, its volumes, the inspected guest, and memoised reads of
 * the guest's files, so that many rules (and many profiles) share one read of each thing.
 */
import type { Limits } from '../limits.js';
import type { Disk, ProbeResult } from '../container/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import type { FsStats, Stats } from '../fs/types.js';
import type { LinuxGuest, Inspection } from '../guest/inspect.js';
import type { WindowsGuest } from '../guest/windows/inspect.js';
import { listInitramfs, modulesIn } from '../guest/initramfs.js';
import type { VolumeLayout } from '../volume/types.js';
import type { ImageFacts } from './types.js';

/** Configuration files larger than this are not read by rules. */
const MAX_RULE_FILE_BYTES = 4 * 1024 * 1024;

/** A guest file as a rule sees it: its lines, or that it is missing, or why it could not be read. */
export type GuestFile = { path: string; text: string; lines: string[] } | { path: string; missing: true } | { path: string; error: string };

/** The default kernel's initramfs as the virtio and NVMe rules need it. */
export type InitramfsModules = { path: string; modules: Set<string>; complete: boolean; compression: string[]; why?: string } | { error: string; path?: string };

export interface CheckContext {
  image: ImageFacts;
  /** The limits the check was given (`CheckOptions.limits`). */
  limits?: Limits;
  /** The opened disk; absent when the image could not be opened (a gzip file, an ISO). */
  disk?: Disk;
  probe?: ProbeResult;
  /** Why the disk could not be opened. */
  openError?: string;
  layout?: VolumeLayout;
  inspection?: Inspection;
  /** The guest the Linux rules check (the first root, preferring one with a boot loader). */
  guest?: LinuxGuest;
  /** Why the Linux rules do not apply, or could not run, when there is no guest. */
  noGuest?: { verdict: 'SKIPPED' | 'ERROR'; reason: string };
  /** The Windows installation the Windows rules check (the one the BCD's default entry boots, else the first). */
  windows?: WindowsGuest;
  /** Why the Windows rules do not apply, or could not run, when there is no Windows guest. */
  noWindows?: { verdict: 'SKIPPED' | 'ERROR'; reason: string };
  signal?: AbortSignal;
  /** Memoises one computation per key, shared by every rule and profile. */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export function memoiser(): CheckContext['memo'] {
  const cache = new Map<string, Promise<unknown>>();
  return <T>(key: string, compute: () => Promise<T>) => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = compute();
      cache.set(key, p);
    }
    return p;
  };
}

/** A guest file, read once per check run. */
export function guestFile(ctx: CheckContext, path: string): Promise<GuestFile> {
  return ctx.memo(`file:${path}`, async () => {
    const fs = ctx.guest?.fs;
    if (!fs) return { path, error: 'no guest' };
    try {
      const bytes = await fs.readFile(path, { maxBytes: MAX_RULE_FILE_BYTES, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      const text = new TextDecoder('utf-8').decode(bytes);
      return { path, text, lines: text.split(/\r?\n/) };
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      if (e.code === ErrorCode.NOT_FOUND || e.code === ErrorCode.NOT_DIRECTORY) return { path, missing: true as const };
      return { path, error: e.message };
    }
  });
}

/** `lstat` (or `stat`) of a guest path; `undefined` when it does not exist. Other failures throw. */
export function guestStat(ctx: CheckContext, path: string, follow = false): Promise<Stats | undefined> {
  return ctx.memo(`${follow ? 'stat' : 'lstat'}:${path}`, async () => {
    const fs = ctx.guest?.fs;
    if (!fs) return undefined;
    try {
      return await (follow ? fs.stat(path) : fs.lstat(path));
    } catch (e) {
      if (e instanceof DiskProbeError && (e.code === ErrorCode.NOT_FOUND || e.code === ErrorCode.NOT_DIRECTORY)) return undefined;
      throw e;
    }
  });
}

/** The first of `paths` that exists, with its stats. */
export async function firstExisting(ctx: CheckContext, paths: readonly string[], follow = true): Promise<{ path: string; stats: Stats } | undefined> {
  for (const path of paths) {
    const stats = await guestStat(ctx, path, follow);
    if (stats) return { path, stats };
  }
  return undefined;
}

/** A symlink's target, or `undefined` when the path is not a symlink. */
export function guestReadlink(ctx: CheckContext, path: string): Promise<string | undefined> {
  return ctx.memo(`readlink:${path}`, async () => {
    const st = await guestStat(ctx, path);
    if (st?.type !== 'symlink') return undefined;
    return ctx.guest!.fs.readlink(path);
  });
}

/** The filesystem statistics of each filesystem mounted in the guest view, by mount path. */
export function mountedStats(ctx: CheckContext): Promise<{ path: string; volume: string; type: string; stats?: FsStats; error?: string; findings: readonly { severity: string; code: string; message: string; offset?: number }[] }[]> {
  return ctx.memo('statfs', async () => {
    const out = [];
    // A Windows guest: its system volume, as C:.
    const mounted = ctx.guest?.fs.mounted ?? (ctx.windows ? [{ path: 'C:', source: ctx.windows.root, fs: ctx.windows.fs }] : []);
    for (const m of mounted) {
      try {
        out.push({ path: m.path, volume: m.source, type: m.fs.type, stats: await m.fs.statfs(), findings: m.fs.findings });
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        out.push({ path: m.path, volume: m.source, type: m.fs.type, error: e.message, findings: m.fs.findings });
      }
    }
    return out;
  });
}

/** The modules in the default kernel's initramfs, listed on first use (tens of MiB to expand). */
export function initramfsModules(ctx: CheckContext): Promise<InitramfsModules> {
  return ctx.memo('initramfs', async () => {
    const g = ctx.guest;
    if (g?.initramfs) return { path: g.initramfs.path, modules: new Set(g.initramfs.modules), complete: g.initramfs.complete, compression: g.initramfs.compression };
    const kernel = g?.boot.defaultKernel ?? g?.kernels[0];
    if (!g || !kernel) return { error: 'no kernel found in /boot' };
    if (!kernel.initramfs) return { error: `no initramfs found for kernel ${kernel.version}` };
    try {
      const max = ctx.limits?.maxExpandedBytes;
      const listing = await listInitramfs(g.fs, kernel.initramfs, max !== undefined ? { maxExpandedBytes: max } : {});
      const out: InitramfsModules = { path: kernel.initramfs, modules: new Set(modulesIn(listing.entries)), complete: listing.complete, compression: listing.segments.map((s) => s.compression) };
      if (!listing.complete) out.why = listing.findings.find((f) => f.code.startsWith('guest.initramfs'))?.message ?? 'the archive ends early';
      return out;
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      return { path: kernel.initramfs, error: `${kernel.initramfs} could not be read: ${e.reason}` };
    }
  });
}

/** The 1-based line of the first line matching `re`, with its text. */
export function findLine(file: GuestFile, re: RegExp): { line: number; text: string } | undefined {
  if (!('lines' in file)) return undefined;
  const i = file.lines.findIndex((l) => re.test(l));
  return i < 0 ? undefined : { line: i + 1, text: file.lines[i]!.trim() };
}
