/**
 * Which Linux distribution a root holds: os-release(5) first (`/etc/os-release`, then
 * `/usr/lib/os-release`), then the release files distributions wrote before it, then an
 * "unknown" identity that the rest of inspection still uses. Pure: it is given the files' text.
 */
import { parseShellVars } from './parse/shell-vars.js';

/** A distribution's identity, as its files state it. */
export interface OsIdentity {
  /** os-release's `ID` (lower case) or the equivalent for the release file found; `unknown` if none. */
  distro: string;
  /** os-release's `ID_LIKE`. */
  like: string[];
  /** The distribution's name (`NAME`), e.g. "Debian GNU/Linux". */
  name?: string;
  /** The full product name (`PRETTY_NAME`, or a release file's line), e.g. "Rocky Linux 9.2 (Blue Onyx)". */
  product?: string;
  /** The version as written (`VERSION_ID`, "9.2", "12", "22.04", "3.18.4"). */
  version?: string;
  major?: number;
  minor?: number;
  codename?: string;
  /** The file the identity was read from; absent for `unknown`. */
  source?: string;
}

/** The files {@link identify} looks at, in the order it prefers them. */
export const IDENTITY_FILES = [
  '/etc/os-release',
  '/usr/lib/os-release',
  '/etc/redhat-release',
  '/etc/centos-release',
  '/etc/fedora-release',
  '/etc/oracle-release',
  '/etc/rocky-release',
  '/etc/almalinux-release',
  '/etc/SuSE-release',
  '/etc/lsb-release',
  '/etc/debian_version',
  '/etc/alpine-release',
  '/etc/arch-release',
  '/etc/gentoo-release',
] as const;

/** Release-file names and the distribution they name when the line itself does not say. */
const RELEASE_FILE_DISTRO: Record<string, string> = {
  '/etc/centos-release': 'centos',
  '/etc/fedora-release': 'fedora',
  '/etc/oracle-release': 'ol',
  '/etc/rocky-release': 'rocky',
  '/etc/almalinux-release': 'almalinux',
  '/etc/redhat-release': 'rhel',
};

/** Names on a `… release N` line, mapped to os-release IDs. */
const PRODUCT_DISTRO: [RegExp, string][] = [
  [/^centos stream/i, 'centos'],
  [/^centos/i, 'centos'],
  [/^red hat enterprise linux/i, 'rhel'],
  [/^fedora/i, 'fedora'],
  [/^oracle linux/i, 'ol'],
  [/^enterprise linux/i, 'ol'],
  [/^rocky linux/i, 'rocky'],
  [/^almalinux/i, 'almalinux'],
  [/^scientific linux/i, 'scientific'],
  [/^cloudlinux/i, 'cloudlinux'],
  [/^virtuozzo/i, 'virtuozzo'],
  [/^gentoo/i, 'gentoo'],
];

/** Splits "9.2" or "7.9.2009" into major and minor; non-numeric parts are left out. */
export function versionParts(version: string | undefined): { major?: number; minor?: number } {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version ?? '');
  if (!m) return {};
  const out: { major?: number; minor?: number } = { major: Number(m[1]) };
  if (m[2] !== undefined) out.minor = Number(m[2]);
  return out;
}

function withVersion(identity: OsIdentity, version: string | undefined): OsIdentity {
  if (version) identity.version = version;
  return Object.assign(identity, versionParts(version));
}

/** The identity os-release(5) gives, or undefined if it has no `ID` and no `NAME`. */
export function fromOsRelease(text: string, source = '/etc/os-release'): OsIdentity | undefined {
  const { vars } = parseShellVars(text);
  const get = (k: string) => vars.get(k)?.value || undefined;
  const id = get('ID')?.toLowerCase();
  const name = get('NAME');
  if (!id && !name) return undefined;
  const identity: OsIdentity = { distro: id ?? 'linux', like: (get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean), source };
  if (name) identity.name = name;
  const product = get('PRETTY_NAME');
  if (product) identity.product = product;
  const codename = get('VERSION_CODENAME') ?? get('UBUNTU_CODENAME');
  if (codename) identity.codename = codename;
  else {
    // Older releases name it only inside VERSION: "9 (stretch)", "16.04.7 LTS (Xenial Xerus)".
    const m = /\(([^)]+)\)/.exec(get('VERSION') ?? '');
    if (m && id === 'debian') identity.codename = m[1]!.toLowerCase();
  }
  return withVersion(identity, get('VERSION_ID'));
}

/** A `Name release N.N (Codename)` line (Red Hat family, Gentoo). */
export function fromReleaseLine(text: string, source: string): OsIdentity | undefined {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim();
  if (!line) return undefined;
  const m = /^(.*?)\s+release\s+([0-9][0-9.]*)\s*(?:\(([^)]*)\))?/i.exec(line);
  if (!m) return undefined;
  const productName = m[1]!.trim();
  let distro = PRODUCT_DISTRO.find(([re]) => re.test(productName))?.[1] ?? RELEASE_FILE_DISTRO[source] ?? productName.toLowerCase().split(/\s+/)[0]!;
  if (distro === 'rhel' && source === '/etc/centos-release') distro = 'centos';
  const identity: OsIdentity = { distro, like: [], name: productName, product: line, source };
  if (m[3]) identity.codename = m[3].trim();
  return withVersion(identity, m[2]);
}

/** /etc/SuSE-release: a product line, then `VERSION = 11` and `PATCHLEVEL = 4`. */
function fromSuseRelease(text: string, source: string): OsIdentity | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const product = lines.find((l) => l !== '');
  if (!product) return undefined;
  const field = (k: string) => lines.map((l) => new RegExp(`^${k}\\s*=\\s*(\\S+)`, 'i').exec(l)?.[1]).find(Boolean);
  const version = field('VERSION');
  const patch = field('PATCHLEVEL');
  const distro = /opensuse/i.test(product) ? 'opensuse' : 'sles';
  const identity: OsIdentity = { distro, like: ['suse'], name: product.replace(/\s*\(.*\)\s*$/, ''), product, source };
  return withVersion(identity, version && patch && !version.includes('.') ? `${version}.${patch}` : version);
}

function fromLsbRelease(text: string, source: string): OsIdentity | undefined {
  const { vars } = parseShellVars(text);
  const id = vars.get('DISTRIB_ID')?.value;
  if (!id) return undefined;
  const identity: OsIdentity = { distro: id.toLowerCase(), like: [], name: id, source };
  const product = vars.get('DISTRIB_DESCRIPTION')?.value;
  if (product) identity.product = product;
  const codename = vars.get('DISTRIB_CODENAME')?.value;
  if (codename) identity.codename = codename;
  return withVersion(identity, vars.get('DISTRIB_RELEASE')?.value);
}

function firstLine(text: string): string | undefined {
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim();
}

function fromSingleLine(file: string, text: string): OsIdentity | undefined {
  const line = firstLine(text);
  switch (file) {
    case '/etc/debian_version': {
      if (!line) return undefined;
      const identity: OsIdentity = { distro: 'debian', like: [], name: 'Debian GNU/Linux', source: file };
      // Testing and unstable write a codename ("bookworm/sid") instead of a number.
      if (/^\d/.test(line)) return withVersion(identity, line);
      identity.codename = line.split('/')[0]!;
      return identity;
    }
    case '/etc/alpine-release':
      return line ? withVersion({ distro: 'alpine', like: [], name: 'Alpine Linux', source: file }, line) : undefined;
    case '/etc/arch-release':
      // Empty on Arch: its presence is the statement.
      return { distro: 'arch', like: [], name: 'Arch Linux', source: file };
    default:
      return undefined;
  }
}

/**
 * The identity of a root from the text of the identity files it has (`files` maps each path of
 * {@link IDENTITY_FILES} present to its text). The first file that yields an identity wins;
 * without any, `{ distro: 'unknown' }`.
 */
export function identify(files: ReadonlyMap<string, string>): OsIdentity {
  const found: OsIdentity[] = [];
  for (const file of IDENTITY_FILES) {
    const text = files.get(file);
    if (text === undefined) continue;
    let one: OsIdentity | undefined;
    if (file.endsWith('os-release')) one = fromOsRelease(text, file);
    else if (file === '/etc/SuSE-release') one = fromSuseRelease(text, file);
    else if (file === '/etc/lsb-release') one = fromLsbRelease(text, file);
    else if (file in RELEASE_FILE_DISTRO || file === '/etc/gentoo-release') one = fromReleaseLine(text, file);
    else one = fromSingleLine(file, text);
    if (one) found.push(one);
  }
  const best = found[0];
  if (!best) return { distro: 'unknown', like: [] };
  // os-release gives Debian "12" and CentOS "7"; /etc/debian_version and centos-release give
  // the point release ("12.4", "7.9.2009"): take the longer one of the same release.
  for (const other of found.slice(1)) {
    if (other.version && best.version && other.version.startsWith(`${best.version}.`) && (other.distro === best.distro || best.like.includes(other.distro))) {
      withVersion(best, other.version);
      break;
    }
  }
  return best;
}
