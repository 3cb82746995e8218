/**
 * Network configuration as one model, whichever tool owns it: ifcfg files (Red Hat's
 * /etc/sysconfig/network-scripts, SUSE's /etc/sysconfig/network), ifupdown's
 * /etc/network/interfaces (with `source` and `source-directory`), netplan YAML, NetworkManager
 * keyfiles, systemd-networkd `.network` files, and cloud-init's network configuration (v1 and
 * v2, and `network: {config: disabled}`); plus the MAC-pinning rules of
 * /etc/udev/rules.d/70-persistent-net.rules. Each file that does not parse is a finding.
 */
import type { Finding } from '../container/types.js';
import { DiskProbeError } from '../errors.js';
import type { FileSystem } from '../fs/types.js';
import { parseShellVars } from './parse/shell-vars.js';
import { parseYaml, YamlError, type YamlValue } from './parse/yaml.js';
import { globToRegExp } from './parse/sshd.js';

export type NetTool = 'ifcfg' | 'ifcfg-suse' | 'ifupdown' | 'netplan' | 'networkmanager' | 'networkd' | 'cloud-init';

/** One interface's configuration, as one file states it. */
export interface NetInterface {
  /** Interface name, or the match that selects it (`mac:52:54:…`, `name:en*`). */
  name: string;
  tool: NetTool;
  /** The file that says so. */
  source: string;
  /** IPv4: `dhcp`, `static`, `manual` (up, no address), `disabled`, or `unknown`. */
  ipv4: 'dhcp' | 'static' | 'manual' | 'disabled' | 'unknown';
  /** IPv6, where the file configures it: `dhcp`, `auto` (SLAAC), `static`, `disabled`. */
  ipv6?: 'dhcp' | 'auto' | 'static' | 'disabled';
  /** Static addresses with their prefix length where given (`10.0.0.5/24`, `fd00::5/64`). */
  addresses: string[];
  gateway?: string;
  /** A MAC address the configuration is tied to. */
  mac?: string;
  /** Whether it comes up at boot, where the file says. */
  onBoot?: boolean;
}

export interface NetworkConfig {
  interfaces: NetInterface[];
  /** cloud-init is told not to configure the network (`network: {config: disabled}`). */
  cloudInitDisabled?: { source: string };
  /** 70-persistent-net.rules: names pinned to MAC addresses. */
  persistentNames: { name: string; mac: string; source: string }[];
}

const MAX_FILES = 512;
const MAX_INCLUDES = 32;

async function text(fs: FileSystem, path: string, findings: Finding[]): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await fs.readFile(path, { maxBytes: 4 * 1024 * 1024 }));
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    if (e.code !== 'E_NOT_FOUND' && e.code !== 'E_NOT_DIRECTORY' && e.code !== 'E_IS_DIRECTORY') findings.push({ severity: 'warning', code: 'guest.network-unreadable', message: `${path} could not be read: ${e.reason}` });
    return undefined;
  }
}

async function list(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir))
      .filter((e) => e.type !== 'directory')
      .map((e) => e.name)
      .sort()
      .slice(0, MAX_FILES);
  } catch (e) {
    if (e instanceof DiskProbeError) return [];
    throw e;
  }
}

/** `255.255.255.0` → 24; undefined if it is not a contiguous mask. */
export function maskToPrefix(mask: string): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bits = parts.reduce((acc, p) => acc * 256 + p, 0);
  let prefix = 0;
  while (prefix < 32 && bits & (2 ** (31 - prefix))) prefix++;
  return bits === (prefix === 0 ? 0 : (2 ** 32 - 2 ** (32 - prefix))) ? prefix : undefined;
}

const lower = (s: string | undefined) => s?.toLowerCase();
const isTrue = (v: string | undefined) => /^(yes|true|1|on)$/i.test(v ?? '');

/** An ifcfg file (Red Hat or SUSE): shell variables. */
export function fromIfcfg(textOf: string, source: string, suse: boolean): NetInterface | undefined {
  const vars = parseShellVars(textOf).vars;
  const get = (k: string) => vars.get(k)?.value;
  const file = source.split('/').pop()!.replace(/^ifcfg-/, '');
  const name = get('DEVICE') ?? get('NAME') ?? file;
  if (name === 'lo' || file === 'lo') return undefined;
  const proto = lower(get('BOOTPROTO')) ?? (suse ? 'static' : 'none');
  const addresses: string[] = [];
  // Red Hat: IPADDR, IPADDR0…, PREFIX/NETMASK; SUSE: IPADDR may carry /prefix, and IPADDR_x.
  for (const [k, v] of vars) {
    const m = /^IPADDR(_?\w*)$/.exec(k);
    if (!m || !v.value) continue;
    const suffix = m[1]!;
    let addr = v.value;
    if (!addr.includes('/')) {
      const prefix = get(`PREFIX${suffix}`) ?? get(`PREFIXLEN${suffix}`) ?? (get(`NETMASK${suffix}`) ? maskToPrefix(get(`NETMASK${suffix}`)!)?.toString() : undefined);
      if (prefix) addr += `/${prefix}`;
    }
    addresses.push(addr);
  }
  let ipv4: NetInterface['ipv4'];
  if (proto.startsWith('dhcp') || proto === 'bootp') ipv4 = proto === 'dhcp6' ? (addresses.length ? 'static' : 'disabled') : 'dhcp';
  else if (proto === 'static' || proto === 'none' || proto === '') ipv4 = addresses.length ? 'static' : 'manual';
  else ipv4 = 'unknown';
  const iface: NetInterface = { name, tool: suse ? 'ifcfg-suse' : 'ifcfg', source, ipv4, addresses };
  const v6addr = get('IPV6ADDR');
  if (v6addr) {
    iface.addresses.push(v6addr);
    iface.ipv6 = 'static';
  } else if (isTrue(get('DHCPV6C')) || proto === 'dhcp6') iface.ipv6 = 'dhcp';
  else if (isTrue(get('IPV6INIT'))) iface.ipv6 = isTrue(get('IPV6_AUTOCONF') ?? 'yes') ? 'auto' : 'disabled';
  const gw = get('GATEWAY');
  if (gw) iface.gateway = gw;
  const mac = get('HWADDR') ?? get('MACADDR') ?? get('LLADDR');
  if (mac) iface.mac = mac.toLowerCase();
  const onBoot = get('ONBOOT') ?? get('STARTMODE');
  if (onBoot !== undefined) iface.onBoot = suse ? /^(auto|onboot|hotplug|nfsroot)$/i.test(onBoot) : isTrue(onBoot);
  return iface;
}

/** ifupdown: `iface NAME inet|inet6 METHOD` stanzas with their options, `auto`/`allow-*` lines. */
async function fromInterfaces(fs: FileSystem, path: string, findings: Finding[], out: NetInterface[], seen: Set<string>, depth: number): Promise<void> {
  if (seen.has(path) || depth > MAX_INCLUDES) return;
  seen.add(path);
  const body = await text(fs, path, findings);
  if (body === undefined) return;
  const autos = new Set<string>();
  let current: NetInterface | undefined;
  let family: 'inet' | 'inet6' = 'inet';
  const byName = new Map<string, NetInterface>();
  const pendingMask = new Map<NetInterface, number>();
  const masks = new Map<NetInterface, number | undefined>();
  const lines = body.replace(/\\\n/g, ' ').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'auto' || word?.startsWith('allow-')) {
      for (const n of rest) autos.add(n);
      current = undefined;
    } else if (word === 'source' || word === 'source-directory') {
      current = undefined;
      for (const pattern of rest) {
        const abs = pattern.startsWith('/') ? pattern : `/etc/network/${pattern}`;
        if (word === 'source-directory') {
          // run-parts names: letters, digits, _ and -.
          for (const n of await list(fs, abs)) if (/^[A-Za-z0-9_-]+$/.test(n)) await fromInterfaces(fs, `${abs}/${n}`, findings, out, seen, depth + 1);
        } else if (/[*?[]/.test(abs)) {
          const dir = abs.slice(0, abs.lastIndexOf('/')) || '/';
          const re = globToRegExp(abs.slice(abs.lastIndexOf('/') + 1));
          for (const n of await list(fs, dir)) if (re.test(n)) await fromInterfaces(fs, `${dir}/${n}`, findings, out, seen, depth + 1);
        } else await fromInterfaces(fs, abs, findings, out, seen, depth + 1);
      }
    } else if (word === 'iface' || word === 'mapping') {
      if (word === 'mapping' || rest.length < 3) {
        current = undefined;
        continue;
      }
      const [name, fam, method] = rest as [string, string, string];
      if (name === 'lo' || method === 'loopback') {
        current = undefined;
        continue;
      }
      family = fam === 'inet6' ? 'inet6' : 'inet';
      let iface = byName.get(name);
      if (!iface) {
        iface = { name, tool: 'ifupdown', source: path, ipv4: 'disabled', addresses: [] };
        byName.set(name, iface);
        out.push(iface);
      }
      if (family === 'inet') iface.ipv4 = method === 'dhcp' || method === 'bootp' ? 'dhcp' : method === 'static' ? 'static' : method === 'manual' ? 'manual' : 'unknown';
      else iface.ipv6 = method === 'dhcp' ? 'dhcp' : method === 'auto' ? 'auto' : method === 'static' ? 'static' : 'disabled';
      current = iface;
    } else if (current) {
      const value = rest.join(' ');
      if (word === 'address') {
        current.addresses.push(value);
        if (family === 'inet' && !value.includes('/')) pendingMask.set(current, current.addresses.length - 1);
      } else if (word === 'netmask' && family === 'inet') {
        // The stanza's netmask (before or after its address) gives an IPv4 address its prefix.
        const prefix = /^\d+$/.test(value) ? Number(value) : maskToPrefix(value);
        masks.set(current, prefix);
      } else if (word === 'gateway' && family === 'inet') current.gateway = value;
      else if (word === 'hwaddress') current.mac = value.replace(/^ether\s+/, '').toLowerCase();
    }
  }
  for (const [iface, index] of pendingMask) {
    const prefix = masks.get(iface);
    if (prefix !== undefined) iface.addresses[index] += `/${prefix}`;
  }
  for (const iface of byName.values()) iface.onBoot = autos.has(iface.name);
}

function obj(v: YamlValue | undefined): Record<string, YamlValue> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** netplan v2 (also cloud-init's v2): ethernets, bonds, bridges, vlans, wifis. */
export function fromNetplan(doc: YamlValue, source: string, tool: NetTool): NetInterface[] {
  const out: NetInterface[] = [];
  const network = obj(obj(doc)?.network) ?? obj(doc);
  if (!network) return out;
  for (const kind of ['ethernets', 'bonds', 'bridges', 'vlans', 'wifis']) {
    const group = obj(network[kind]);
    if (!group) continue;
    for (const [id, value] of Object.entries(group)) {
      const c = obj(value) ?? {};
      const match = obj(c.match);
      const mac = typeof match?.macaddress === 'string' ? match.macaddress.toLowerCase() : typeof c.macaddress === 'string' ? c.macaddress.toLowerCase() : undefined;
      const setName = typeof c['set-name'] === 'string' ? c['set-name'] : undefined;
      const name = setName ?? (match && typeof match.name === 'string' ? `name:${match.name}` : match && mac ? `mac:${mac}` : id);
      const addresses = Array.isArray(c.addresses) ? c.addresses.map((a) => (typeof a === 'string' ? a : (Object.keys(obj(a) ?? {})[0] ?? String(a)))) : [];
      const v4static = addresses.some((a) => !a.includes(':'));
      const v6static = addresses.some((a) => a.includes(':'));
      const iface: NetInterface = { name, tool, source, ipv4: c.dhcp4 === true ? 'dhcp' : v4static ? 'static' : 'manual', addresses };
      if (c.dhcp6 === true) iface.ipv6 = 'dhcp';
      else if (v6static) iface.ipv6 = 'static';
      else if (c['accept-ra'] === true) iface.ipv6 = 'auto';
      if (typeof c.gateway4 === 'string') iface.gateway = c.gateway4;
      const routes = Array.isArray(c.routes) ? c.routes.map(obj) : [];
      const def = routes.find((r) => r && (r.to === 'default' || r.to === '0.0.0.0/0'));
      if (def && typeof def.via === 'string') iface.gateway = def.via;
      if (mac) iface.mac = mac;
      out.push(iface);
    }
  }
  return out;
}

/** cloud-init network config v1: `config:` items of type physical with subnets. */
export function fromCloudInitV1(config: YamlValue[], source: string): NetInterface[] {
  const out: NetInterface[] = [];
  for (const item of config) {
    const c = obj(item);
    if (!c || c.type !== 'physical' || typeof c.name !== 'string') continue;
    const iface: NetInterface = { name: c.name, tool: 'cloud-init', source, ipv4: 'manual', addresses: [] };
    if (typeof c.mac_address === 'string') iface.mac = c.mac_address.toLowerCase();
    for (const s of Array.isArray(c.subnets) ? c.subnets.map(obj) : []) {
      if (!s) continue;
      const type = String(s.type ?? '');
      if (type === 'dhcp' || type === 'dhcp4') iface.ipv4 = 'dhcp';
      else if (type === 'dhcp6') iface.ipv6 = 'dhcp';
      else if (type === 'ipv6_slaac') iface.ipv6 = 'auto';
      else if (type === 'static' || type === 'static6') {
        const addr = typeof s.address === 'string' ? s.address : '';
        const withPrefix = addr.includes('/') || typeof s.netmask !== 'string' ? addr : `${addr}/${maskToPrefix(s.netmask) ?? s.netmask}`;
        if (addr) iface.addresses.push(withPrefix);
        if (addr.includes(':') || type === 'static6') iface.ipv6 = 'static';
        else iface.ipv4 = 'static';
        if (typeof s.gateway === 'string' && !s.gateway.includes(':')) iface.gateway = s.gateway;
      }
    }
    out.push(iface);
  }
  return out;
}

/** An INI-style file (NetworkManager keyfiles, systemd units): sections of key=value, keys repeatable. */
export function parseIni(body: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = sections.get(sec[1]!) ?? new Map();
      sections.set(sec[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (at <= 0 || !current) continue;
    const key = line.slice(0, at).trim();
    const list = current.get(key) ?? [];
    list.push(line.slice(at + 1).trim());
    current.set(key, list);
  }
  return sections;
}

export function fromKeyfile(body: string, source: string): NetInterface | undefined {
  const ini = parseIni(body);
  const get = (s: string, k: string) => ini.get(s)?.get(k)?.[0];
  const type = get('connection', 'type');
  if (type === 'loopback') return undefined;
  const mac = get('ethernet', 'mac-address') ?? get('802-3-ethernet', 'mac-address');
  const name = get('connection', 'interface-name') ?? (mac ? `mac:${mac.toLowerCase()}` : (get('connection', 'id') ?? source.split('/').pop()!));
  // `address1=10.0.0.5/24,10.0.0.1` (address, then an optional gateway); lists use `;`.
  const addresses: string[] = [];
  let gateway = get('ipv4', 'gateway');
  for (const fam of ['ipv4', 'ipv6']) {
    for (const [k, v] of ini.get(fam) ?? []) {
      if (!/^address(es)?\d*$/.test(k)) continue;
      for (const item of v.flatMap((a) => a.split(';')).map((x) => x.trim()).filter(Boolean)) {
        const [addr, gw] = item.split(',').map((x) => x.trim());
        addresses.push(addr!);
        if (gw && fam === 'ipv4') gateway ??= gw;
      }
    }
  }
  const m4 = get('ipv4', 'method') ?? 'auto';
  const m6 = get('ipv6', 'method');
  const iface: NetInterface = {
    name,
    tool: 'networkmanager',
    source,
    ipv4: m4 === 'auto' ? 'dhcp' : m4 === 'manual' ? 'static' : m4 === 'disabled' ? 'disabled' : 'unknown',
    addresses,
  };
  if (m6) iface.ipv6 = m6 === 'auto' ? 'auto' : m6 === 'dhcp' ? 'dhcp' : m6 === 'manual' ? 'static' : 'disabled';
  if (gateway) iface.gateway = gateway;
  if (mac) iface.mac = mac.toLowerCase();
  const auto = get('connection', 'autoconnect');
  if (auto !== undefined) iface.onBoot = isTrue(auto);
  return iface;
}

export function fromNetworkd(body: string, source: string): NetInterface | undefined {
  const ini = parseIni(body);
  const matchName = ini.get('Match')?.get('Name')?.[0];
  const mac = ini.get('Match')?.get('MACAddress')?.[0]?.toLowerCase();
  const net = ini.get('Network');
  const dhcp = lower(net?.get('DHCP')?.[0]) ?? 'no';
  const addresses = [...(net?.get('Address') ?? []), ...[...ini.entries()].filter(([k]) => k === 'Address').flatMap(([, v]) => v.get('Address') ?? [])];
  const iface: NetInterface = {
    name: matchName ? (/[*?[]/.test(matchName) ? `name:${matchName}` : matchName.split(/\s+/)[0]!) : mac ? `mac:${mac}` : source.split('/').pop()!,
    tool: 'networkd',
    source,
    ipv4: dhcp === 'yes' || dhcp === 'true' || dhcp === 'ipv4' || dhcp === 'both' ? 'dhcp' : addresses.some((a) => !a.includes(':')) ? 'static' : 'manual',
    addresses,
  };
  if (dhcp === 'yes' || dhcp === 'true' || dhcp === 'ipv6' || dhcp === 'both') iface.ipv6 = 'dhcp';
  else if (addresses.some((a) => a.includes(':'))) iface.ipv6 = 'static';
  const gw = net?.get('Gateway')?.[0];
  if (gw) iface.gateway = gw;
  if (mac) iface.mac = mac;
  return iface;
}

/** 70-persistent-net.rules: `SUBSYSTEM=="net", …, ATTR{address}=="…", …, NAME="eth0"`. */
export function parsePersistentNet(body: string, source: string): { name: string; mac: string; source: string }[] {
  const out: { name: string; mac: string; source: string }[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trimStart().startsWith('#')) continue;
    const mac = /ATTRS?\{address\}=="([^"]+)"/.exec(line)?.[1];
    const name = /\bNAME:?="([^"]+)"/.exec(line)?.[1];
    if (mac && name) out.push({ name, mac: mac.toLowerCase(), source });
  }
  return out;
}

/** cloud-init's configuration files, parsed: cloud.cfg, then cloud.cfg.d/*.cfg in name order. */
export interface CloudConfigFiles {
  docs: { path: string; doc: YamlValue }[];
  /** Files that are not YAML cloud-init reads (each is the finding `guest.cloud-init-unparsed`). */
  unparsed: string[];
}

/** Reads and parses cloud-init's configuration files once, for the network and the config readers. */
export async function readCloudConfig(fs: FileSystem, findings: Finding[]): Promise<CloudConfigFiles> {
  const out: CloudConfigFiles = { docs: [], unparsed: [] };
  const paths = ['/etc/cloud/cloud.cfg', ...(await list(fs, '/etc/cloud/cloud.cfg.d')).filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)];
  for (const path of paths) {
    const body = await text(fs, path, findings);
    if (body === undefined) continue;
    try {
      out.docs.push({ path, doc: parseYaml(body) });
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      out.unparsed.push(path);
      findings.push({ severity: 'warning', code: 'guest.cloud-init-unparsed', message: `${path} is not YAML cloud-init reads: ${e.message}` });
    }
  }
  return out;
}

/** Reads every network configuration the guest has (`cloud`: cloud-init's files, if already read). */
export async function readNetwork(fs: FileSystem, findings: Finding[], cloud?: CloudConfigFiles): Promise<NetworkConfig> {
  const config: NetworkConfig = { interfaces: [], persistentNames: [] };
  const add = (i: NetInterface | undefined) => i && config.interfaces.push(i);
  for (const [dir, suse] of [
    ['/etc/sysconfig/network-scripts', false],
    ['/etc/sysconfig/network', true],
  ] as const) {
    for (const n of await list(fs, dir)) {
      if (!/^ifcfg-[^.~]+$/.test(n) || n.endsWith('.bak') || n.endsWith('.orig')) continue;
      const body = await text(fs, `${dir}/${n}`, findings);
      if (body !== undefined) add(fromIfcfg(body, `${dir}/${n}`, suse));
    }
  }
  await fromInterfaces(fs, '/etc/network/interfaces', findings, config.interfaces, new Set(), 0);
  const yaml = async (path: string, tool: NetTool): Promise<YamlValue | undefined> => {
    const body = await text(fs, path, findings);
    if (body === undefined) return undefined;
    try {
      return parseYaml(body);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      findings.push({ severity: 'warning', code: 'guest.network-unparsed', message: `${path} is not YAML ${tool} reads: ${e.message}` });
      return undefined;
    }
  };
  for (const dir of ['/lib/netplan', '/etc/netplan', '/run/netplan']) {
    for (const n of await list(fs, dir)) {
      if (!n.endsWith('.yaml')) continue;
      const doc = await yaml(`${dir}/${n}`, 'netplan');
      if (doc !== undefined) config.interfaces.push(...fromNetplan(doc, `${dir}/${n}`, 'netplan'));
    }
  }
  for (const n of await list(fs, '/etc/NetworkManager/system-connections')) {
    const path = `/etc/NetworkManager/system-connections/${n}`;
    const body = await text(fs, path, findings);
    if (body !== undefined) add(fromKeyfile(body, path));
  }
  for (const dir of ['/etc/systemd/network', '/usr/lib/systemd/network', '/lib/systemd/network']) {
    for (const n of await list(fs, dir)) {
      if (!n.endsWith('.network')) continue;
      const body = await text(fs, `${dir}/${n}`, findings);
      if (body !== undefined) add(fromNetworkd(body, `${dir}/${n}`));
    }
  }
  // cloud-init: cloud.cfg and cloud.cfg.d/*.cfg, later files overriding; network config there.
  for (const { path, doc } of (cloud ?? (await readCloudConfig(fs, findings))).docs) {
    const network = obj(obj(doc)?.network);
    if (!network) continue;
    if (network.config === 'disabled') config.cloudInitDisabled = { source: path };
    else if (network.version === 1 && Array.isArray(network.config)) config.interfaces.push(...fromCloudInitV1(network.config, path));
    else if (network.version === 2) config.interfaces.push(...fromNetplan({ network }, path, 'cloud-init'));
  }
  for (const path of ['/etc/udev/rules.d/70-persistent-net.rules']) {
    const body = await text(fs, path, findings);
    if (body !== undefined) config.persistentNames.push(...parsePersistentNet(body, path));
  }
  return config;
}
