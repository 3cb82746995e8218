/**
 * Linux items (CHECKS.md "Linux items"; vendor-checks.md D1–D25, B12–B13): what the guest's own
 * files say about how it will boot and whether the cloud can reach and manage it.
 */
import { findVolume } from '../../guest/devices.js';
import { parseSpec } from '../../guest/parse/fstab.js';
import { Services, type ServiceState } from '../../guest/services.js';
import type { NetInterface } from '../../guest/network.js';
import { findLine, firstExisting, guestFile, guestReadlink, guestStat, type CheckContext } from '../context.js';
import { compareVersions } from '../../guest/parse/grub.js';
import { error, notMet, ok, skipped, type Rule } from '../rule.js';
import type { CheckEvidence, Outcome, Severity, Stance } from '../types.js';
import { atBoot, driver, type Driver } from './drivers.js';

/** A service's state, for any unit name (memoised). */
export function service(ctx: CheckContext, name: string): Promise<ServiceState> {
  return ctx.memo(`service:${name}`, async () => {
    const known = ctx.guest!.services.find((s) => s.name === name);
    if (known) return known;
    const services = await ctx.memo('services', async () => new Services(ctx.guest!.fs));
    return services.state(name);
  });
}

function serviceEvidence(s: ServiceState): CheckEvidence[] {
  if (!s.evidence.length) return [{ source: `${s.name} unit`, value: s.state, absent: s.state === 'absent' }];
  return s.evidence.map((e) => ({ source: e, value: `${s.name}: ${s.state}${s.via ? ` (${s.via})` : ''}` }));
}

/** The installed package of that name, in any package database. */
function pkg(ctx: CheckContext, ...names: string[]): { name: string; version: string; db: string } | undefined {
  for (const db of ctx.guest!.packages) for (const p of db.packages ?? []) if (names.includes(p.name)) return { name: p.name, version: p.version, db: db.path };
  return undefined;
}

/** Whether a component is installed: package, binaries, unit; with the evidence either way. */
async function component(ctx: CheckContext, packages: string[], paths: string[], units: string[]): Promise<{ present: boolean; enabled: boolean; evidence: CheckEvidence[] }> {
  const evidence: CheckEvidence[] = [];
  const p = pkg(ctx, ...packages);
  if (p) evidence.push({ source: p.db, value: `package ${p.name} ${p.version}` });
  const file = await firstExisting(ctx, paths);
  if (file) evidence.push({ source: file.path, value: `${file.stats.type}, ${file.stats.size} bytes` });
  let enabled = false;
  let unitPresent = false;
  for (const u of units) {
    const s = await service(ctx, u);
    if (s.state === 'absent') continue;
    unitPresent = true;
    if (s.state === 'enabled') enabled = true;
    evidence.push(...serviceEvidence(s));
  }
  const present = !!p || !!file || unitPresent;
  if (!present) {
    const dbs = ctx.guest!.packages.filter((d) => d.packages).map((d) => d.path);
    evidence.push(...dbs.map((d) => ({ source: d, value: `no package ${packages.join(' or ')}`, absent: true })));
    evidence.push(...paths.map((x) => ({ source: x, absent: true })));
    evidence.push({ source: `${units.join(', ')} units`, absent: true, value: 'not installed' });
  }
  return { present, enabled, evidence };
}

function stanceOutcome(what: string, stance: Stance, bad: Severity, c: { present: boolean; enabled: boolean; evidence: CheckEvidence[] }, fix: { install: string; remove: string }): Outcome {
  const state = c.present ? (c.enabled ? 'installed and enabled' : 'installed, not enabled at boot') : 'not installed';
  switch (stance) {
    case 'required':
    case 'recommended': {
      const sev: Severity = stance === 'required' ? bad : 'WARNING';
      if (!c.present) return notMet(sev, `${what} is not installed; this cloud needs it`, c.evidence, fix.install, state);
      if (!c.enabled) return notMet('WARNING', `${what} is installed but does not start at boot`, c.evidence, fix.install, state);
      return ok(`${what} is ${state}`, c.evidence, state);
    }
    case 'forbidden':
    case 'discouraged': {
      const sev: Severity = stance === 'forbidden' ? bad : 'WARNING';
      if (c.present) return notMet(sev, `${what} is ${state}; it conflicts with this cloud's own agents`, c.evidence, fix.remove, state);
      return ok(`${what} is not installed`, c.evidence, state);
    }
    default:
      return c.evidence.length ? ok(`${what} is ${state} (this cloud has no requirement)`, c.evidence, state) : skipped('this cloud has no requirement');
  }
}

/** `a.b` of an os-release version. */
function majorMinor(v: string | undefined): string | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(v ?? '');
  return m ? `${m[1]}.${m[2] ?? '0'}` : undefined;
}

export const linuxOs: Rule = {
  id: 'linux.os',
  title: 'operating system',
  scope: 'linux',
  severity: 'FAILED',
  names: { didi: 'OS_VERSION', ecs: 'GUESTOS.OSVersion', alibaba: 'Current system', jdcloud: 'osVersion' },
  async run(ctx, profile, bad) {
    const id = ctx.guest!.identity;
    const name = id.product ?? id.name ?? id.distro;
    const evidence: CheckEvidence[] = [];
    if (id.source) {
      const f = await guestFile(ctx, id.source);
      const at = findLine(f, /^VERSION_ID=/) ?? findLine(f, /\S/);
      evidence.push(at ? { source: id.source, line: at.line, value: at.text } : { source: id.source, value: name });
    }
    if (id.distro === 'unknown' || !id.source) return notMet(profile.osUnsupported ?? bad, 'no os-release or release file names the distribution', [{ source: '/etc/os-release', absent: true }, { source: '/usr/lib/os-release', absent: true }], 'Keep /etc/os-release (or the distribution\'s release file) in the image.', 'unknown');
    const value = `${id.distro} ${id.version ?? ''}`.trim();
    if (!profile.os.length) return ok(`${name}`, evidence, value);
    const mm = majorMinor(id.version);
    const entry = profile.os.find((o) => (o.distro === id.distro || id.like.includes(o.distro)) && (!o.min || (mm !== undefined && compareVersions(mm, o.min) >= 0)) && (!o.max || (mm !== undefined && compareVersions(mm, o.max) <= 0)));
    if (entry) return ok(`${name}, a supported distribution`, evidence, value);
    const list = profile.os.map((o) => `${o.distro}${o.min || o.max ? ` ${o.min ?? ''}–${o.max ?? ''}` : ''}`).join(', ');
    return notMet(profile.osUnsupported ?? bad, `${name} is not among this cloud's supported systems (${list})${profile.osUnsupported === 'WARNING' ? ': it is imported as a customised Linux' : ''}`, evidence, `Use a supported release (${list}), or import it as a customised Linux where the cloud allows that.`, value);
  },
};

export const linuxArch: Rule = {
  id: 'linux.arch',
  title: 'architecture',
  scope: 'linux',
  severity: 'FAILED',
  names: { didi: 'OS_ARCH', ecs: 'GUESTOS.Architecture', jdcloud: 'architecture', alibaba: 'Architecture' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    if (!g.arch || !g.archSource) return error('no ELF binary was found to tell the architecture (/bin/sh, /bin/bash, /usr/bin/ls, init…)');
    const ev = [{ source: g.archSource, offset: 18, value: `ELF e_machine: ${g.arch}` }];
    if (!profile.archs.includes(g.arch)) return notMet(bad, `${g.arch}, which this cloud does not run (${profile.archs.join(', ')})`, ev, 'Import the image for an instance type of its architecture, or rebuild it for a supported one.', g.arch);
    return ok(g.arch, ev, g.arch);
  },
};

export const linuxKernel: Rule = {
  id: 'linux.kernel',
  title: 'kernel',
  scope: 'linux',
  severity: 'WARNING',
  names: { didi: 'KERNEL', ecs: 'GUESTOS.KernelVersion', alibaba: 'kernel', jdcloud: 'kernel' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const k = g.boot.defaultKernel;
    const e = g.boot.defaultEntry;
    if (!k) {
      const ev: CheckEvidence[] = g.kernels.map((x) => ({ source: x.path, value: x.version }));
      if (e) ev.push({ source: e.source, line: e.line, value: `default entry "${e.title}": ${e.kernel ?? 'no linux line'}` });
      if (!ev.length) ev.push({ source: '/boot', value: 'no kernel image', absent: true });
      return notMet(bad, g.kernels.length ? `no installed kernel can be tied to the default boot entry (installed: ${g.kernels.map((x) => x.version).join(', ')})` : 'no kernel image in /boot', ev, 'Regenerate the boot loader configuration (grub2-mkconfig / update-grub) so its default entry boots an installed kernel.');
    }
    const ev: CheckEvidence[] = [{ source: k.path, value: `${k.version} (from the ${k.versionFrom === 'header' ? 'bzImage header' : 'file name'})` }];
    if (e) ev.push({ source: e.source, line: e.line, value: `default entry "${e.title}"` });
    if (profile.minKernel && compareVersions(k.version, profile.minKernel) < 0) return notMet('WARNING', `kernel ${k.version} is older than ${profile.minKernel}, the oldest this cloud supports well`, ev, `Update the kernel to ${profile.minKernel} or later.`, k.version);
    return ok(`boots ${k.version} by default`, ev, k.version);
  },
};

/** What `driver` found, as one line per module. */
function driverEvidence(ds: Driver[]): CheckEvidence[] {
  return ds.flatMap((d) => d.evidence.map((e) => ({ ...e, value: `${d.module}: ${d.state}${e.value ? ` — ${e.value}` : ''}` })));
}

export const linuxVirtio: Rule = {
  id: 'linux.virtio',
  title: 'virtio drivers at boot',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'driver', didi: 'VIRTIO_DRIVER', ecs: 'GUESTOS.Virtio', jdcloud: '虚拟化驱动' },
  async run(ctx, _profile, bad) {
    const [blk, scsi, pci, net] = await Promise.all(['virtio_blk', 'virtio_scsi', 'virtio_pci', 'virtio_net'].map((m) => driver(ctx, m)));
    const all = [blk!, scsi!, pci!, net!];
    const evidence = driverEvidence(all);
    const storage = atBoot(blk!) || atBoot(scsi!);
    if (storage && atBoot(pci!)) {
      if (net!.state === 'absent') return notMet('WARNING', `the boot disk driver is ready (${[blk, scsi].filter((d) => atBoot(d!)).map((d) => `${d!.module} ${d!.state}`).join(', ')}), but virtio_net is missing: no network`, evidence, 'Install a kernel with virtio_net, or add the module.');
      if (net!.state === 'unknown') return error(`virtio_net could not be located: ${net!.why}`, evidence);
      return ok(all.map((d) => `${d.module} ${d.state}`).join(', '), evidence);
    }
    const unknown = all.filter((d) => d.state === 'unknown' && (d === pci || !storage));
    if (unknown.length) return error(`whether virtio loads at boot could not be decided: ${unknown.map((d) => d.why).join('; ')}`, evidence);
    const missing = [!storage && 'virtio_blk or virtio_scsi', !atBoot(pci!) && 'virtio_pci'].filter(Boolean).join(' and ');
    const onDisk = [blk!, scsi!, pci!].some((d) => d.state === 'on-disk');
    return notMet(bad, `${missing} cannot load before the root filesystem is mounted${onDisk ? ': the modules are on the disk but not in the initramfs' : ''}`, evidence, onDisk ? 'Add the virtio modules to the initramfs and rebuild it (dracut --add-drivers "virtio_blk virtio_scsi virtio_pci virtio_net" -f, or list them in /etc/initramfs-tools/modules and run update-initramfs -u).' : 'Install a kernel with virtio drivers (CONFIG_VIRTIO_BLK, CONFIG_VIRTIO_PCI).');
  },
};

export const linuxNvme: Rule = {
  id: 'linux.nvme',
  title: 'NVMe driver',
  scope: 'linux',
  severity: 'WARNING',
  names: { ecs: 'GUESTOS.Nvme', alibaba: 'nvme', jdcloud: 'nvme', didi: 'NVME_DRIVER' },
  async run(ctx, _profile, bad) {
    const d = await driver(ctx, 'nvme');
    const ev = driverEvidence([d]);
    if (atBoot(d)) return ok(`nvme ${d.state}`, ev);
    if (d.state === 'unknown') return error(`the NVMe driver could not be located: ${d.why}`, ev);
    return notMet(bad, d.state === 'on-disk' ? 'the nvme module is on the disk but not in the initramfs: NVMe system disks will not boot' : 'the kernel has no NVMe driver', ev, 'Add nvme to the initramfs (dracut --add-drivers nvme -f, or /etc/initramfs-tools/modules).');
  },
};

export const linuxMoc: Rule = {
  id: 'linux.moc',
  title: 'newer instance types',
  scope: 'linux',
  severity: 'WARNING',
  names: { ecs: 'GUESTOS.SupportMocInstanceTypes', alibaba: 'moc instance types' },
  async run(ctx, profile, bad) {
    const k = ctx.guest!.boot.defaultKernel ?? ctx.guest!.kernels[0];
    if (!k) return error('no kernel found in /boot');
    const [pci, nvme] = await Promise.all([driver(ctx, 'virtio_pci'), driver(ctx, 'nvme')]);
    const ev: CheckEvidence[] = [{ source: k.path, value: k.version }, ...driverEvidence([pci, nvme])];
    const unknown = [pci, nvme].filter((d) => d.state === 'unknown');
    if (unknown.length) return error(`the drivers could not be located: ${unknown.map((d) => d.why).join('; ')}`, ev);
    const problems: string[] = [];
    if (profile.minKernel && compareVersions(k.version, profile.minKernel) < 0) problems.push(`kernel ${k.version} is older than ${profile.minKernel}`);
    if (!atBoot(pci)) problems.push(`virtio_pci is ${pci.state}`);
    if (!atBoot(nvme)) problems.push(`nvme is ${nvme.state}`);
    if (problems.length) return notMet(bad, `the newest instance types need a recent kernel with virtio-pci and NVMe at boot: ${problems.join('; ')}`, ev, 'Update the kernel and add nvme and virtio_pci to the initramfs.');
    return ok(`kernel ${k.version} with virtio_pci and nvme at boot`, ev);
  },
};

export const linuxCloudInit: Rule = {
  id: 'linux.cloud-init',
  title: 'cloud-init',
  scope: 'linux',
  severity: 'FAILED',
  names: { didi: 'CLOUDINIT', ecs: 'GUESTOS.CloudInit', jdcloud: '冲突组件 cloud-init', alibaba: 'cloud-init' },
  async run(ctx, profile, bad) {
    const c = await component(ctx, ['cloud-init'], ['/usr/bin/cloud-init', '/usr/local/bin/cloud-init'], ['cloud-init', 'cloud-init-local', 'cloud-config', 'cloud-final']);
    if (ctx.guest!.config.cloudInit?.files.length) c.evidence.push({ source: ctx.guest!.config.cloudInit.files[0]!, value: `configuration (${ctx.guest!.config.cloudInit.files.length} file(s))` });
    return stanceOutcome('cloud-init', profile.cloudInit, bad, c, { install: 'Install cloud-init (and enable its units: systemctl enable cloud-init-local cloud-init cloud-config cloud-final).', remove: 'Uninstall cloud-init before importing; this cloud configures the instance with its own agent.' });
  },
};

export const linuxOnlineResize: Rule = {
  id: 'linux.online-resize',
  title: 'root grows online',
  scope: 'linux',
  severity: 'WARNING',
  names: { ecs: 'GUESTOS.OnlineResizeFS', alibaba: 'growpart' },
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const ci = g.config.cloudInit;
    const growpart = await firstExisting(ctx, ['/usr/bin/growpart', '/usr/sbin/growpart', '/bin/growpart', '/sbin/growpart']);
    const ev: CheckEvidence[] = [];
    if (ci) ev.push({ source: ci.files[0] ?? '/etc/cloud/cloud.cfg', value: `cloud-init modules: ${ci.growpart ? 'growpart enabled' : 'growpart not enabled'}${ci.modules.includes('resizefs') ? ', resizefs' : ''}` });
    else ev.push({ source: '/etc/cloud/cloud.cfg', absent: true });
    ev.push(growpart ? { source: growpart.path, value: 'growpart (cloud-utils-growpart / cloud-guest-utils)' } : { source: '/usr/bin/growpart', absent: true });
    const missing = [!ci && 'cloud-init', ci && !ci.growpart && 'the growpart module in cloud.cfg', !growpart && 'the growpart tool'].filter(Boolean);
    if (missing.length) return notMet(bad, `the root partition will not grow to the cloud disk's size: missing ${missing.join(', ')}`, ev, 'Install cloud-init and cloud-utils-growpart (cloud-guest-utils on Debian/Ubuntu), with growpart and resizefs in cloud_init_modules.');
    return ok('cloud-init runs growpart, and the growpart tool is installed', ev);
  },
};

/** Interfaces other than loopback; the primary one (eth0, else the first brought up at boot). */
function interfaces(ctx: CheckContext): { all: NetInterface[]; primary?: NetInterface } {
  const all = ctx.guest!.network.interfaces.filter((i) => i.name !== 'lo' && i.ipv4 !== 'disabled');
  const primary = all.find((i) => i.name === 'eth0') ?? all.find((i) => i.onBoot !== false) ?? all[0];
  return primary ? { all, primary } : { all };
}

const ifaceEvidence = (i: NetInterface): CheckEvidence => ({ source: i.source, value: `${i.name}: IPv4 ${i.ipv4}${i.addresses.length ? ` ${i.addresses.join(' ')}` : ''}${i.ipv6 ? `, IPv6 ${i.ipv6}` : ''}${i.mac ? `, MAC ${i.mac}` : ''} (${i.tool})` });

export const linuxNetwork: Rule = {
  id: 'linux.network',
  title: 'network by DHCP',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'network', didi: 'NETWORK', ecs: 'GUESTOS.Dhcp', jdcloud: '开启DHCP' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const { all, primary } = interfaces(ctx);
    const ev = all.map(ifaceEvidence);
    let outcome: Outcome;
    if (primary && primary.ipv4 === 'static') outcome = notMet(bad, `${primary.name} has a static address (${primary.addresses.join(' ') || 'static'}): it will not be reachable on the cloud's network`, ev, 'Configure the primary interface by DHCP (BOOTPROTO=dhcp, "iface eth0 inet dhcp", dhcp4: true, method=auto).');
    else if (primary && primary.ipv4 === 'dhcp') outcome = ok(`${primary.name} by DHCP`, ev);
    else if (primary) outcome = notMet(bad, `${primary.name} is configured as IPv4 "${primary.ipv4}", not DHCP`, ev, 'Configure the primary interface by DHCP.');
    else {
      const ci = await service(ctx, 'cloud-init');
      const nm = await service(ctx, 'NetworkManager');
      if (ci.state === 'enabled' && !g.network.cloudInitDisabled) outcome = ok('no static configuration; cloud-init writes a DHCP configuration on first boot', serviceEvidence(ci));
      else if (nm.state === 'enabled') outcome = ok('no connection files; NetworkManager brings up wired interfaces by DHCP by default', serviceEvidence(nm));
      else outcome = notMet(bad, 'no network configuration brings an interface up by DHCP', [{ source: 'network configuration', absent: true, value: 'no ifcfg, interfaces, netplan, NetworkManager or networkd file for an interface' }], 'Configure eth0 by DHCP.');
    }
    if (profile.networkManagerWarn && outcome.verdict === 'OK') {
      const nm = await service(ctx, 'NetworkManager');
      const network = await service(ctx, 'network');
      if (nm.state === 'enabled' && network.state === 'disabled') return notMet('WARNING', `${outcome.description}; but NetworkManager is enabled and the network service is not`, [...outcome.evidence, ...serviceEvidence(nm), ...serviceEvidence(network)], 'Disable NetworkManager and enable the network service (systemctl disable NetworkManager; systemctl enable network).');
    }
    return outcome;
  },
};

export const linuxNicName: Rule = {
  id: 'linux.nic-name',
  title: 'interface names',
  scope: 'linux',
  severity: 'WARNING',
  names: { didi: '修改网卡名字为eth0', jdcloud: '70-persistent-net.rules', ecs: 'GUESTOS.NicName', alibaba: 'nic name' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const ev: CheckEvidence[] = [];
    const problems: string[] = [];
    for (const p of g.network.persistentNames) {
      ev.push({ source: p.source, value: `${p.name} pinned to MAC ${p.mac}` });
      problems.push(`${p.source} pins ${p.name} to MAC ${p.mac}`);
    }
    const { all, primary } = interfaces(ctx);
    for (const i of all.filter((x) => x.mac)) {
      ev.push(ifaceEvidence(i));
      problems.push(`${i.source} ties ${i.name} to MAC ${i.mac}`);
    }
    const cmdline = g.boot.cmdline;
    if (cmdline !== undefined) ev.push({ source: g.boot.defaultEntry?.source ?? g.boot.configPath ?? 'boot', ...(g.boot.defaultEntry ? { line: g.boot.defaultEntry.line } : {}), value: /\bnet\.ifnames=0\b/.test(cmdline) ? 'net.ifnames=0 on the command line' : 'no net.ifnames=0 on the command line' });
    if (profile.nicEth0 && primary && primary.name !== 'eth0') problems.push(`the configured interface is ${primary.name}, not eth0`);
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Delete /etc/udev/rules.d/70-persistent-net.rules and HWADDR/MAC lines, name the interface eth0 and add net.ifnames=0 biosdevname=0 to the kernel command line.');
    const noRules = { source: '/etc/udev/rules.d/70-persistent-net.rules', absent: true, value: 'no names pinned to MAC addresses' };
    return ok(primary ? `${primary.name}, not pinned to a MAC address` : 'no interface pinned to a MAC address', [noRules, ...(primary ? [ifaceEvidence(primary)] : []), ...ev]);
  },
};

export const linuxIpv6: Rule = {
  id: 'linux.ipv6',
  title: 'IPv6',
  scope: 'linux',
  severity: 'WARNING',
  names: { didi: 'IPV6', jdcloud: '不支持IPv6', ecs: 'GUESTOS.IPv6', alibaba: 'ipv6' },
  async run(ctx, profile, bad) {
    const { all } = interfaces(ctx);
    const v6 = all.filter((i) => i.ipv6 === 'static');
    const ev = all.map(ifaceEvidence);
    if (v6.length && profile.ipv6 === 'forbidden') return notMet(bad, `static IPv6 configured on ${v6.map((i) => i.name).join(', ')}; this cloud has no IPv6`, ev, 'Remove the static IPv6 addresses from the network configuration.');
    if (!ev.length) ev.push({ source: 'network configuration', absent: true, value: 'no interface configuration' });
    return ok(v6.length ? `static IPv6 on ${v6.map((i) => i.name).join(', ')}` : 'no static IPv6 address', ev);
  },
};

export const linuxSelinux: Rule = {
  id: 'linux.selinux',
  title: 'SELinux',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'SElinux', didi: 'SELINUX', ecs: 'GUESTOS.Selinux', jdcloud: 'selinux' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const cmd = g.boot.cmdline ?? '';
    const cmdEv: CheckEvidence[] = g.boot.cmdline !== undefined && /\b(selinux|enforcing)=/.test(cmd) ? [{ source: g.boot.defaultEntry?.source ?? 'boot', ...(g.boot.defaultEntry ? { line: g.boot.defaultEntry.line } : {}), value: cmd.split(/\s+/).filter((a) => /^(selinux|enforcing)=/.test(a)).join(' ') }] : [];
    if (/(^|\s)selinux=0(\s|$)/.test(cmd)) return ok('disabled on the kernel command line (selinux=0)', cmdEv, 'disabled');
    const file = await guestFile(ctx, '/etc/selinux/config');
    if ('error' in file) return error(`/etc/selinux/config could not be read: ${file.error}`);
    if ('missing' in file) {
      const dir = await guestStat(ctx, '/etc/selinux');
      if (dir) return notMet('WARNING', '/etc/selinux exists but has no config file: the policy\'s default mode applies', [{ source: '/etc/selinux/config', absent: true }, { source: '/etc/selinux', value: 'directory present' }], 'Write /etc/selinux/config with SELINUX=disabled.', 'unknown');
      return ok('SELinux is not installed', [{ source: '/etc/selinux', absent: true, value: 'no SELinux configuration or policy' }], 'absent');
    }
    const at = findLine(file, /^\s*SELINUX\s*=/);
    let mode = g.config.selinux?.mode ?? 'enforcing';
    if (/(^|\s)enforcing=0(\s|$)/.test(cmd) && mode === 'enforcing') mode = 'permissive';
    const ev: CheckEvidence[] = [at ? { source: file.path, line: at.line, value: at.text } : { source: file.path, value: 'no SELINUX= line: enforcing by default' }, ...cmdEv];
    if (mode === 'disabled') return ok('disabled', ev, mode);
    if (mode === 'permissive' && profile.selinux === 'not-enforcing') return ok('permissive', ev, mode);
    return notMet(mode === 'permissive' ? 'WARNING' : bad, `SELinux is ${mode}`, ev, 'Set SELINUX=disabled in /etc/selinux/config.', mode);
  },
};

/** Firewall units, by the name their services have. */
const FIREWALLS = ['firewalld', 'iptables', 'ip6tables', 'nftables', 'ufw', 'SuSEfirewall2'];

/** Whether an enabled firewall's saved rules let TCP 22 in (as its files show). */
async function allowsSsh(ctx: CheckContext, name: string): Promise<{ allows: boolean; evidence: CheckEvidence } | undefined> {
  if (name === 'firewalld') {
    const conf = await guestFile(ctx, '/etc/firewalld/firewalld.conf');
    const zone = ('lines' in conf ? findLine(conf, /^DefaultZone=/)?.text.split('=')[1]?.trim() : undefined) ?? 'public';
    const custom = await guestFile(ctx, `/etc/firewalld/zones/${zone}.xml`);
    if ('lines' in custom) {
      const at = findLine(custom, /<service name="ssh"\/?>|<port[^>]*port="22"/);
      return at ? { allows: true, evidence: { source: custom.path, line: at.line, value: at.text } } : { allows: false, evidence: { source: custom.path, value: `zone ${zone} has no ssh service or port 22` } };
    }
    const shipped = await guestFile(ctx, `/usr/lib/firewalld/zones/${zone}.xml`);
    const at = findLine(shipped, /<service name="ssh"\/?>/);
    return at ? { allows: true, evidence: { source: shipped.path, line: at.line, value: at.text } } : undefined;
  }
  if (name === 'ufw') {
    const rules = await guestFile(ctx, '/etc/ufw/user.rules');
    const at = findLine(rules, /--dport 22\b.*-j ufw-user-input|### tuple ### allow (tcp|any) 22 /);
    return 'lines' in rules ? (at ? { allows: true, evidence: { source: rules.path, line: at.line, value: at.text } } : { allows: false, evidence: { source: rules.path, value: 'no rule allows port 22' } }) : undefined;
  }
  if (name === 'iptables') {
    const rules = await guestFile(ctx, '/etc/sysconfig/iptables');
    const at = findLine(rules, /--dport 22\b.*-j ACCEPT/);
    return 'lines' in rules ? (at ? { allows: true, evidence: { source: rules.path, line: at.line, value: at.text } } : { allows: false, evidence: { source: rules.path, value: 'no rule accepts TCP 22' } }) : undefined;
  }
  return undefined;
}

export const linuxFirewall: Rule = {
  id: 'linux.firewall',
  title: 'firewall',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'firewall', didi: 'FIREWALL', jdcloud: '关闭防火墙', ecs: 'GUESTOS.Firewall' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const states = await Promise.all(FIREWALLS.map((n) => service(ctx, n)));
    const ev: CheckEvidence[] = states.filter((s) => s.state !== 'absent').flatMap(serviceEvidence);
    const on = states.filter((s) => s.state === 'enabled' && (s.name !== 'ufw' || g.config.ufwEnabled !== false));
    if (g.config.ufwEnabled !== undefined) {
      const f = await guestFile(ctx, '/etc/ufw/ufw.conf');
      const at = findLine(f, /^ENABLED=/);
      ev.push({ source: '/etc/ufw/ufw.conf', ...(at ? { line: at.line } : {}), value: at?.text ?? `ENABLED=${g.config.ufwEnabled ? 'yes' : 'no'}` });
    }
    if (!on.length) {
      if (!ev.length) ev.push({ source: `${FIREWALLS.join(', ')} units`, absent: true, value: 'no firewall installed' });
      return ok(states.some((s) => s.state !== 'absent') ? 'no firewall starts at boot' : 'no firewall installed', ev);
    }
    const names = on.map((s) => s.name).join(', ');
    if (profile.firewall === 'allow') return ok(`${names} starts at boot (allowed by this cloud)`, ev);
    const ssh = await Promise.all(on.map((s) => allowsSsh(ctx, s.name)));
    for (const s of ssh) if (s) ev.push(s.evidence);
    const letsSshIn = ssh.every((s) => s?.allows);
    if (profile.firewall === 'ssh') {
      if (letsSshIn) return ok(`${names} starts at boot and lets SSH (TCP 22) in`, ev);
      return notMet('WARNING', `${names} starts at boot and its saved rules do not show TCP 22 allowed`, ev, 'Allow SSH through the firewall (firewall-cmd --permanent --add-service=ssh; ufw allow 22/tcp).');
    }
    if (profile.firewall === 'off-or-ssh' && letsSshIn) return notMet('WARNING', `${names} starts at boot; it lets SSH (TCP 22) in`, ev, `Disable it: systemctl disable ${on.map((s) => s.unit ?? s.name).join(' ')}.`);
    return notMet(bad, `${names} starts at boot`, ev, `Disable it: systemctl disable ${on.map((s) => s.unit ?? s.name).join(' ')}${on.some((s) => s.name === 'ufw') ? '; ufw disable' : ''}.`);
  },
};

export const linuxSsh: Rule = {
  id: 'linux.ssh',
  title: 'SSH service',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'ssh', didi: 'SERVICE_SSH', jdcloud: 'SSH', ecs: 'GUESTOS.Ssh' },
  async run(ctx, profile, bad) {
    const g = ctx.guest!;
    const sshd = await firstExisting(ctx, ['/usr/sbin/sshd', '/sbin/sshd', '/usr/bin/sshd']);
    const units = (await Promise.all(['sshd', 'ssh'].map((n) => service(ctx, n)))).filter((s) => s.state !== 'absent');
    const ev: CheckEvidence[] = [sshd ? { source: sshd.path, value: `${sshd.stats.size} bytes` } : { source: '/usr/sbin/sshd', absent: true }, ...units.flatMap(serviceEvidence)];
    if (!sshd && !units.length) return notMet(bad, 'the SSH server is not installed', ev, 'Install openssh-server and enable it.');
    if (!units.some((s) => s.state === 'enabled')) return notMet(bad, `sshd does not start at boot (${units.map((s) => `${s.name} ${s.state}`).join(', ') || 'no unit'})`, ev, 'Enable it: systemctl enable sshd (ssh on Debian/Ubuntu), or chkconfig sshd on.');
    const c = g.config.sshd;
    if (!c) return notMet('WARNING', 'sshd starts at boot, but /etc/ssh/sshd_config is missing', [...ev, { source: '/etc/ssh/sshd_config', absent: true }], 'Restore /etc/ssh/sshd_config.');
    const setting = (k: 'port' | 'permitrootlogin' | 'usedns'): CheckEvidence => {
      const o = c.origins[k];
      return o ? { source: o.file, line: o.line, value: `${k} ${c[k]}` } : { source: '/etc/ssh/sshd_config', value: `${k} ${c[k]} (OpenSSH's default; not set)` };
    };
    const problems: { sev: Severity; text: string; fix: string }[] = [];
    if (profile.ssh.port22 && c.port !== '22') problems.push({ sev: bad, text: `sshd listens on port ${c.port}, not 22`, fix: 'Set Port 22.' });
    if (profile.ssh.rootLoginWarn && c.permitrootlogin === 'no') problems.push({ sev: 'WARNING', text: 'PermitRootLogin no: root cannot log in with the console-set password or key', fix: 'Remove PermitRootLogin no (or set it to yes / prohibit-password).' });
    if (profile.ssh.useDnsNo && c.usedns !== 'no') problems.push({ sev: 'WARNING', text: `UseDNS ${c.usedns}: logins wait on reverse DNS`, fix: 'Set UseDNS no.' });
    ev.push(setting('port'), setting('permitrootlogin'), setting('usedns'));
    if (problems.length) return notMet(problems.some((p) => p.sev === 'FAILED') ? 'FAILED' : 'WARNING', `sshd starts at boot, but ${problems.map((p) => p.text).join('; ')}`, ev, problems.map((p) => p.fix).join(' '));
    return ok(`sshd starts at boot (port ${c.port}, PermitRootLogin ${c.permitrootlogin})`, ev);
  },
};

export const linuxDnsLookup: Rule = {
  id: 'linux.dns-lookup',
  title: 'sshd DNS lookups',
  scope: 'linux',
  severity: 'WARNING',
  names: { didi: '关闭DNS查找', alibaba: 'UseDNS', ecs: 'GUESTOS.UseDNS', jdcloud: 'UseDNS' },
  async run(ctx, _profile, bad) {
    const c = ctx.guest!.config.sshd;
    if (!c) return error('/etc/ssh/sshd_config could not be read', [{ source: '/etc/ssh/sshd_config', absent: true }]);
    const o = c.origins.usedns;
    const ev: CheckEvidence[] = [o ? { source: o.file, line: o.line, value: `UseDNS ${c.usedns}` } : { source: '/etc/ssh/sshd_config', value: `UseDNS not set: OpenSSH's default is ${c.usedns}` }];
    if (c.usedns !== 'no') return notMet(bad, `UseDNS ${c.usedns}: every SSH login waits on a reverse DNS lookup`, ev, 'Set UseDNS no in /etc/ssh/sshd_config.', c.usedns);
    return ok('UseDNS no', ev, 'no');
  },
};

export const linuxSerialConsole: Rule = {
  id: 'linux.serial-console',
  title: 'serial console',
  scope: 'linux',
  severity: 'WARNING',
  names: { didi: 'SERVICE_TTYS0', ecs: 'GUESTOS.SerialConsole', alibaba: 'ttyS0', jdcloud: 'ttyS0' },
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const getty = await service(ctx, 'serial-getty@ttyS0');
    const ev: CheckEvidence[] = serviceEvidence(getty);
    const cmd = g.boot.cmdline;
    const console = cmd !== undefined && /(^|\s)console=ttyS0/.test(cmd);
    if (cmd !== undefined) ev.push({ source: g.boot.defaultEntry?.source ?? 'boot', ...(g.boot.defaultEntry ? { line: g.boot.defaultEntry.line } : {}), value: console ? cmd.split(/\s+/).filter((a) => a.startsWith('console=')).join(' ') : 'no console=ttyS0 on the default command line' });
    const systemd = await firstExisting(ctx, ['/usr/lib/systemd/systemd', '/lib/systemd/systemd']);
    if (getty.state === 'enabled') return ok(`a login prompt on ttyS0 (${getty.via})${console ? ', and kernel messages' : ''}`, ev);
    if (console && systemd && getty.state !== 'masked') return ok('console=ttyS0 on the default command line: systemd starts a getty there', [...ev, { source: systemd.path, value: 'systemd (its getty generator follows console=)' }]);
    return notMet(bad, 'no login prompt on the serial console ttyS0', ev, 'Add console=ttyS0,115200n8 to GRUB_CMDLINE_LINUX and regenerate grub.cfg, or enable serial-getty@ttyS0.');
  },
};

export const linuxQemuGa: Rule = {
  id: 'linux.qemu-ga',
  title: 'qemu-guest-agent',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'qemu-ga', jdcloud: '冲突组件 qemu-ga', ecs: 'GUESTOS.QemuGa', didi: 'QEMU_GA' },
  async run(ctx, profile, bad) {
    const c = await component(ctx, ['qemu-guest-agent', 'qemu-ga'], ['/usr/bin/qemu-ga', '/usr/sbin/qemu-ga'], ['qemu-guest-agent']);
    return stanceOutcome('qemu-guest-agent', profile.qemuGa, bad, c, { install: 'Install qemu-guest-agent and enable it.', remove: 'Uninstall qemu-guest-agent (yum remove qemu-guest-agent / apt-get purge qemu-guest-agent).' });
  },
};

export const linuxShadow: Rule = {
  id: 'linux.shadow',
  title: '/etc/shadow writable',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'shadow file authority', jdcloud: 'shadow', ecs: 'GUESTOS.Shadow', didi: 'SHADOW' },
  async run(ctx, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const locked: string[] = [];
    for (const path of ['/etc/shadow', '/etc/passwd']) {
      const st = await guestStat(ctx, path, true);
      if (!st) {
        ev.push({ source: path, absent: true });
        locked.push(`${path} is missing`);
        continue;
      }
      const flags = st.flags.filter((f) => f === 'immutable' || f === 'append');
      ev.push({ source: path, value: `inode ${st.ino}, mode ${(st.permissions).toString(8)}, flags 0x${st.rawFlags.toString(16)}${flags.length ? ` (${flags.join(', ')})` : ''}` });
      if (flags.length) locked.push(`${path} is ${flags.join(' and ')}`);
    }
    if (locked.length) return notMet(bad, `${locked.join('; ')}: passwords cannot be set`, ev, 'Clear the flags: chattr -i -a /etc/shadow /etc/passwd (and restore a missing file).');
    return ok('/etc/shadow and /etc/passwd have no immutable or append-only flag', ev);
  },
};

export const linuxRootAccount: Rule = {
  id: 'linux.root-account',
  title: 'root account',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'root account', didi: 'ACCOUNT', jdcloud: 'root', ecs: 'GUESTOS.Root' },
  async run(ctx, _profile, bad) {
    const passwd = await guestFile(ctx, '/etc/passwd');
    if ('error' in passwd) return error(`/etc/passwd could not be read: ${passwd.error}`);
    if ('missing' in passwd) return notMet(bad, '/etc/passwd is missing', [{ source: '/etc/passwd', absent: true }], 'Restore /etc/passwd with a root account.');
    const at = findLine(passwd, /^root:/);
    if (!at) return notMet(bad, 'there is no root account in /etc/passwd', [{ source: '/etc/passwd', value: 'no line for root', absent: true }], 'Add the root account back.');
    const fields = at.text.split(':');
    const ev: CheckEvidence[] = [{ source: '/etc/passwd', line: at.line, value: at.text }];
    if (fields[2] !== '0') return notMet(bad, `root has uid ${fields[2]}, not 0`, ev, 'Give root uid 0.');
    const shell = fields[6] ?? '';
    if (/\/(nologin|false)$/.test(shell) || !shell) return notMet(bad, `root's shell is ${shell || 'empty'}: root cannot log in`, ev, 'Give root a login shell (/bin/bash).');
    const shadow = await guestFile(ctx, '/etc/shadow');
    const s = findLine(shadow, /^root:/);
    if (s) ev.push({ source: '/etc/shadow', line: s.line, value: `root password: ${ctx.guest!.config.root?.password ?? 'unknown'}` });
    return ok(`root (uid 0, shell ${shell})`, ev);
  },
};

export const linuxPasswd: Rule = {
  id: 'linux.passwd',
  title: 'passwd command',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'password', jdcloud: 'password', ecs: 'GUESTOS.Passwd', didi: 'PASSWD' },
  async run(ctx, _profile, bad) {
    const found = await firstExisting(ctx, ['/usr/bin/passwd', '/bin/passwd']);
    if (!found) return notMet(bad, 'the passwd command is missing: the console cannot set passwords', [{ source: '/usr/bin/passwd', absent: true }, { source: '/bin/passwd', absent: true }], 'Reinstall the passwd package (passwd / shadow-utils).');
    const st = found.stats;
    const ev: CheckEvidence[] = [{ source: found.path, value: `${st.type}, mode ${st.permissions.toString(8)}, ${st.size} bytes` }];
    if (st.type !== 'file' || !(st.permissions & 0o111)) return notMet(bad, `${found.path} is not an executable file`, ev, 'Reinstall the passwd package.');
    const head = await ctx.guest!.fs.readFile(found.path, { maxBytes: 64 * 1024 * 1024 }).then((b) => b.subarray(0, 4)).catch(() => undefined);
    if (!head || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return notMet(bad, `${found.path} is not an ELF executable`, ev, 'Reinstall the passwd package.');
    ev[0]!.value += ', ELF';
    return ok(`${found.path} is an executable`, ev);
  },
};

export const linuxLibLinks: Rule = {
  id: 'linux.lib-links',
  title: '/lib links relative',
  scope: 'linux',
  severity: 'FAILED',
  names: { alibaba: 'lib', ecs: 'GUESTOS.LibLinks', jdcloud: 'lib', didi: 'LIB' },
  async run(ctx, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const absolute: string[] = [];
    for (const path of ['/lib', '/lib64', '/bin', '/sbin']) {
      const st = await guestStat(ctx, path);
      if (!st) {
        ev.push({ source: path, absent: true });
        continue;
      }
      if (st.type !== 'symlink') {
        ev.push({ source: path, value: st.type });
        continue;
      }
      const target = (await guestReadlink(ctx, path))!;
      ev.push({ source: path, value: `symlink to ${target}` });
      if (target.startsWith('/')) absolute.push(`${path} → ${target}`);
    }
    if (!(await guestStat(ctx, '/lib'))) return notMet(bad, '/lib is missing', ev, 'Restore /lib (a directory, or the relative link usr/lib).');
    if (absolute.length) return notMet(bad, `absolute links: ${absolute.join(', ')}; outside the guest they point at the host's files`, ev, 'Make them relative: ln -sfn usr/lib /lib (and usr/lib64, usr/bin, usr/sbin).');
    return ok('/lib and its siblings are directories or relative links', ev);
  },
};

const RENAMED_DEVICE = /^\/dev\/(sd[a-z]|hd[a-z]|xvd[a-z]|vd[a-z]|nvme\d+n\d+p?)\d*$/;

export const linuxFstab: Rule = {
  id: 'linux.fstab',
  title: '/etc/fstab',
  scope: 'linux',
  severity: 'FAILED',
  names: { ecs: 'GUESTOS.Fstab', jdcloud: '/etc/fstab', alibaba: 'device id', didi: 'FSTAB' },
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const file = await guestFile(ctx, '/etc/fstab');
    if ('error' in file) return error(`/etc/fstab could not be read: ${file.error}`);
    if ('missing' in file) return notMet('WARNING', '/etc/fstab is missing: only the root filesystem is mounted', [{ source: '/etc/fstab', absent: true }], 'Restore /etc/fstab with the system\'s filesystems by UUID.');
    const ev: CheckEvidence[] = [];
    const problems: { sev: Severity; text: string }[] = [];
    for (const m of g.mounts.filter((x) => x.line !== undefined)) {
      const text = file.lines[m.line! - 1]?.trim() ?? m.device;
      ev.push({ source: '/etc/fstab', line: m.line!, value: `${text} → ${m.volume ?? m.status}${m.reason ? ` (${m.reason})` : ''}` });
      const nofail = m.options.includes('nofail') || m.options.includes('noauto');
      if (m.status === 'not-found') {
        const critical = m.mountpoint === '/' || m.mountpoint === '/boot' || m.mountpoint === '/usr';
        problems.push({ sev: critical ? bad : 'WARNING', text: `line ${m.line}: ${m.device} for ${m.mountpoint} is not on this disk${critical ? '' : ' and has no nofail'}` });
      } else if (m.status === 'failed') problems.push({ sev: 'WARNING', text: `line ${m.line}: ${m.device} for ${m.mountpoint} did not open` });
      else if (m.volume && RENAMED_DEVICE.test(m.device) && !nofail) problems.push({ sev: 'WARNING', text: `line ${m.line}: ${m.device} is a kernel device name, which changes with the disk controller` });
    }
    if (!ev.length) ev.push({ source: '/etc/fstab', value: 'no entries' });
    if (problems.length) {
      const sev: Severity = problems.some((p) => p.sev === 'FAILED') ? 'FAILED' : 'WARNING';
      return notMet(sev, problems.map((p) => p.text).join('; '), ev, 'Refer to filesystems by UUID= or LABEL=, remove entries for disks that are not part of the image (or add nofail to them).');
    }
    return ok(`${g.mounts.filter((x) => x.line !== undefined).length} entries; every disk entry resolves to a filesystem in the image`, ev);
  },
};

export const linuxGrub: Rule = {
  id: 'linux.grub',
  title: 'boot loader configuration',
  scope: 'linux',
  severity: 'FAILED',
  names: { ecs: 'GUESTOS.Grub', jdcloud: 'grub.cfg', alibaba: 'grub', didi: 'GRUB' },
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const b = g.boot;
    if (b.loader === 'none') return notMet(bad, 'no boot loader configuration (grub.cfg or menu.lst)', [{ source: '/boot/grub2/grub.cfg', absent: true }, { source: '/boot/grub/grub.cfg', absent: true }, { source: '/boot/grub/menu.lst', absent: true }], 'Install GRUB and generate its configuration (grub2-mkconfig -o /boot/grub2/grub.cfg, or update-grub).');
    const e = b.defaultEntry;
    if (!e) return notMet(bad, `${b.configPath} has no default entry that GRUB would boot`, [{ source: b.configPath!, value: `${b.entries.length} entries` }], 'Regenerate the configuration and set the default (grub2-set-default 0).');
    const ev: CheckEvidence[] = [{ source: e.source, line: e.line, value: `default "${e.title}": linux ${e.kernel ?? '-'}${e.initrd?.length ? `, initrd ${e.initrd.join(' ')}` : ''}` }];
    const problems: string[] = [];
    if (!e.kernel) problems.push(`the default entry "${e.title}" has no linux line`);
    else if (!b.defaultKernel) problems.push(`the default entry boots ${e.kernel}, which is not in /boot`);
    else ev.push({ source: b.defaultKernel.path, value: `kernel ${b.defaultKernel.version}` });
    for (const initrd of e.initrd ?? []) {
      const base = initrd.replace(/^\([^)]*\)/, '').split('/').pop()!;
      const found = await firstExisting(ctx, [`/boot/${base}`, `/${base}`]);
      if (found) ev.push({ source: found.path, value: `initrd, ${found.stats.size} bytes` });
      else problems.push(`its initrd ${initrd} is not in /boot`);
    }
    const rootArg = /(?:^|\s)root=(\S+)/.exec(e.args ?? '')?.[1];
    if (rootArg && ctx.layout) {
      const m = findVolume(parseSpec(rootArg), ctx.layout);
      ev.push({ source: e.source, line: e.line, value: `root=${rootArg} → ${m.volume ? m.volume.id : m.reason}` });
      if (!m.volume) problems.push(`root=${rootArg} names no volume in the image`);
    } else if (!rootArg) ev.push({ source: e.source, line: e.line, value: 'no root= argument' });
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Regenerate the boot configuration for the installed kernel (grub2-mkconfig -o …, update-grub), and check root= names the root filesystem by UUID.');
    return ok(`"${e.title}" boots ${b.defaultKernel!.version}${rootArg ? ` with root=${rootArg}` : ''}`, ev);
  },
};

export const linuxRtc: Rule = {
  id: 'linux.rtc',
  title: 'hardware clock in UTC',
  scope: 'linux',
  severity: 'WARNING',
  names: { ecs: 'GUESTOS.RtcTimeMode', alibaba: 'rtc', jdcloud: 'rtc', didi: 'RTC' },
  async run(ctx, _profile, bad) {
    const f = await guestFile(ctx, '/etc/adjtime');
    if ('error' in f) return error(`/etc/adjtime could not be read: ${f.error}`);
    if ('missing' in f) return ok('no /etc/adjtime: the clock is read as UTC', [{ source: '/etc/adjtime', absent: true, value: 'UTC by default' }], 'UTC');
    const at = findLine(f, /^(UTC|LOCAL)\s*$/);
    const rtc = ctx.guest!.config.rtc;
    const ev: CheckEvidence[] = [at ? { source: '/etc/adjtime', line: at.line, value: at.text } : { source: '/etc/adjtime', value: 'no third line: UTC' }];
    if (rtc === 'LOCAL') return notMet(bad, 'the hardware clock is kept in local time', ev, 'Set it to UTC: timedatectl set-local-rtc 0 (or write UTC on the third line of /etc/adjtime).', 'LOCAL');
    return ok('UTC', ev, 'UTC');
  },
};

export const linuxAgents: Rule = {
  id: 'linux.agents',
  title: 'cloud agents',
  scope: 'linux',
  severity: 'WARNING',
  names: { ecs: 'CloudAssistant', jdcloud: 'JCS-agent', alibaba: 'agents' },
  async run(ctx, profile, bad) {
    if (!profile.agents.length) return skipped('this cloud names no agent');
    const ev: CheckEvidence[] = [];
    const missing: string[] = [];
    for (const a of profile.agents) {
      const c = await component(ctx, [], a.paths, a.units);
      if (c.present) ev.push(...c.evidence);
      else {
        missing.push(a.name);
        ev.push(...a.paths.slice(0, 2).map((p) => ({ source: p, absent: true })));
      }
    }
    if (missing.length) return notMet(bad, `missing: ${missing.join(', ')}`, ev, `Install ${missing.join(', ')} (or let the console install it at import).`);
    return ok(profile.agents.map((a) => a.name).join(', '), ev);
  },
};

export const LINUX_RULES: Rule[] = [linuxOs, linuxArch, linuxKernel, linuxVirtio, linuxNvme, linuxCloudInit, linuxOnlineResize, linuxNetwork, linuxNicName, linuxIpv6, linuxSelinux, linuxFirewall, linuxSsh, linuxSerialConsole, linuxQemuGa, linuxShadow, linuxRootAccount, linuxPasswd, linuxLibLinks, linuxFstab, linuxGrub, linuxRtc, linuxDnsLookup, linuxAgents, linuxMoc];
