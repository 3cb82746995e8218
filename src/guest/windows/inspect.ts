/**
 * Offline inspection of Windows guests: an NTFS volume with `Windows/System32/config/SYSTEM` is
 * a Windows root. Its hives are opened with their transaction logs (replayed in memory when
 * dirty) and read for the product and version, the control set in use, the hostname, drive
 * letters (mapped to this image's volumes), services and drivers, installed applications and
 * hotfixes; the boot configuration is read from the BCD store on the system partition (BIOS:
 * the active partition's `\Boot\BCD`; UEFI: the ESP's `\EFI\Microsoft\Boot\BCD`) and each OS
 * loader's devices are resolved to volumes. Anything missing or unreadable is a finding; the
 * rest goes on.
 */
import type { Finding } from '../../container/types.js';
import { DiskProbeError, ErrorCode } from '../../errors.js';
import type { FileSystem } from '../../fs/types.js';
import { readBcd, type BcdDevice, type BcdStore } from '../../registry/bcd.js';
import { MAX_HIVE_BYTES, openHive, type Hive, type RegKey } from '../../registry/hive.js';
import type { Replay } from '../../registry/log.js';
import type { Volume, VolumeLayout } from '../../volume/types.js';
import { readPe, type PeVersion } from './pe.js';
import { exists, readHead } from '../files.js';
import { guidString } from '../../util/bytes.js';
import { numberOf, stringOf, stringsOf } from './values.js';
import { bootCriticalDrivers, type BootCriticalDriver } from './drivers.js';

/** The hives inspection opens (SAM, SECURITY and DEFAULT only for their state). */
export const HIVE_NAMES = ['SYSTEM', 'SOFTWARE', 'SAM', 'SECURITY', 'DEFAULT'] as const;
export type HiveName = (typeof HIVE_NAMES)[number];

export interface WindowsIdentity {
  /** ProductName as stored (Windows 11 still says "Windows 10 …" there). */
  productName?: string;
  /** The product as users know it: ProductName, with "Windows 11" for builds from 22000. */
  product?: string;
  editionId?: string;
  /** `Client` or `Server` (InstallationType; `Server Core` too). */
  installationType?: string;
  /** `10.0`, `6.3`, `6.1`: CurrentMajor/MinorVersionNumber, else CurrentVersion. */
  version?: string;
  major?: number;
  minor?: number;
  build?: number;
  /** Update build revision (UBR). */
  ubr?: number;
  /** DisplayVersion (21H2) or ReleaseId (1809). */
  displayVersion?: string;
  /** `client` or `server`. */
  variant?: 'client' | 'server';
}

/** A hive's state as found on disk. */
export interface HiveState {
  name: HiveName;
  path: string;
  present: boolean;
  size?: number;
  /** The primary file was dirty. */
  dirty?: boolean;
  /** What replay did, when the logs repaired a dirty hive. */
  replay?: Replay;
  /** The base block's checksum holds. */
  checksumOk?: boolean;
  /** Logs found beside it. */
  logs: string[];
  findings: Finding[];
  /** Why it could not be opened. */
  error?: string;
}

export interface DriveLetter {
  /** `C:` */
  letter: string;
  /** How MountedDevices names it: `mbr`, `gpt` or `other`. */
  kind: 'mbr' | 'gpt' | 'other';
  /** `disk 0x1234abcd, offset 1048576`, `partition {guid}`, or the device path. */
  target: string;
  /** The volume of this image it names, if any. */
  volume?: string;
}

export interface WindowsService {
  name: string;
  /** 1 kernel driver, 2 file system driver, 0x10/0x20 own/shared process, … */
  type?: number;
  /** 0 boot, 1 system, 2 automatic, 3 manual, 4 disabled. */
  start?: number;
  startName?: 'boot' | 'system' | 'auto' | 'manual' | 'disabled' | 'unknown';
  delayedAutoStart?: boolean;
  imagePath?: string;
  /** The guest path of the binary ImagePath names (or the default for a driver), if on the Windows volume. */
  file?: string;
  displayName?: string;
  group?: string;
  /** `HKLM\SYSTEM\ControlSet001\Services\<name>` */
  key: string;
}

export interface WindowsApplication {
  name: string;
  version?: string;
  publisher?: string;
  installLocation?: string;
  /** 64 for the native Uninstall key, 32 for WOW6432Node. */
  bits: 32 | 64;
  key: string;
}

export interface ResolvedDevice {
  /** What the BCD says: `partition 0x1234abcd @ 1048576`, `partition {guid} on disk {guid}`, `boot`. */
  description: string;
  device: BcdDevice;
  /** The volume of this image it names. */
  volume?: string;
  /** Why it names no volume. */
  reason?: string;
}

export interface BootLoaderEntry {
  id: string;
  description?: string;
  /** The winload path. */
  path?: string;
  systemRoot?: string;
  device?: ResolvedDevice;
  osDevice?: ResolvedDevice;
  isDefault: boolean;
  /** Whether `path` exists on the device's volume (undefined when that could not be checked). */
  pathExists?: boolean;
}

export interface WindowsBoot {
  /** How the disk boots Windows: the system partitions found. */
  modes: ('bios' | 'uefi')[];
  /** The BCD store read, where, and what it said. */
  bcd?: { volume: string; path: string; store?: BcdStore; error?: string; hive?: Hive };
  /** BIOS: `\bootmgr` on the active partition; UEFI: `\EFI\Microsoft\Boot\bootmgfw.efi` on the ESP. */
  bootmgr: { volume: string; path: string }[];
  /** The OS loader entries of the BCD, the default first. */
  entries: BootLoaderEntry[];
}

export interface FileVersion {
  path: string;
  arch?: string;
  version?: PeVersion;
  error?: string;
}

/** One Windows installation. */
export interface WindowsGuest {
  os: 'windows';
  /** The volume holding the Windows folder. */
  root: string;
  /** `/Windows` (as the volume spells it). */
  systemRoot: string;
  identity: WindowsIdentity;
  hostname?: string;
  arch?: string;
  /** Where the architecture came from (`/Windows/System32/ntoskrnl.exe (PE machine 0x8664)`). */
  archSource?: string;
  /** The control set Select\Current names. */
  controlSet?: { number: number; path: string };
  hives: HiveState[];
  drives: DriveLetter[];
  boot: WindowsBoot;
  services: WindowsService[];
  applications: WindowsApplication[];
  drivers: {
    /** File names in System32\drivers (lower case). */
    files: string[];
    /** Folders of System32\DriverStore\FileRepository (lower case). */
    driverStore: string[];
    /** Driver packages the driver database (SYSTEM\DriverDatabase\DriverPackages, Windows 8 and later) records, lower case. */
    packages: string[];
  };
  /** KB numbers of installed servicing packages (`KB4474419`). */
  hotfixes: string[];
  /** PE version resources of key drivers, when present. */
  fileVersions: FileVersion[];
  /** For each storage controller a cloud presents, whether Windows can boot from it. */
  bootCritical: BootCriticalDriver[];
  findings: Finding[];
  /** The Windows volume's filesystem. */
  fs: FileSystem;
  /** The opened hives (after replay), for rules that read more. */
  registry: Partial<Record<HiveName, Hive>>;
}

const START_NAMES = ['boot', 'system', 'auto', 'manual', 'disabled'] as const;
/** Drivers whose version resources inspection reads. */
const VERSIONED_DRIVERS = ['disk.sys', 'storport.sys', 'ntfs.sys', 'viostor.sys', 'vioscsi.sys', 'netkvm.sys', 'stornvme.sys'];
/** The most services, applications and hotfix packages read (a damaged hive cannot make it loop). */
const MAX_KEYS = 100_000;
const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';


/** The names in a directory, or [] when it is missing or unreadable. */
async function names(fs: FileSystem, path: string): Promise<string[]> {
  try {
    return (await fs.readdir(path)).map((e) => e.name);
  } catch (e) {
    if (e instanceof DiskProbeError) return [];
    throw e;
  }
}

/** Whether a filesystem holds a Windows installation; its Windows folder as spelled, if so. */
export async function windowsRoot(fs: FileSystem): Promise<string | undefined> {
  if (fs.type !== 'ntfs') return undefined;
  for (const dir of ['/Windows', '/WINNT']) {
    if (await exists(fs, `${dir}/System32/config/SYSTEM`)) {
      const spelled = (await names(fs, '/')).find((n) => n.toLowerCase() === dir.slice(1).toLowerCase());
      return `/${spelled ?? dir.slice(1)}`;
    }
  }
  return undefined;
}

/** Reads a hive and its logs from `dir`; the state, and the hive when it opened. */
async function openGuestHive(fs: FileSystem, dir: string, name: HiveName, signal?: AbortSignal, maxHive = MAX_HIVE_BYTES): Promise<{ state: HiveState; hive?: Hive }> {
  const path = `${dir}/${name}`;
  const state: HiveState = { name, path, present: false, logs: [], findings: [] };
  let bytes: Uint8Array;
  try {
    const st = await fs.stat(path);
    state.present = true;
    state.size = st.size;
    bytes = await fs.readFile(path, { maxBytes: maxHive, ...(signal ? { signal } : {}) });
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    if (e.code !== ErrorCode.NOT_FOUND) state.error = e.message;
    return { state };
  }
  const logs: { log?: Uint8Array; log1?: Uint8Array; log2?: Uint8Array } = {};
  for (const [k, ext] of [['log', 'LOG'], ['log1', 'LOG1'], ['log2', 'LOG2']] as const) {
    try {
      const b = await fs.readFile(`${path}.${ext}`, { maxBytes: maxHive, ...(signal ? { signal } : {}) });
      if (b.length) {
        logs[k] = b;
        state.logs.push(`${path}.${ext}`);
      }
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
    }
  }
  try {
    const hive = await openHive(bytes, { logs, label: path, maxBytes: maxHive, ...(signal ? { signal } : {}) });
    state.dirty = hive.dirty;
    state.checksumOk = hive.base.checksumOk;
    if (hive.replay) state.replay = hive.replay;
    state.findings = hive.findings;
    return { state, hive };
  } catch (e) {
    if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
    state.error = e.message;
    return { state };
  }
}

/** Reads a subtree lookup without letting one damaged key stop inspection. */
function safely<T>(findings: Finding[], what: string, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    findings.push({ severity: 'warning', code: 'windows.registry-damaged', message: `${what}: ${e.message}` });
    return undefined;
  }
}

function identityOf(software: Hive | undefined, findings: Finding[]): WindowsIdentity {
  const id: WindowsIdentity = {};
  const cv = safely(findings, 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', () => software?.key('Microsoft\\Windows NT\\CurrentVersion'));
  if (!cv) return id;
  const s = (n: string) => stringOf(cv.value(n))?.trim() || undefined;
  const n = (n: string) => numberOf(cv.value(n));
  const productName = s('ProductName');
  if (productName) id.productName = productName;
  const edition = s('EditionID');
  if (edition) id.editionId = edition;
  const inst = s('InstallationType');
  if (inst) id.installationType = inst;
  const major = n('CurrentMajorVersionNumber');
  const minor = n('CurrentMinorVersionNumber');
  if (major !== undefined) {
    id.major = major;
    id.minor = minor ?? 0;
  } else {
    const m = /^(\d+)\.(\d+)/.exec(s('CurrentVersion') ?? '');
    if (m) {
      id.major = Number(m[1]);
      id.minor = Number(m[2]);
    }
  }
  if (id.major !== undefined) id.version = `${id.major}.${id.minor}`;
  const build = Number.parseInt(s('CurrentBuildNumber') ?? s('CurrentBuild') ?? '', 10);
  if (Number.isFinite(build)) id.build = build;
  const ubr = n('UBR');
  if (ubr !== undefined) id.ubr = ubr;
  const display = s('DisplayVersion') ?? s('ReleaseId');
  if (display) id.displayVersion = display;
  if (inst) id.variant = /server/i.test(inst) ? 'server' : 'client';
  else if (productName) id.variant = /server/i.test(productName) ? 'server' : 'client';
  if (productName) {
    // Windows 11 keeps "Windows 10" in ProductName; its builds start at 22000.
    id.product = id.build !== undefined && id.build >= 22000 && /^Windows 10\b/.test(productName) && id.variant !== 'server' ? productName.replace(/^Windows 10/, 'Windows 11') : productName;
  }
  return id;
}

/** `\SystemRoot\System32\drivers\x.sys`, `System32\DRIVERS\x.sys`, `%SystemRoot%\…`, `C:\…`: the guest path on the Windows volume. */
export function imageFile(imagePath: string | undefined, name: string, type: number | undefined, systemRoot: string, systemDrive = 'C:'): string | undefined {
  let p = imagePath?.trim();
  if (!p) {
    // A driver without ImagePath loads System32\drivers\<name>.sys.
    if (type === 1 || type === 2) return `${systemRoot}/System32/drivers/${name}.sys`;
    return undefined;
  }
  if (p.startsWith('"')) p = p.slice(1, p.indexOf('"', 1) > 0 ? p.indexOf('"', 1) : undefined);
  else if (/\.(exe|sys|dll)\s/i.test(p)) p = p.slice(0, p.search(/\.(exe|sys|dll)\s/i) + 4);
  p = p.replace(/^\\\?\?\\/, '');
  p = p.replace(/^(%SystemRoot%|%windir%|\\SystemRoot)(?=\\|$)/i, 'SYSTEMROOT');
  if (/^SYSTEMROOT/.test(p)) return systemRoot + p.slice('SYSTEMROOT'.length).replace(/\\/g, '/');
  if (/^system32\\/i.test(p)) return `${systemRoot}/${p.replace(/\\/g, '/')}`;
  const drive = /^([A-Za-z]:)\\/.exec(p);
  if (drive) return drive[1]!.toUpperCase() === systemDrive.toUpperCase() ? `/${p.slice(3).replace(/\\/g, '/')}` : undefined;
  return undefined;
}

function servicesOf(system: Hive | undefined, cs: string | undefined, systemRoot: string, findings: Finding[]): WindowsService[] {
  if (!system || !cs) return [];
  const servicesKey = safely(findings, `${cs}\\Services`, () => system.key(`${cs}\\Services`));
  const keys = servicesKey ? (safely(findings, `${cs}\\Services`, () => servicesKey.subkeys()) ?? []) : [];
  const out: WindowsService[] = [];
  for (const k of keys.slice(0, MAX_KEYS)) {
    const svc = safely(findings, `service ${k.name}`, () => {
      const s: WindowsService = { name: k.name, key: `HKLM\\SYSTEM\\${k.path}` };
      const type = numberOf(k.value('Type'));
      const start = numberOf(k.value('Start'));
      if (type !== undefined) s.type = type;
      if (start !== undefined) {
        s.start = start;
        s.startName = START_NAMES[start] ?? 'unknown';
      }
      if (numberOf(k.value('DelayedAutostart')) === 1) s.delayedAutoStart = true;
      const image = stringOf(k.value('ImagePath'));
      if (image !== undefined) s.imagePath = image;
      const file = imageFile(image, k.name, type, systemRoot);
      if (file) s.file = file;
      const display = stringOf(k.value('DisplayName'));
      if (display !== undefined) s.displayName = display;
      const group = stringOf(k.value('Group'));
      if (group !== undefined) s.group = group;
      return s;
    });
    if (svc) out.push(svc);
  }
  return out;
}

function applicationsOf(software: Hive | undefined, findings: Finding[]): WindowsApplication[] {
  const out: WindowsApplication[] = [];
  for (const [path, bits] of [['Microsoft\\Windows\\CurrentVersion\\Uninstall', 64], ['WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall', 32]] as const) {
    const keys = safely(findings, path, () => software?.key(path)?.subkeys()) ?? [];
    for (const k of keys.slice(0, MAX_KEYS)) {
      const app = safely(findings, `application ${k.name}`, (): WindowsApplication => {
        const a: WindowsApplication = { name: stringOf(k.value('DisplayName'))?.trim() || k.name, bits, key: `HKLM\\SOFTWARE\\${k.path}` };
        const version = stringOf(k.value('DisplayVersion'));
        if (version) a.version = version;
        const publisher = stringOf(k.value('Publisher'));
        if (publisher) a.publisher = publisher;
        const location = stringOf(k.value('InstallLocation'));
        if (location) a.installLocation = location;
        return a;
      });
      if (app) out.push(app);
    }
  }
  return out;
}

function hotfixesOf(software: Hive | undefined, findings: Finding[]): string[] {
  const keys = safely(findings, 'Component Based Servicing\\Packages', () => software?.key('Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages')?.subkeys()) ?? [];
  const kbs = new Set<string>();
  for (const k of keys.slice(0, MAX_KEYS)) {
    const m = /KB(\d{6,8})/i.exec(k.name);
    if (m) kbs.add(`KB${m[1]}`);
  }
  return [...kbs].sort();
}

/** MountedDevices' drive letters, mapped to this image's volumes. */
function drivesOf(system: Hive | undefined, layout: VolumeLayout, findings: Finding[]): DriveLetter[] {
  const key = safely(findings, 'MountedDevices', () => system?.key('MountedDevices'));
  const values = key ? (safely(findings, 'MountedDevices', () => key.values()) ?? []) : [];
  const out: DriveLetter[] = [];
  for (const v of values) {
    const m = /^\\DosDevices\\([A-Za-z]:)$/.exec(v.name);
    if (!m) continue;
    const b = v.bytes;
    const letter = m[1]!.toUpperCase();
    if (b.length === 12) {
      const sig = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
      const offset = ((b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0) + ((b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24)) >>> 0) * 2 ** 32;
      const d: DriveLetter = { letter, kind: 'mbr', target: `disk 0x${sig.toString(16).padStart(8, '0')}, offset ${offset}` };
      const vol = mbrVolume(layout, sig, offset);
      if (vol) d.volume = vol.id;
      out.push(d);
    } else if (b.length >= 24 && new TextDecoder('latin1').decode(b.subarray(0, 8)) === 'DMIO:ID:') {
      const guid = `{${guidString(b, 8).toLowerCase()}}`;
      const d: DriveLetter = { letter, kind: 'gpt', target: `partition ${guid}` };
      const vol = gptVolume(layout, guid);
      if (vol) d.volume = vol.id;
      out.push(d);
    } else {
      let text = '';
      for (let i = 0; i + 1 < b.length; i += 2) text += String.fromCharCode(b[i]! | (b[i + 1]! << 8));
      out.push({ letter, kind: 'other', target: text.replace(/\0+$/, '') });
    }
  }
  return out.sort((a, b) => (a.letter < b.letter ? -1 : 1));
}


const sameGuid = (a: string | undefined, b: string) => a !== undefined && a.replace(/[{}]/g, '').toLowerCase() === b.replace(/[{}]/g, '').toLowerCase();

function mbrVolume(layout: VolumeLayout, signature: number, offset: number): Volume | undefined {
  const id = `0x${signature.toString(16).padStart(8, '0')}`;
  const disks = layout.disks.filter((d) => d.table.scheme === 'mbr' && d.table.id === id).map((d) => d.label);
  return layout.volumes.find((v) => disks.includes(v.parent) && v.start === offset);
}

function gptVolume(layout: VolumeLayout, guid: string): Volume | undefined {
  return layout.volumes.find((v) => v.scheme === 'gpt' && sameGuid(v.uuid, guid));
}

function resolveDevice(dev: BcdDevice, layout: VolumeLayout, bootVolume: string): ResolvedDevice {
  if (dev.kind === 'boot') return { description: 'boot (the partition the boot manager was loaded from)', device: dev, volume: bootVolume };
  if (dev.kind === 'partition' && dev.partitionStyle === 'mbr') {
    const description = `partition at offset ${dev.partitionOffset} of MBR disk 0x${(dev.mbrSignature ?? 0).toString(16).padStart(8, '0')}`;
    const v = mbrVolume(layout, dev.mbrSignature ?? 0, dev.partitionOffset ?? -1);
    if (v) return { description, device: dev, volume: v.id };
    const disk = layout.disks.some((d) => d.table.scheme === 'mbr' && d.table.id === `0x${(dev.mbrSignature ?? 0).toString(16).padStart(8, '0')}`);
    return { description, device: dev, reason: disk ? 'no partition of that disk starts at that offset' : 'no disk in the image has that MBR signature' };
  }
  if (dev.kind === 'partition' && dev.partitionStyle === 'gpt') {
    const description = `partition ${dev.partitionGuid} of GPT disk ${dev.diskGuid}`;
    const v = gptVolume(layout, dev.partitionGuid ?? '');
    if (v) return { description, device: dev, volume: v.id };
    return { description, device: dev, reason: 'no partition in the image has that GUID' };
  }
  return { description: `device of kind ${dev.kind}`, device: dev, reason: 'not a partition this version resolves' };
}

/** The system partitions, the BCD store and the OS loader entries. */
async function bootOf(layout: VolumeLayout, open: (v: Volume) => Promise<FileSystem>, rootId: string, findings: Finding[], signal?: AbortSignal, maxHive = MAX_HIVE_BYTES): Promise<WindowsBoot> {
  const boot: WindowsBoot = { modes: [], bootmgr: [], entries: [] };
  const tryOpen = async (v: Volume) => {
    try {
      return await open(v);
    } catch (e) {
      if (e instanceof DiskProbeError && e.code !== ErrorCode.ABORTED) return undefined;
      throw e;
    }
  };
  const candidates: { v: Volume; mode: 'bios' | 'uefi'; bcd: string; bootmgr: string[] }[] = [];
  for (const v of layout.volumes) {
    if (v.problem) continue;
    if (v.scheme === 'gpt' && v.type.toLowerCase().replace(/[{}]/g, '') === ESP_TYPE) candidates.push({ v, mode: 'uefi', bcd: '/EFI/Microsoft/Boot/BCD', bootmgr: ['/EFI/Microsoft/Boot/bootmgfw.efi', '/EFI/Boot/bootx64.efi'] });
    else if (v.scheme === 'mbr' && v.type === '0xef') candidates.push({ v, mode: 'uefi', bcd: '/EFI/Microsoft/Boot/BCD', bootmgr: ['/EFI/Microsoft/Boot/bootmgfw.efi', '/EFI/Boot/bootx64.efi'] });
    else if (v.scheme === 'mbr' && v.facts.bootable === true) candidates.push({ v, mode: 'bios', bcd: '/Boot/BCD', bootmgr: ['/bootmgr'] });
  }
  // A disk without a table (the Windows volume itself) boots nothing, but may hold \Boot\BCD.
  if (!candidates.length) {
    const root = layout.volumes.find((v) => v.id === rootId);
    if (root) candidates.push({ v: root, mode: 'bios', bcd: '/Boot/BCD', bootmgr: ['/bootmgr'] });
  }
  for (const c of candidates) {
    const fs = await tryOpen(c.v);
    if (!fs) continue;
    const hasBcd = await exists(fs, c.bcd);
    const mgr: string[] = [];
    for (const p of c.bootmgr) if (await exists(fs, p)) mgr.push(p);
    if (!hasBcd && !mgr.length) continue;
    if (!boot.modes.includes(c.mode)) boot.modes.push(c.mode);
    for (const p of mgr) boot.bootmgr.push({ volume: c.v.id, path: p });
    if (!hasBcd || boot.bcd) continue;
    boot.bcd = { volume: c.v.id, path: c.bcd };
    try {
      const hive = await openHive(await fs.readFile(c.bcd, { maxBytes: maxHive, ...(signal ? { signal } : {}) }), { label: `${c.v.id}:${c.bcd}`, maxBytes: maxHive });
      boot.bcd.hive = hive;
      boot.bcd.store = readBcd(hive);
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
      boot.bcd.error = e.message;
      findings.push({ severity: 'warning', code: 'windows.bcd-unreadable', message: `${c.v.id}:${c.bcd} could not be read: ${e.message}` });
    }
  }
  const store = boot.bcd?.store;
  if (store && boot.bcd) {
    const loaders = store.objects.filter((o) => o.type !== undefined && (o.type & 0xf00fffff) === 0x10000003);
    const ordered = [...(store.defaultEntry ? [store.defaultEntry] : []), ...store.displayOrder, ...loaders].filter((o, i, all) => all.indexOf(o) === i && (o.type === undefined || (o.type & 0xf00fffff) === 0x10000003));
    for (const o of ordered) {
      const e: BootLoaderEntry = { id: o.id, isDefault: o === store.defaultEntry };
      const str = (n: string) => {
        const v = o.element(n)?.value;
        return typeof v === 'string' ? v : undefined;
      };
      const description = str('description');
      if (description !== undefined) e.description = description;
      const path = str('path');
      if (path !== undefined) e.path = path;
      const systemRoot = str('systemroot');
      if (systemRoot !== undefined) e.systemRoot = systemRoot;
      const dev = o.element('device')?.value;
      if (dev && typeof dev === 'object' && 'kind' in dev) e.device = resolveDevice(dev, layout, boot.bcd.volume);
      const osdev = o.element('osdevice')?.value;
      if (osdev && typeof osdev === 'object' && 'kind' in osdev) e.osDevice = resolveDevice(osdev, layout, boot.bcd.volume);
      const onVolume = e.device?.volume;
      if (path && onVolume) {
        const v = layout.volumes.find((x) => x.id === onVolume);
        const fs = v ? await tryOpen(v) : undefined;
        if (fs) e.pathExists = await exists(fs, path.replace(/\\/g, '/'));
      }
      boot.entries.push(e);
    }
  }
  return boot;
}

/** Inspects one Windows root. `open` opens volumes (shared with the rest of inspection). */
export async function inspectWindows(rootId: string, fs: FileSystem, systemRoot: string, layout: VolumeLayout, open: (v: Volume) => Promise<FileSystem>, options: { signal?: AbortSignal; maxHiveBytes?: number } = {}): Promise<WindowsGuest> {
  const findings: Finding[] = [];
  const signal = options.signal;
  const hives: HiveState[] = [];
  const registry: Partial<Record<HiveName, Hive>> = {};
  for (const name of HIVE_NAMES) {
    const r = await openGuestHive(fs, `${systemRoot}/System32/config`, name, signal, options.maxHiveBytes);
    hives.push(r.state);
    if (r.hive) registry[name] = r.hive;
    if (r.state.error) findings.push({ severity: 'warning', code: 'windows.hive-unreadable', message: `${r.state.path}: ${r.state.error}` });
    else if (r.state.dirty && !r.state.replay) findings.push({ severity: 'warning', code: 'windows.hive-dirty', message: `${r.state.path} is dirty and its logs did not replay: what it says may be stale` });
  }
  const system = registry.SYSTEM;
  const software = registry.SOFTWARE;

  let controlSet: WindowsGuest['controlSet'];
  if (system) {
    const select = safely(findings, 'Select', () => numberOf(system.key('Select')?.value('Current')));
    if (select !== undefined) {
      const path = `ControlSet${String(select).padStart(3, '0')}`;
      if (safely(findings, path, () => system.key(path))) controlSet = { number: select, path };
      else findings.push({ severity: 'warning', code: 'windows.no-control-set', message: `Select\\Current is ${select}, but SYSTEM has no ${path}` });
    } else findings.push({ severity: 'warning', code: 'windows.no-control-set', message: 'SYSTEM has no Select\\Current: the control set in use is unknown' });
  }
  const cs = controlSet?.path;

  const identity = identityOf(software, findings);
  const guest: WindowsGuest = {
    os: 'windows',
    root: rootId,
    systemRoot,
    identity,
    hives,
    drives: drivesOf(system, layout, findings),
    boot: await bootOf(layout, open, rootId, findings, signal, options.maxHiveBytes),
    services: servicesOf(system, cs, systemRoot, findings),
    applications: applicationsOf(software, findings),
    drivers: {
      files: (await names(fs, `${systemRoot}/System32/drivers`)).map((n) => n.toLowerCase()),
      driverStore: (await names(fs, `${systemRoot}/System32/DriverStore/FileRepository`)).map((n) => n.toLowerCase()),
      packages: (safely(findings, 'DriverDatabase\\DriverPackages', () => system?.key('DriverDatabase\\DriverPackages')?.subkeys()) ?? []).slice(0, MAX_KEYS).map((k) => k.name.toLowerCase()),
    },
    hotfixes: hotfixesOf(software, findings),
    fileVersions: [],
    bootCritical: [],
    findings,
    fs,
    registry,
  };
  if (controlSet) guest.controlSet = controlSet;

  if (system && cs) {
    const name = safely(findings, 'ComputerName', () => stringOf(system.key(`${cs}\\Control\\ComputerName\\ComputerName`)?.value('ComputerName')));
    const tcpip = safely(findings, 'Tcpip\\Parameters', () => system.key(`${cs}\\Services\\Tcpip\\Parameters`));
    const host = stringOf(tcpip?.value('NV Hostname')) ?? stringOf(tcpip?.value('Hostname')) ?? name;
    if (host) guest.hostname = host;
  }

  // Architecture: the kernel's PE header, else cmd.exe's, else the registry.
  for (const file of ['System32/ntoskrnl.exe', 'System32/cmd.exe']) {
    const path = `${systemRoot}/${file}`;
    const head = await readHead(fs, path, 4096);
    const pe = head && readPe(head);
    if (pe && pe.arch !== 'unknown') {
      guest.arch = pe.arch;
      guest.archSource = `${path} (PE machine 0x${pe.machine.toString(16)})`;
      break;
    }
  }
  if (!guest.arch && system && cs) {
    const a = safely(findings, 'PROCESSOR_ARCHITECTURE', () => stringOf(system.key(`${cs}\\Control\\Session Manager\\Environment`)?.value('PROCESSOR_ARCHITECTURE')));
    const arch = a ? { AMD64: 'x86_64', X86: 'i386', ARM64: 'aarch64', IA64: 'ia64', ARM: 'armv7' }[a.toUpperCase()] : undefined;
    if (arch) {
      guest.arch = arch;
      guest.archSource = `HKLM\\SYSTEM\\${cs}\\Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE = ${a}`;
    }
  }

  for (const d of VERSIONED_DRIVERS) {
    if (!guest.drivers.files.includes(d)) continue;
    const path = `${systemRoot}/System32/drivers/${d}`;
    try {
      const pe = readPe(await fs.readFile(path, { maxBytes: 64 * 1024 * 1024, ...(signal ? { signal } : {}) }));
      const fv: FileVersion = { path };
      if (!pe) fv.error = 'not a PE file';
      else {
        fv.arch = pe.arch;
        if (pe.version) fv.version = pe.version;
      }
      guest.fileVersions.push(fv);
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
      guest.fileVersions.push({ path, error: e.message });
    }
  }

  guest.bootCritical = bootCriticalDrivers(guest, findings);
  if (!system) findings.push({ severity: 'warning', code: 'windows.no-system-hive', message: `${systemRoot}/System32/config/SYSTEM could not be read: services, drivers and the control set are unknown` });
  if (!software) findings.push({ severity: 'warning', code: 'windows.no-software-hive', message: `${systemRoot}/System32/config/SOFTWARE could not be read: the version and applications are unknown` });
  return guest;
}


/** Strings of a REG_MULTI_SZ value of a key (for callers that need lists). @internal */
export function listOf(k: RegKey | undefined, name: string): string[] {
  return stringsOf(k?.value(name)) ?? [];
}
