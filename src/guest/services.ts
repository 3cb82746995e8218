/**
 * Whether a service starts at boot, read from the guest's files as each init system keeps it:
 * systemd's `*.wants/` and `*.requires/` symlinks (in /etc and the vendor folders), aliases,
 * templates (`serial-getty@ttyS0.service` from `serial-getty@.service`) and masks (a link to
 * /dev/null); SysV `rc?.d/S??name` links; upstart's `/etc/init/name.conf` (and `manual` in an
 * override); `/etc/inittab` respawn lines. Presets are not applied: they describe what a
 * package would do at installation, not what the image holds.
 */
import { DiskProbeError } from '../errors.js';
import type { FileSystem } from '../fs/types.js';

export interface ServiceState {
  /** The name asked about, and the unit it resolved to (after aliases). */
  name: string;
  unit?: string;
  /** `enabled`: starts at boot; `disabled`: installed but not started; `masked`; `absent`: not installed. */
  state: 'enabled' | 'disabled' | 'masked' | 'absent';
  /** Which init system's files said so. */
  via?: 'systemd' | 'sysv' | 'upstart' | 'inittab';
  /** The files that are the evidence. */
  evidence: string[];
}

const ETC = '/etc/systemd/system';
const UNIT_DIRS = [ETC, '/usr/lib/systemd/system', '/lib/systemd/system'];
const RC_DIRS = ['/etc/rc.d', '/etc'];
const MAX_WANTS_DIRS = 1024;

async function tryReaddir(fs: FileSystem, path: string): Promise<{ name: string; type: string }[]> {
  try {
    return await fs.readdir(path);
  } catch (e) {
    if (e instanceof DiskProbeError) return [];
    throw e;
  }
}

async function lstatType(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    return (await fs.lstat(path)).type;
  } catch (e) {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  }
}

async function readlink(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    return await fs.readlink(path);
  } catch (e) {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  }
}

/** Answers "does X start at boot" for one guest; reads each folder once. */
export class Services {
  private wants: Promise<Map<string, string[]>> | undefined;

  constructor(private readonly fs: FileSystem) {}

  /** Every unit linked from a `.wants`/`.requires` folder, with the links that name it. */
  private wanted(): Promise<Map<string, string[]>> {
    this.wants ??= (async () => {
      const out = new Map<string, string[]>();
      let dirs = 0;
      for (const base of UNIT_DIRS) {
        for (const e of await tryReaddir(this.fs, base)) {
          if (!/\.(wants|requires)$/.test(e.name) || ++dirs > MAX_WANTS_DIRS) continue;
          for (const link of await tryReaddir(this.fs, `${base}/${e.name}`)) {
            const list = out.get(link.name) ?? [];
            list.push(`${base}/${e.name}/${link.name}`);
            out.set(link.name, list);
          }
        }
      }
      return out;
    })();
    return this.wants;
  }

  /** The state of a service: a unit name (`sshd.service`) or a bare name (`sshd`). */
  async state(name: string): Promise<ServiceState> {
    const unit = /\.(service|socket|timer|target|mount|path)$/.test(name) ? name : `${name}.service`;
    const systemd = await this.systemd(name, unit);
    if (systemd) return systemd;
    const bare = unit.replace(/\.service$/, '');
    return (await this.sysv(name, bare)) ?? (await this.upstart(name, bare)) ?? (await this.inittab(name, bare)) ?? { name, state: 'absent', evidence: [] };
  }

  private async systemd(name: string, unit: string): Promise<ServiceState | undefined> {
    // A link in /etc/systemd/system to /dev/null masks the unit.
    const etc = `${ETC}/${unit}`;
    const etcTarget = (await lstatType(this.fs, etc)) === 'symlink' ? await readlink(this.fs, etc) : undefined;
    if (etcTarget === '/dev/null') return { name, unit, state: 'masked', via: 'systemd', evidence: [`${etc} -> /dev/null`] };
    // Find the unit file; an alias is a link to another unit's file, whose name is the real one.
    const template = unit.replace(/@[^.]+\./, '@.');
    let real: string | undefined;
    let file: string | undefined;
    for (const candidate of template === unit ? [unit] : [unit, template]) {
      for (const dir of UNIT_DIRS) {
        const path = `${dir}/${candidate}`;
        const type = await lstatType(this.fs, path);
        if (!type) continue;
        if (type === 'symlink') {
          const target = await readlink(this.fs, path);
          if (target === '/dev/null') return { name, unit, state: 'masked', via: 'systemd', evidence: [`${path} -> /dev/null`] };
          const base = target?.split('/').pop();
          // An alias names another unit; a template found for an instance keeps the instance's name.
          if (base && base !== candidate) real = candidate !== unit ? unit : base;
        }
        file = path;
        break;
      }
      if (file) break;
    }
    if (!file) return undefined;
    const resolved = real ?? unit;
    const wants = await this.wanted();
    const links = [...(wants.get(resolved) ?? []), ...(resolved !== unit ? (wants.get(unit) ?? []) : [])];
    const out: ServiceState = { name, unit: resolved, state: links.length ? 'enabled' : 'disabled', via: 'systemd', evidence: links.length ? links : [file] };
    return out;
  }

  private async sysv(name: string, bare: string): Promise<ServiceState | undefined> {
    let script: string | undefined;
    for (const dir of ['/etc/init.d', '/etc/rc.d/init.d']) {
      if (await lstatType(this.fs, `${dir}/${bare}`)) {
        script = `${dir}/${bare}`;
        break;
      }
    }
    if (!script) return undefined;
    const links: string[] = [];
    for (const base of RC_DIRS) {
      for (const level of ['2', '3', '4', '5']) {
        const dir = `${base}/rc${level}.d`;
        for (const e of await tryReaddir(this.fs, dir)) if (new RegExp(`^S\\d\\d${bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`).test(e.name)) links.push(`${dir}/${e.name}`);
      }
    }
    return { name, state: links.length ? 'enabled' : 'disabled', via: 'sysv', evidence: links.length ? links : [script] };
  }

  private async upstart(name: string, bare: string): Promise<ServiceState | undefined> {
    const conf = `/etc/init/${bare}.conf`;
    const text = await this.text(conf);
    if (text === undefined) return undefined;
    const override = await this.text(`/etc/init/${bare}.override`);
    const manual = [text, override ?? ''].some((t) => /^\s*manual\s*$/m.test(t));
    return { name, state: manual ? 'disabled' : 'enabled', via: 'upstart', evidence: override !== undefined ? [conf, `/etc/init/${bare}.override`] : [conf] };
  }

  private async inittab(name: string, bare: string): Promise<ServiceState | undefined> {
    // Old releases start gettys from inittab: `S0:2345:respawn:/sbin/getty -L ttyS0 115200 vt100`.
    const tty = /^(?:serial-)?getty@(.+)$/.exec(bare)?.[1];
    if (!tty) return undefined;
    const text = await this.text('/etc/inittab');
    if (text === undefined) return undefined;
    const line = text.split(/\r?\n/).find((l) => !l.trimStart().startsWith('#') && /^[^:]*:[^:]*:respawn:/.test(l) && new RegExp(`\\b${tty}\\b`).test(l));
    return line ? { name, state: 'enabled', via: 'inittab', evidence: [`/etc/inittab: ${line.trim()}`] } : undefined;
  }

  private async text(path: string): Promise<string | undefined> {
    try {
      return new TextDecoder().decode(await this.fs.readFile(path, { maxBytes: 1024 * 1024 }));
    } catch (e) {
      if (e instanceof DiskProbeError) return undefined;
      throw e;
    }
  }
}

/** The services inspection reports on: what the cloud checks ask about. */
export const SERVICES_OF_INTEREST = [
  'sshd',
  'ssh',
  'cloud-init',
  'cloud-init-local',
  'cloud-config',
  'cloud-final',
  'NetworkManager',
  'network',
  'networking',
  'systemd-networkd',
  'wicked',
  'firewalld',
  'iptables',
  'ip6tables',
  'nftables',
  'ufw',
  'SuSEfirewall2',
  'qemu-guest-agent',
  'serial-getty@ttyS0',
  'getty@tty1',
  'chronyd',
  'ntpd',
] as const;
