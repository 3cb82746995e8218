/**
 * What a Linux guest would boot: its installed kernels (version from the bzImage header, not
 * only the file name, with their modules folder, initramfs and config), the boot loader's
 * entries and default (GRUB 2 with grubenv and BLS entries, or GRUB legacy), and the default
 * kernel's command line. Reference for the header: the kernel's Documentation/arch/x86/boot.rst
 * (the "HdrS" setup header, `kernel_version` at 0x20E pointing 0x200 bytes before the string).
 */
import type { Finding } from '../container/types.js';
import { DiskProbeError } from '../errors.js';
import { exists } from './files.js';
import type { FileSystem } from '../fs/types.js';
import { parseShellVars } from './parse/shell-vars.js';
import { compareVersions, parseBlsEntry, parseGrubCfg, parseGrubEnv, parseMenuLst, sortBlsEntries, type BootConfig, type BootEntry } from './parse/grub.js';

/** An installed kernel. */
export interface Kernel {
  /** The kernel release (`uname -r`), e.g. `6.1.0-13-amd64`. */
  version: string;
  /** Where the version came from: the bzImage header, or only the file name. */
  versionFrom: 'header' | 'name';
  /** The header's whole version string (`6.1.0-13-amd64 (debian-kernel@…) #1 SMP …`). */
  banner?: string;
  /** Guest path of the image, e.g. `/boot/vmlinuz-6.1.0-13-amd64`. */
  path: string;
  /** `/lib/modules/<version>` if it exists. */
  modules?: string;
  /** The initramfs that goes with it, if one is found. */
  initramfs?: string;
  /** `/boot/config-<version>` if present. */
  config?: string;
}

/** What a guest boots with. */
export interface BootInfo {
  /** `grub2`, `grub-legacy`, or `none` when no configuration was found. */
  loader: 'grub2' | 'grub-legacy' | 'none';
  /** The configuration file read. */
  configPath?: string;
  entries: BootEntry[];
  defaultEntry?: BootEntry;
  /** The installed kernel the default entry boots. */
  defaultKernel?: Kernel;
  /** The default entry's kernel command line. */
  cmdline?: string;
  /** /etc/default/grub's variables (GRUB_DEFAULT, GRUB_CMDLINE_LINUX, …). */
  defaults?: Record<string, string>;
  /** The environment block's variables (saved_entry, kernelopts, …). */
  env?: Record<string, string>;
}

const MAX_CONFIG = 4 * 1024 * 1024;
/** Bytes of a kernel image read for its header and version string. */
const KERNEL_HEAD = 64 * 1024;
const KERNEL_NAME = /^(?:vmlinuz|vmlinux|kernel|Image|bzImage)-(.+)$/;

async function text(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await fs.readFile(path, { maxBytes: MAX_CONFIG }));
  } catch (e) {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  }
}


async function head(fs: FileSystem, path: string, n: number): Promise<Uint8Array | undefined> {
  try {
    const reader = fs.createReadStream(path, { end: n, chunkSize: n }).getReader();
    const chunk = await reader.read();
    await reader.cancel();
    return chunk.done ? undefined : chunk.value;
  } catch (e) {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  }
}

/**
 * The version string of an x86 bzImage: the setup header's "HdrS" at 0x202, then the
 * `kernel_version` pointer at 0x20E (protocol 2.00 and later; the string lies at pointer +
 * 0x200). Undefined for anything else (a compressed arm64 Image, a truncated file).
 */
export function bzImageVersion(bytes: Uint8Array): string | undefined {
  if (bytes.length < 0x210) return undefined;
  if (bytes[0x202] !== 0x48 || bytes[0x203] !== 0x64 || bytes[0x204] !== 0x72 || bytes[0x205] !== 0x53) return undefined;
  const protocol = bytes[0x206]! | (bytes[0x207]! << 8);
  if (protocol < 0x200) return undefined;
  const pointer = bytes[0x20e]! | (bytes[0x20f]! << 8);
  if (pointer === 0) return undefined;
  const at = pointer + 0x200;
  let end = at;
  while (end < bytes.length && end - at < 512 && bytes[end] !== 0) end++;
  if (end >= bytes.length || end === at) return undefined;
  const s = new TextDecoder('latin1').decode(bytes.subarray(at, end));
  return /^[\x20-\x7e]+$/.test(s) ? s : undefined;
}

/** The kernels in /boot, newest first. */
export async function listKernels(fs: FileSystem, findings: Finding[]): Promise<Kernel[]> {
  let names: string[];
  try {
    names = (await fs.readdir('/boot')).map((e) => e.name);
  } catch (e) {
    if (e instanceof DiskProbeError) return [];
    throw e;
  }
  const kernels: Kernel[] = [];
  for (const name of names) {
    const m = KERNEL_NAME.exec(name);
    if (!m || name.endsWith('.sig') || name.endsWith('.hmac') || name.startsWith('vmlinux-') && name.endsWith('.gz')) continue;
    const path = `/boot/${name}`;
    const st = await fs.stat(path).catch(() => undefined);
    if (st?.type !== 'file') continue;
    const bytes = await head(fs, path, KERNEL_HEAD);
    const banner = bytes ? bzImageVersion(bytes) : undefined;
    const fromHeader = banner?.split(/\s+/)[0];
    const kernel: Kernel = { version: fromHeader ?? m[1]!, versionFrom: fromHeader ? 'header' : 'name', path };
    if (banner) kernel.banner = banner;
    if (fromHeader && fromHeader !== m[1]) {
      findings.push({ severity: 'info', code: 'guest.kernel-name', message: `${path} is named for ${m[1]} but its header says ${fromHeader}` });
    }
    const v = kernel.version;
    if (await exists(fs, `/lib/modules/${v}`, true)) kernel.modules = `/lib/modules/${v}`;
    for (const candidate of [`/boot/initrd.img-${v}`, `/boot/initramfs-${v}.img`, `/boot/initrd-${v}`, `/boot/initrd-${v}.img`, `/boot/initramfs-${v}`]) {
      if (await exists(fs, candidate, true)) {
        kernel.initramfs = candidate;
        break;
      }
    }
    if (await exists(fs, `/boot/config-${v}`, true)) kernel.config = `/boot/config-${v}`;
    kernels.push(kernel);
  }
  return kernels.sort((a, b) => compareVersions(b.version, a.version));
}

/** Where each loader keeps its configuration, in the order they are looked for. */
const GRUB2_CONFIGS = ['/boot/grub2/grub.cfg', '/boot/grub/grub.cfg'];
const LEGACY_CONFIGS = ['/boot/grub/menu.lst', '/boot/grub/grub.conf', '/etc/grub.conf'];

/** Reads the boot loader's configuration and ties its default entry to an installed kernel. */
export async function readBoot(fs: FileSystem, kernels: Kernel[], findings: Finding[]): Promise<BootInfo> {
  const info: BootInfo = { loader: 'none', entries: [] };
  const defaultsText = await text(fs, '/etc/default/grub');
  if (defaultsText !== undefined) info.defaults = Object.fromEntries([...parseShellVars(defaultsText).vars].map(([k, v]) => [k, v.value]));

  let config: BootConfig | undefined;
  for (const path of GRUB2_CONFIGS) {
    const cfg = await text(fs, path);
    if (cfg === undefined) continue;
    const dir = path.slice(0, path.lastIndexOf('/'));
    const envText = await text(fs, `${dir}/grubenv`);
    const env = envText === undefined ? new Map<string, string>() : parseGrubEnv(envText);
    if (env.size) info.env = Object.fromEntries(env);
    // grub.cfg tests files by GRUB's paths: $prefix is the folder it was read from.
    const present = new Set<string>();
    if (envText !== undefined) present.add(`${dir}/grubenv`);
    config = parseGrubCfg(cfg, { env, prefix: dir, source: path, exists: (p) => present.has(p) });
    if (config.bls) {
      const bls = await blsEntries(fs, env);
      if (bls.length) {
        config.entries.push(...bls);
        // With blscfg, `default` (usually ${saved_entry}) names a BLS entry's id.
        const setting = config.defaultSetting;
        const chosen = setting === undefined || setting === '' ? bls[0] : (bls.find((e) => e.id === setting || e.title === setting) ?? (/^\d+$/.test(setting) ? bls[Number(setting)] : undefined));
        if (chosen) config.defaultEntry = chosen;
      }
    }
    info.loader = 'grub2';
    info.configPath = path;
    break;
  }
  if (!config) {
    for (const path of LEGACY_CONFIGS) {
      const cfg = await text(fs, path);
      if (cfg === undefined) continue;
      config = parseMenuLst(cfg, path);
      info.loader = 'grub-legacy';
      info.configPath = path;
      break;
    }
  }
  if (!config) {
    findings.push({ severity: 'warning', code: 'guest.no-boot-config', message: `no boot loader configuration (${[...GRUB2_CONFIGS, ...LEGACY_CONFIGS].join(', ')})` });
    return info;
  }
  info.entries = config.entries;
  for (const note of config.notes) findings.push({ severity: 'info', code: 'guest.boot-config', message: `${info.configPath} line ${note.line}: ${note.message}` });
  if (config.defaultEntry) info.defaultEntry = config.defaultEntry;
  else if (config.defaultSetting !== undefined) findings.push({ severity: 'warning', code: 'guest.boot-default', message: `${info.configPath}: the default "${config.defaultSetting}" names no entry` });
  const entry = config.defaultEntry;
  if (entry?.args !== undefined) info.cmdline = entry.args;
  if (entry?.kernel) {
    // The loader's path is relative to the filesystem it searched: / or a separate /boot.
    const base = entry.kernel.replace(/^\([^)]*\)/, '').split('/').pop()!;
    const kernel = kernels.find((k) => k.path.split('/').pop() === base);
    if (kernel) info.defaultKernel = kernel;
    else findings.push({ severity: 'warning', code: 'guest.boot-kernel-missing', message: `the default entry "${entry.title}" boots ${entry.kernel}, which is not in /boot` });
  }
  return info;
}

async function blsEntries(fs: FileSystem, env: ReadonlyMap<string, string>): Promise<BootEntry[]> {
  let names: string[];
  try {
    names = (await fs.readdir('/boot/loader/entries')).map((e) => e.name).filter((n) => n.endsWith('.conf'));
  } catch (e) {
    if (e instanceof DiskProbeError) return [];
    throw e;
  }
  const out: BootEntry[] = [];
  for (const name of names) {
    const t = await text(fs, `/boot/loader/entries/${name}`);
    if (t !== undefined) out.push(parseBlsEntry(t, name.slice(0, -'.conf'.length), env));
  }
  return sortBlsEntries(out);
}
