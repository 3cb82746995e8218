/**
 * Offline inspection of Linux guests: find every volume that holds an OS root, say which
 * distribution it is, and mount the guest's own fstab onto it. Each oddity (an fstab line that
 * does not parse, an entry for a disk that is not there, a dangling os-release link, a volume
 * that cannot be read) becomes a finding and the rest goes on.
 */
import { withTimeBudget, type Limits } from '../limits.js';
import type { BlockDevice } from '../device/types.js';
import type { Finding } from '../container/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { openFileSystem } from '../fs/index.js';
import type { FileSystem } from '../fs/types.js';
import { readLayout, type LayoutOptions } from '../volume/index.js';
import type { Volume, VolumeLayout } from '../volume/types.js';
import { findVolume } from './devices.js';
import { elfArch } from './elf.js';
import { exists, readHead } from './files.js';
import { IDENTITY_FILES, identify, type OsIdentity } from './identity.js';
import { parseFstab, parseSpec, type FstabEntry } from './parse/fstab.js';
import { parseShellVars } from './parse/shell-vars.js';
import { GuestFileSystem, normaliseMountPath, type MountedFileSystem } from './view.js';
import { listKernels, readBoot, type BootInfo, type Kernel } from './boot.js';
import { readPackages, type PackageDatabase } from './packages.js';
import { parseIni, readCloudConfig, readNetwork, type CloudConfigFiles, type NetworkConfig } from './network.js';
import type { YamlValue } from './parse/yaml.js';
import { builtinModules, depModules, listInitramfs, modulesIn, parseKernelConfig, type InitramfsOptions } from './initramfs.js';
import { Services, SERVICES_OF_INTEREST, type ServiceState } from './services.js';
import { effective, globToRegExp, parseSshdConfig } from './parse/sshd.js';
import { parseAdjtime, parsePasswd, parseShadow, type PasswordState } from './parse/accounts.js';
import { inspectWindows, windowsRoot, type WindowsGuest } from './windows/inspect.js';

/** What became of one fstab entry. */
export interface GuestMount {
  mountpoint: string;
  /** The device as the fstab line wrote it. */
  device: string;
  type: string;
  options: string[];
  /** fstab line number. */
  line?: number;
  /** The systemd .mount unit it comes from, instead of fstab. */
  unit?: string;
  /** The volume it resolved to. */
  volume?: string;
  /**
   * `mounted`: part of the guest view; `skipped`: not a local disk filesystem (swap, tmpfs,
   * network, bind, `noauto`); `not-found`: no volume matches; `unsupported`: found, but not
   * readable by this version (btrfs subvolumes, a filesystem without a reader); `failed`: the
   * filesystem did not open.
   */
  status: 'mounted' | 'skipped' | 'not-found' | 'unsupported' | 'failed';
  reason?: string;
}

/** Configuration the cloud checks read, as the guest's files state it. */
export interface GuestConfig {
  /** sshd_config's global values (as `sshd -T` prints them) of the keywords the checks read. */
  sshd?: { permitrootlogin?: string; port?: string; passwordauthentication?: string; usedns?: string; files: string[]; matches: number; origins: Record<string, { file: string; line: number }> };
  /** /etc/selinux/config: SELINUX= and SELINUXTYPE=. */
  selinux?: { mode?: string; type?: string };
  /** /etc/adjtime's clock mode. */
  rtc?: 'UTC' | 'LOCAL';
  /** /etc/ufw/ufw.conf ENABLED=. */
  ufwEnabled?: boolean;
  /**
   * cloud-init's configuration, /etc/cloud/cloud.cfg merged with cloud.cfg.d/*.cfg (later files
   * replace top-level keys, as cloud-init merges them by default).
   */
  cloudInit?: { files: string[]; modules: string[]; datasources?: string[]; disableRoot?: boolean; sshPwauth?: boolean | string; growpart?: boolean; unparsed: string[] };
  /** root's /etc/passwd entry and what /etc/shadow says of its password (never the hash). */
  root?: { uid: number; shell: string; password?: PasswordState };
}

/** One Linux installation. */
export interface LinuxGuest {
  os: 'linux';
  /** The volume holding `/`. */
  root: string;
  identity: OsIdentity;
  hostname?: string;
  /** Architecture from an ELF binary of the guest, and which one. */
  arch?: string;
  archSource?: string;
  /** fstab entries as parsed (with line numbers). */
  fstab: FstabEntry[];
  mounts: GuestMount[];
  /** /etc/crypttab entries (noted: encrypted volumes are not opened). */
  crypttab: { line: number; name: string; device: string }[];
  /** Installed kernels, newest first. */
  kernels: Kernel[];
  /** The boot loader's entries, default entry, default kernel and command line. */
  boot: BootInfo;
  /** Whether the services the cloud checks ask about start at boot. */
  services: ServiceState[];
  /** Network configuration, whichever tools own it. */
  network: NetworkConfig;
  /** The package databases found, with their packages where this version reads the format. */
  packages: PackageDatabase[];
  /** Modules built into the default kernel (its modules.builtin), where it lists them. */
  builtinModules?: string[];
  /** Loadable modules the default kernel has in /lib/modules (its modules.dep). */
  availableModules?: string[];
  /** The default kernel's config (/boot/config-<version>): the cloud drivers' symbols, `y`, `m` or `n`. */
  kernelConfig?: Record<string, string>;
  /** The default kernel's initramfs, when inspection was asked to list it. */
  initramfs?: GuestInitramfs;
  config: GuestConfig;
  findings: Finding[];
  /** The guest's files with its fstab mounted: a `FileSystem`. */
  fs: GuestFileSystem;
}

/** An operating system found on the disk: `os` says which kind. */
export type Guest = LinuxGuest | WindowsGuest;

/** What inspection found, guests and all. */
export interface Inspection {
  /** Every installation found, Linux and Windows, in volume order. */
  guests: Guest[];
  layout: VolumeLayout;
  /** Findings not about one guest: volumes that could not be opened, several roots. */
  findings: Finding[];
}

export interface InspectOptions extends LayoutOptions {
  signal?: AbortSignal;
  /**
   * Also list the default kernel's initramfs (`guest.initramfs`). Off by default: an initramfs
   * is tens of MiB to read and expand, more than the rest of inspection together.
   */
  initramfs?: boolean | InitramfsOptions;
  /** Directory, hive and expansion limits (`DEFAULT_LIMITS` where not given). */
  limits?: Limits;
}

/** What the default kernel's initramfs carries (with `initramfs: true`). */
export interface GuestInitramfs {
  path: string;
  /** The kernel version it belongs to. */
  kernel: string;
  complete: boolean;
  /** Each archive's compression, in order (`none` for an early-microcode cpio). */
  compression: string[];
  files: number;
  /** Kernel modules it carries, as modprobe names them (`virtio_blk`). */
  modules: string[];
}

/** Files larger than this are not read as configuration. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Filesystem types that are not on a local disk. */
const NOT_DISK = new Set(['swap', 'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'ramfs', 'securityfs', 'debugfs', 'tracefs', 'cgroup', 'cgroup2', 'pstore', 'efivarfs', 'bpf', 'hugetlbfs', 'mqueue', 'configfs', 'fusectl', 'binfmt_misc', 'autofs', 'overlay', 'squashfs', 'iso9660', 'udf', 'nfs', 'nfs4', 'cifs', 'smbfs', 'sshfs', 'fuse', 'fuse.sshfs', 'glusterfs', 'ceph', '9p', 'virtiofs', 'none']);
/** Binaries whose ELF header gives the architecture, in order. */
const ARCH_BINARIES = ['/bin/sh', '/bin/bash', '/usr/bin/bash', '/bin/ls', '/usr/bin/ls', '/bin/busybox', '/sbin/init', '/usr/lib/systemd/systemd', '/lib/systemd/systemd'];

/** A file's text, `undefined` if it is not there; other failures become findings. */
async function readText(fs: FileSystem, path: string, findings: Finding[]): Promise<string | undefined> {
  try {
    const bytes = await fs.readFile(path, { maxBytes: MAX_CONFIG_BYTES });
    return new TextDecoder('utf-8').decode(bytes);
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    if (e.code === ErrorCode.NOT_FOUND) {
      // A link whose target is missing (a dangling /etc/os-release) is worth saying.
      const link = await fs.lstat(path).catch(() => undefined);
      if (link?.type === 'symlink') {
        const target = await fs.readlink(path).catch(() => '?');
        findings.push({ severity: 'warning', code: 'guest.dangling-link', message: `${path} is a symbolic link to ${target}, which does not exist` });
      }
      return undefined;
    }
    if (e.code === ErrorCode.NOT_DIRECTORY) return undefined;
    findings.push({ severity: 'warning', code: 'guest.unreadable', message: `${path} could not be read: ${e.message}` });
    return undefined;
  }
}


/** Whether a filesystem holds an OS root: an identity file, or an fstab and a shell. */
async function isRoot(fs: FileSystem): Promise<boolean> {
  for (const file of IDENTITY_FILES) if (await exists(fs, file)) return true;
  return (await exists(fs, '/etc/fstab')) && ((await exists(fs, '/bin/sh')) || (await exists(fs, '/usr/bin/sh')));
}

/** Inspects the guests on a disk (or the disks of one machine). */
export async function inspect(disks: BlockDevice | readonly BlockDevice[], options: InspectOptions = {}): Promise<Inspection> {
  return withTimeBudget(options, async (o) => inspectLayout(await readLayout(disks, o), o), 'the inspection');
}

/** The filesystem options a set of limits gives. */
function fsLimits(limits: Limits | undefined): Pick<Limits, 'maxDirectoryBytes' | 'maxDirectoryEntries'> {
  const out: Pick<Limits, 'maxDirectoryBytes' | 'maxDirectoryEntries'> = {};
  if (limits?.maxDirectoryBytes !== undefined) out.maxDirectoryBytes = limits.maxDirectoryBytes;
  if (limits?.maxDirectoryEntries !== undefined) out.maxDirectoryEntries = limits.maxDirectoryEntries;
  return out;
}

/** Inspects the guests on volumes already read with `readLayout`. */
export async function inspectLayout(layout: VolumeLayout, options: InspectOptions = {}): Promise<Inspection> {
  const findings: Finding[] = [];
  const opened = new Map<string, Promise<FileSystem>>();
  const open = (v: Volume) => {
    let fs = opened.get(v.id);
    if (!fs) {
      fs = openFileSystem(v, { ...fsLimits(options.limits), ...(options.signal ? { signal: options.signal } : {}) });
      fs.catch(() => undefined);
      opened.set(v.id, fs);
    }
    return fs;
  };
  const guests: Guest[] = [];
  for (const v of layout.volumes) {
    if (v.problem || v.content.usage !== 'filesystem') continue;
    let fs: FileSystem;
    try {
      fs = await open(v);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      if (e.code !== ErrorCode.UNSUPPORTED) findings.push({ severity: 'warning', code: 'guest.volume-unreadable', message: `${v.id} (${v.content.type}) could not be opened: ${e.message}` });
      continue;
    }
    const windows = await windowsRoot(fs);
    if (windows) {
      guests.push(await inspectWindows(v.id, fs, windows, layout, open, { ...(options.signal ? { signal: options.signal } : {}), ...(options.limits?.maxHiveBytes !== undefined ? { maxHiveBytes: options.limits.maxHiveBytes } : {}) }));
      continue;
    }
    if (!(await isRoot(fs))) continue;
    guests.push(await inspectRoot(v.id, fs, layout, open, options));
  }
  if (guests.length > 1) {
    findings.push({ severity: 'info', code: 'guest.multiple-roots', message: `${guests.length} operating system roots: ${guests.map((g) => `${g.root} (${g.os === 'windows' ? (g.identity.product ?? 'Windows') : (g.identity.product ?? g.identity.distro)})`).join(', ')}` });
  }
  return { guests, layout, findings };
}

/**
 * Inspects one root filesystem: `rootId` names its volume, `layout` has the volumes fstab may
 * name and `open` opens them. @internal Exported for tests that give it a filesystem directly.
 */
export async function inspectRoot(rootId: string, rootFs: FileSystem, layout: VolumeLayout, open: (v: Volume) => Promise<FileSystem>, options: InspectOptions = {}): Promise<LinuxGuest> {
  const root = { id: rootId };
  const findings: Finding[] = [];
  const mounts: GuestMount[] = [];
  const mounted: MountedFileSystem[] = [{ path: '/', fs: rootFs, source: root.id }];

  // fstab first: identity files may live on a separate /usr.
  const fstabText = await readText(rootFs, '/etc/fstab', findings);
  const fstab = fstabText === undefined ? { entries: [], unparsed: [] } : parseFstab(fstabText);
  if (fstabText === undefined) findings.push({ severity: 'warning', code: 'guest.no-fstab', message: '/etc/fstab is missing: only the root filesystem is mounted' });
  for (const u of fstab.unparsed) findings.push({ severity: 'warning', code: 'guest.fstab-line', message: `/etc/fstab line ${u.line} is not an fstab entry (${u.reason}): ${u.text.trim()}` });

  // systemd .mount units in /etc/systemd/system mount too, when a target wants them.
  const units = await mountUnits(rootFs, findings);
  const sources: { e: FstabEntry; origin: string; unit?: string; enabled?: boolean }[] = [
    ...fstab.entries.map((e) => ({ e, origin: `/etc/fstab line ${e.line}` })),
    ...units.map((u) => ({ e: u.entry, origin: u.path, unit: u.path, enabled: u.enabled })),
  ];
  for (const { e, origin, unit, enabled } of sources) {
    const mount: GuestMount = { mountpoint: e.mountpoint, device: e.device, type: e.type, options: e.options, status: 'skipped' };
    if (unit) mount.unit = unit;
    else mount.line = e.line;
    mounts.push(mount);
    if (enabled === false) {
      mount.reason = 'the unit is not enabled';
      continue;
    }
    const where = normaliseMountPath(e.mountpoint);
    if (NOT_DISK.has(e.type) || e.type.startsWith('fuse.') || where === undefined) {
      mount.reason = where !== undefined || e.type === 'swap' ? `${e.type} is not a filesystem on a disk` : 'not a mount point';
      continue;
    }
    if (e.options.includes('bind') || e.options.includes('rbind')) {
      mount.reason = 'a bind mount';
      continue;
    }
    const match = findVolume(e.spec, layout);
    if (!match.volume) {
      mount.status = e.options.includes('noauto') || e.options.includes('nofail') ? 'skipped' : 'not-found';
      mount.reason = match.reason;
      if (mount.status === 'not-found') findings.push({ severity: 'warning', code: 'guest.fstab-missing-device', message: `${origin}: ${e.device} for ${e.mountpoint}: ${match.reason}` });
      continue;
    }
    mount.volume = match.volume.id;
    if (match.note) mount.reason = match.note;
    if (where === '/') {
      mount.status = 'mounted';
      if (match.volume.id !== root.id) findings.push({ severity: 'warning', code: 'guest.fstab-root-elsewhere', message: `${origin} mounts ${match.volume.id} at /, but this root was found on ${root.id}` });
      continue;
    }
    const subvol = e.options.find((o) => o.startsWith('subvol=') || o.startsWith('subvolid='));
    if (subvol) {
      mount.status = 'unsupported';
      mount.reason = `btrfs subvolumes (${subvol}) are not read by this version`;
      continue;
    }
    try {
      mounted.push({ path: where, fs: await open(match.volume), source: match.volume.id });
      mount.status = 'mounted';
    } catch (err) {
      if (!(err instanceof DiskProbeError)) throw err;
      mount.status = err.code === ErrorCode.UNSUPPORTED ? 'unsupported' : 'failed';
      mount.reason = err.reason;
      if (mount.status === 'failed') findings.push({ severity: 'warning', code: 'guest.mount-failed', message: `${origin}: ${match.volume.id} for ${e.mountpoint} did not open: ${err.message}` });
    }
  }
  const fs = new GuestFileSystem(mounted, root.id);

  const identityFiles = new Map<string, string>();
  for (const file of IDENTITY_FILES) {
    const text = await readText(fs, file, findings);
    if (text !== undefined) identityFiles.set(file, text);
  }
  const identity = identify(identityFiles);
  if (identity.distro === 'unknown') findings.push({ severity: 'warning', code: 'guest.unknown-distro', message: 'no os-release or release file names the distribution' });

  const guest: LinuxGuest = { os: 'linux', root: root.id, identity, fstab: fstab.entries, mounts, crypttab: [], kernels: [], boot: { loader: 'none', entries: [] }, services: [], config: {}, network: { interfaces: [], persistentNames: [] }, packages: [], findings, fs };
  const hostname = await readHostname(fs, findings);
  if (hostname) guest.hostname = hostname;
  for (const path of ARCH_BINARIES) {
    const head = await readHead(fs, path, 64);
    if (!head) continue;
    const elf = elfArch(head);
    if (elf) {
      guest.arch = elf.arch;
      guest.archSource = path;
      break;
    }
  }
  if (!guest.arch) findings.push({ severity: 'warning', code: 'guest.no-arch', message: `no ELF binary among ${ARCH_BINARIES.join(', ')}: architecture unknown` });

  const crypttab = await readText(fs, '/etc/crypttab', findings);
  if (crypttab) {
    crypttab.split(/\r?\n/).forEach((line, i) => {
      const fields = line.trim().split(/\s+/);
      if (fields[0] && !fields[0].startsWith('#') && fields.length >= 2) guest.crypttab.push({ line: i + 1, name: fields[0], device: fields[1]! });
    });
    if (guest.crypttab.length) findings.push({ severity: 'info', code: 'guest.encrypted-volumes', message: `/etc/crypttab lists ${guest.crypttab.length} encrypted volume(s); they are not opened` });
  }

  guest.kernels = await listKernels(fs, findings);
  guest.boot = await readBoot(fs, guest.kernels, findings);
  const services = new Services(fs);
  for (const name of SERVICES_OF_INTEREST) {
    const s = await services.state(name);
    if (s.state !== 'absent') guest.services.push(s);
  }
  const cloud = await readCloudConfig(fs, findings);
  guest.config = await readConfig(fs, findings, cloud);
  guest.network = await readNetwork(fs, findings, cloud);
  guest.packages = await readPackages(fs, findings);

  // The kernel that boots by default, else the newest: its built-in modules and initramfs.
  const kernel = guest.boot.defaultKernel ?? guest.kernels[0];
  if (kernel?.modules) {
    const builtin = await readText(fs, `${kernel.modules}/modules.builtin`, findings);
    if (builtin !== undefined) guest.builtinModules = builtinModules(builtin);
    const dep = await readText(fs, `${kernel.modules}/modules.dep`, findings);
    if (dep !== undefined) guest.availableModules = depModules(dep);
  }
  if (kernel?.config) {
    const config = await readText(fs, kernel.config, findings);
    if (config !== undefined) guest.kernelConfig = parseKernelConfig(config, true);
  }
  if (options.initramfs && kernel?.initramfs) {
    try {
      const listing = await listInitramfs(fs, kernel.initramfs, { ...(options.limits?.maxExpandedBytes !== undefined ? { maxExpandedBytes: options.limits.maxExpandedBytes } : {}), ...(options.initramfs === true ? {} : options.initramfs) });
      findings.push(...listing.findings);
      guest.initramfs = {
        path: kernel.initramfs,
        kernel: kernel.version,
        complete: listing.complete,
        compression: listing.segments.map((s) => s.compression),
        files: listing.entries.length,
        modules: modulesIn(listing.entries),
      };
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      findings.push({ severity: 'warning', code: 'guest.initramfs-unreadable', message: `${kernel.initramfs} could not be read: ${e.reason}` });
    }
  }
  return guest;
}

/** The configuration files the checks read. */
async function readConfig(fs: FileSystem, findings: Finding[], cloud: CloudConfigFiles): Promise<GuestConfig> {
  const config: GuestConfig = {};
  const sshd = await readText(fs, '/etc/ssh/sshd_config', findings);
  if (sshd !== undefined) {
    const parsed = await parseSshdConfig(sshd, {
      read: (p) => readText(fs, p, findings),
      glob: async (pattern) => {
        const dir = pattern.slice(0, pattern.lastIndexOf('/')) || '/';
        const re = globToRegExp(pattern.slice(pattern.lastIndexOf('/') + 1));
        const names = await fs.readdir(dir).then(
          (list) => list.map((e) => e.name),
          (e: unknown) => {
            if (e instanceof DiskProbeError) return [];
            throw e;
          },
        );
        return names.filter((n) => re.test(n)).sort().map((n) => `${dir === '/' ? '' : dir}/${n}`);
      },
    });
    config.sshd = { files: parsed.files, matches: parsed.matches.length, origins: Object.fromEntries(parsed.origins) };
    for (const k of ['permitrootlogin', 'port', 'passwordauthentication', 'usedns'] as const) {
      const v = effective(parsed, k);
      if (v !== undefined) config.sshd[k] = v;
    }
    for (const n of parsed.notes) findings.push({ severity: 'info', code: 'guest.sshd-config', message: `${n.file} line ${n.line}: ${n.message}` });
  }
  const merged: Record<string, YamlValue> = {};
  for (const { doc } of cloud.docs) if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) Object.assign(merged, doc);
  const read = cloud.docs.map((d) => d.path);
  const unparsed = cloud.unparsed;
  if (read.length || unparsed.length) {
    const modules = ['cloud_init_modules', 'cloud_config_modules', 'cloud_final_modules'].flatMap((k) => {
      const list = merged[k];
      return Array.isArray(list) ? list.map((m) => (Array.isArray(m) ? String(m[0]) : typeof m === 'string' ? m : '')).filter(Boolean) : [];
    });
    const ci: NonNullable<GuestConfig['cloudInit']> = { files: read, modules: modules.map((m) => m.replace(/-/g, '_')), unparsed };
    if (Array.isArray(merged.datasource_list)) ci.datasources = merged.datasource_list.map(String);
    if (typeof merged.disable_root === 'boolean') ci.disableRoot = merged.disable_root;
    if (typeof merged.ssh_pwauth === 'boolean' || typeof merged.ssh_pwauth === 'string') ci.sshPwauth = merged.ssh_pwauth;
    ci.growpart = ci.modules.includes('growpart') && !(merged.growpart && typeof merged.growpart === 'object' && !Array.isArray(merged.growpart) && merged.growpart.mode === 'off');
    config.cloudInit = ci;
  }
  const selinux = await readText(fs, '/etc/selinux/config', findings);
  if (selinux !== undefined) {
    const vars = parseShellVars(selinux).vars;
    config.selinux = {};
    const mode = vars.get('SELINUX')?.value;
    const type = vars.get('SELINUXTYPE')?.value;
    if (mode) config.selinux.mode = mode.toLowerCase();
    if (type) config.selinux.type = type;
  }
  const adjtime = await readText(fs, '/etc/adjtime', findings);
  const rtc = adjtime === undefined ? undefined : parseAdjtime(adjtime);
  if (rtc) config.rtc = rtc;
  const ufw = await readText(fs, '/etc/ufw/ufw.conf', findings);
  if (ufw !== undefined) config.ufwEnabled = parseShellVars(ufw).vars.get('ENABLED')?.value.toLowerCase() === 'yes';
  const passwd = await readText(fs, '/etc/passwd', findings);
  const rootEntry = passwd === undefined ? undefined : parsePasswd(passwd).entries.find((e) => e.name === 'root');
  if (rootEntry) {
    config.root = { uid: rootEntry.uid, shell: rootEntry.shell };
    const shadow = await readText(fs, '/etc/shadow', findings);
    const state = shadow === undefined ? undefined : parseShadow(shadow).entries.find((e) => e.name === 'root')?.password;
    if (state) config.root.password = state;
  }
  return config;
}

/** The .mount units in /etc/systemd/system, as fstab entries, and whether a target wants each. */
async function mountUnits(fs: FileSystem, findings: Finding[]): Promise<{ path: string; entry: FstabEntry; enabled: boolean }[]> {
  const dir = '/etc/systemd/system';
  const names = await fs.readdir(dir).then(
    (l) => l.filter((e) => e.type === 'file' && e.name.endsWith('.mount')).map((e) => e.name),
    (e: unknown) => {
      if (e instanceof DiskProbeError) return [];
      throw e;
    },
  );
  const services = new Services(fs);
  const out: { path: string; entry: FstabEntry; enabled: boolean }[] = [];
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    const body = await readText(fs, path, findings);
    const m = body === undefined ? undefined : parseIni(body).get('Mount');
    const what = m?.get('What')?.[0];
    const where = m?.get('Where')?.[0];
    if (!what || !where) {
      findings.push({ severity: 'warning', code: 'guest.mount-unit', message: `${path} has no What= or Where= in [Mount]` });
      continue;
    }
    const entry: FstabEntry = { line: 0, device: what, spec: parseSpec(what), mountpoint: where, type: m?.get('Type')?.[0] ?? 'auto', options: (m?.get('Options')?.[0] ?? 'defaults').split(',').filter(Boolean), freq: 0, passno: 0 };
    out.push({ path, entry, enabled: (await services.state(name)).state === 'enabled' });
  }
  return out;
}

/** /etc/hostname, /etc/HOSTNAME (SUSE), or HOSTNAME= in /etc/sysconfig/network (RHEL 6). */
async function readHostname(fs: FileSystem, findings: Finding[]): Promise<string | undefined> {
  for (const path of ['/etc/hostname', '/etc/HOSTNAME']) {
    const text = await readText(fs, path, findings);
    const line = text
      ?.split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim())
      .find(Boolean);
    if (line) return line;
  }
  const network = await readText(fs, '/etc/sysconfig/network', findings);
  return network ? parseShellVars(network).vars.get('HOSTNAME')?.value || undefined : undefined;
}
