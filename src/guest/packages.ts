/**
 * Installed packages from the package manager's own database: dpkg (`/var/lib/dpkg/status`,
 * deb822 paragraphs: only those whose Status says `installed`), apk (`/lib/apk/db/installed`,
 * `P:`/`V:`/`A:` records), pacman (`/var/lib/pacman/local/<name-version>/desc`), and rpm's
 * sqlite database (`rpmdb.sqlite`: header blobs in its Packages table). rpm's Berkeley DB
 * `Packages` and ndb `Packages.db` are found and named but not read by this version: the result
 * says so instead of reporting no packages.
 */
import type { Finding } from '../container/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { SqliteFile } from './sqlite.js';
import { exists } from './files.js';
import type { FileSystem } from '../fs/types.js';

export interface Package {
  name: string;
  version: string;
  arch?: string;
}

export interface PackageDatabase {
  /** Which manager's database. */
  kind: 'dpkg' | 'apk' | 'pacman' | 'rpm';
  /** Its file or folder in the guest. */
  path: string;
  /** The packages, or undefined when this version does not read this database's format. */
  packages?: Package[];
  /** The format, for rpm: `sqlite`, `bdb` or `ndb`. */
  format?: string;
}

const MAX_DB = 64 * 1024 * 1024;
const MAX_PACMAN = 20_000;

async function text(fs: FileSystem, path: string, findings: Finding[]): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await fs.readFile(path, { maxBytes: MAX_DB }));
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    if (e.code !== 'E_NOT_FOUND' && e.code !== 'E_NOT_DIRECTORY') findings.push({ severity: 'warning', code: 'guest.packages-unreadable', message: `${path} could not be read: ${e.reason}` });
    return undefined;
  }
}


/** dpkg's status file: deb822 paragraphs; continuation lines start with a blank. */
export function parseDpkgStatus(status: string): Package[] {
  const out: Package[] = [];
  for (const para of status.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of para.split('\n')) {
      if (/^\s/.test(line)) continue; // continuation of the previous field
      const at = line.indexOf(':');
      if (at <= 0) continue;
      last = line.slice(0, at).toLowerCase();
      fields.set(last, line.slice(at + 1).trim());
    }
    const name = fields.get('package');
    const version = fields.get('version');
    // "install ok installed"; half-installed, config-files and not-installed entries are not.
    const state = fields.get('status')?.split(/\s+/)[2];
    if (!name || version === undefined || state !== 'installed') continue;
    const p: Package = { name, version };
    const arch = fields.get('architecture');
    if (arch) p.arch = arch;
    out.push(p);
  }
  return out;
}

/** apk's installed database: records of `X:value` lines separated by blank lines. */
export function parseApkInstalled(db: string): Package[] {
  const out: Package[] = [];
  for (const record of db.split(/\n\s*\n/)) {
    let name: string | undefined;
    let version: string | undefined;
    let arch: string | undefined;
    for (const line of record.split('\n')) {
      if (line.startsWith('P:')) name = line.slice(2);
      else if (line.startsWith('V:')) version = line.slice(2);
      else if (line.startsWith('A:')) arch = line.slice(2);
    }
    if (name && version !== undefined) out.push(arch ? { name, version, arch } : { name, version });
  }
  return out;
}

/** A pacman `desc` file: `%FIELD%` then its value lines, then a blank line. */
export function parsePacmanDesc(desc: string): Package | undefined {
  const fields = new Map<string, string>();
  const lines = desc.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^%([A-Z]+)%$/.exec(lines[i]!.trim());
    if (m && i + 1 < lines.length) fields.set(m[1]!, lines[i + 1]!.trim());
  }
  const name = fields.get('NAME');
  const version = fields.get('VERSION');
  if (!name || version === undefined) return undefined;
  const arch = fields.get('ARCH');
  return arch ? { name, version, arch } : { name, version };
}

/** rpm header tags (rpmtag.h). */
const RPMTAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, ARCH: 1022 } as const;

/**
 * A package from an rpm header blob as rpmdb stores it: the index count and data length
 * (big-endian), 16-byte index entries (tag, type, offset, count), then the data store.
 * Version is `[epoch:]version-release`, as `rpm -q --qf '%{EVR}'` prints it.
 */
export function rpmHeaderPackage(blob: Uint8Array): Package | undefined {
  if (blob.length < 8) return undefined;
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = v.getUint32(0);
  const dl = v.getUint32(4);
  const dataStart = 8 + il * 16;
  if (il > 100_000 || dataStart + dl > blob.length) return undefined;
  const fields = new Map<number, string | number>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = v.getUint32(e);
    if (!Object.values(RPMTAG).includes(tag as 1000)) continue;
    const type = v.getUint32(e + 4);
    const offset = v.getUint32(e + 8);
    if (offset >= dl) continue;
    const at = dataStart + offset;
    if (type === 6 || type === 8 || type === 9) {
      let end = at;
      while (end < dataStart + dl && blob[end] !== 0) end++;
      fields.set(tag, new TextDecoder().decode(blob.subarray(at, end)));
    } else if (type === 4 && at + 4 <= dataStart + dl) fields.set(tag, v.getUint32(at));
  }
  const name = fields.get(RPMTAG.NAME);
  const version = fields.get(RPMTAG.VERSION);
  if (typeof name !== 'string' || typeof version !== 'string') return undefined;
  const release = fields.get(RPMTAG.RELEASE);
  const epoch = fields.get(RPMTAG.EPOCH);
  const p: Package = { name, version: `${epoch !== undefined ? `${epoch}:` : ''}${version}${typeof release === 'string' ? `-${release}` : ''}` };
  const arch = fields.get(RPMTAG.ARCH);
  if (typeof arch === 'string') p.arch = arch;
  return p;
}

/** The packages of rpm's sqlite database (`Packages` table: hnum, blob). */
export function readRpmSqlite(bytes: Uint8Array): Package[] {
  const db = new SqliteFile(bytes);
  const root = db.tableRoot('Packages');
  if (root === undefined) throw new DiskProbeError(ErrorCode.CORRUPT, 'no Packages table', { layer: 'guest', format: 'rpmdb' });
  const out: Package[] = [];
  for (const row of db.rows(root)) {
    const blob = row[1];
    const p = blob instanceof Uint8Array ? rpmHeaderPackage(blob) : undefined;
    if (p) out.push(p);
  }
  return out;
}

/** Every package database the guest has, read where this version reads its format. */
export async function readPackages(fs: FileSystem, findings: Finding[]): Promise<PackageDatabase[]> {
  const dbs: PackageDatabase[] = [];
  const dpkg = await text(fs, '/var/lib/dpkg/status', findings);
  if (dpkg !== undefined) dbs.push({ kind: 'dpkg', path: '/var/lib/dpkg/status', packages: parseDpkgStatus(dpkg) });
  const apk = await text(fs, '/lib/apk/db/installed', findings);
  if (apk !== undefined) dbs.push({ kind: 'apk', path: '/lib/apk/db/installed', packages: parseApkInstalled(apk) });
  const pacmanDir = '/var/lib/pacman/local';
  const pacmanEntries = await fs.readdir(pacmanDir).catch((e: unknown) => {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  });
  if (pacmanEntries) {
    const packages: Package[] = [];
    for (const e of pacmanEntries.slice(0, MAX_PACMAN)) {
      if (e.type !== 'directory') continue;
      const desc = await text(fs, `${pacmanDir}/${e.name}/desc`, findings);
      const p = desc === undefined ? undefined : parsePacmanDesc(desc);
      if (p) packages.push(p);
    }
    dbs.push({ kind: 'pacman', path: pacmanDir, packages });
  }
  for (const [path, format] of [
    ['/var/lib/rpm/rpmdb.sqlite', 'sqlite'],
    ['/usr/lib/sysimage/rpm/rpmdb.sqlite', 'sqlite'],
    ['/var/lib/rpm/Packages', 'bdb'],
    ['/usr/lib/sysimage/rpm/Packages', 'bdb'],
    ['/var/lib/rpm/Packages.db', 'ndb'],
    ['/usr/lib/sysimage/rpm/Packages.db', 'ndb'],
  ] as const) {
    // /var/lib/rpm is often a link to /usr/lib/sysimage/rpm: report the database once.
    if (dbs.some((d) => d.kind === 'rpm' && d.format === format)) continue;
    if (!(await exists(fs, path))) continue;
    const db: PackageDatabase = { kind: 'rpm', path, format };
    dbs.push(db);
    if (format === 'sqlite') {
      try {
        const bytes = await fs.readFile(path, { maxBytes: 512 * 1024 * 1024 });
        db.packages = readRpmSqlite(bytes);
        const wal = await fs.stat(`${path}-wal`).catch(() => undefined);
        if (wal && wal.size > 0) findings.push({ severity: 'info', code: 'guest.packages-wal', message: `${path}-wal exists: changes in the write-ahead log not yet written back are not read` });
        continue;
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        findings.push({ severity: 'warning', code: 'guest.packages-unreadable', message: `${path} could not be read as an rpm database: ${e.reason}; the installed packages are unknown (not "none")` });
        continue;
      }
    }
    findings.push({ severity: 'warning', code: 'guest.packages-not-read', message: `${path} is an rpm database (${format}); this version does not read that format, so the installed packages are unknown (not "none")` });
  }
  return dbs;
}
