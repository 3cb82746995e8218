/**
 * Items beyond the seeds that apply offline (vendor-checks.md): Hyper-V drivers (D6), kernel
 * command line content (B13), leftover hypervisor tools (D7), one NIC (D11), and image hygiene:
 * SSH host keys, shell history and authorized_keys left in the image (D25).
 */
import { DiskProbeError } from '../../errors.js';
import { firstExisting, guestStat, type CheckContext } from '../context.js';
import { error, notMet, ok, type Rule } from '../rule.js';
import type { CheckEvidence } from '../types.js';
import { atBoot, driver } from './drivers.js';

export const linuxHyperv: Rule = {
  id: 'linux.hyperv',
  title: 'Hyper-V drivers at boot',
  scope: 'linux',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    const ds = await Promise.all(['hv_vmbus', 'hv_storvsc', 'hv_netvsc'].map((m) => driver(ctx, m)));
    const ev: CheckEvidence[] = ds.flatMap((d) => d.evidence.map((e) => ({ ...e, value: `${d.module}: ${d.state}${e.value ? ` — ${e.value}` : ''}` })));
    const [vmbus, storvsc, netvsc] = ds as [(typeof ds)[0], (typeof ds)[0], (typeof ds)[0]];
    if (atBoot(vmbus) && atBoot(storvsc)) {
      if (netvsc.state === 'absent') return notMet('WARNING', 'hv_vmbus and hv_storvsc load at boot, but hv_netvsc is missing', ev, 'Install a kernel with hv_netvsc.');
      return ok(ds.map((d) => `${d.module} ${d.state}`).join(', '), ev);
    }
    const unknown = ds.filter((d) => d.state === 'unknown');
    if (unknown.length) return error(`whether the Hyper-V drivers load at boot could not be decided: ${unknown.map((d) => d.why).join('; ')}`, ev);
    return notMet(bad, `${[vmbus, storvsc].filter((d) => !atBoot(d)).map((d) => `${d.module} (${d.state})`).join(' and ')} cannot load before the root filesystem is mounted`, ev, 'Add hv_vmbus, hv_storvsc and hv_netvsc to the initramfs (dracut --add-drivers "hv_vmbus hv_netvsc hv_storvsc" -f, or /etc/initramfs-tools/modules).');
  },
};

export const linuxCmdline: Rule = {
  id: 'linux.cmdline',
  title: 'kernel command line',
  scope: 'linux',
  severity: 'WARNING',
  names: {},
  async run(ctx, profile, bad) {
    const b = ctx.guest!.boot;
    if (b.cmdline === undefined) return error('no default boot entry with a command line was found');
    const args = b.cmdline.split(/\s+/).filter(Boolean);
    const ev: CheckEvidence[] = [{ source: b.defaultEntry?.source ?? b.configPath ?? 'boot', ...(b.defaultEntry ? { line: b.defaultEntry.line } : {}), value: b.cmdline }];
    const name = (a: string) => a.split('=')[0]!;
    // `console=ttyS0` is met by `console=ttyS0,115200n8`; a bare word by the word with any value.
    const missing = profile.cmdlineWants.filter((w) => !args.some((a) => (w.includes('=') ? a === w || a.startsWith(`${w},`) : name(a) === w)));
    const present = args.filter((a) => profile.cmdlineAvoid.includes(name(a)) || profile.cmdlineAvoid.includes(a));
    if (missing.length || present.length) {
      return notMet(bad, [missing.length && `missing ${missing.join(' ')}`, present.length && `has ${present.join(' ')}`].filter(Boolean).join('; '), ev, `Edit GRUB_CMDLINE_LINUX in /etc/default/grub${missing.length ? ` to add ${missing.join(' ')}` : ''}${present.length ? ` and remove ${present.join(' ')}` : ''}, then regenerate grub.cfg.`);
    }
    return ok(profile.cmdlineWants.length || profile.cmdlineAvoid.length ? 'the command line has what this cloud asks for' : 'no requirement on the command line', ev);
  },
};

/** Guest tools of other hypervisors: packages and the folders they leave. */
const OTHER_TOOLS: { name: string; packages: string[]; paths: string[] }[] = [
  { name: 'VMware Tools', packages: ['open-vm-tools', 'open-vm-tools-desktop', 'vmware-tools'], paths: ['/etc/vmware-tools', '/usr/bin/vmware-toolbox-cmd', '/usr/lib/vmware-tools'] },
  { name: 'Xen guest utilities', packages: ['xe-guest-utilities', 'xen-tools'], paths: ['/usr/sbin/xe-daemon', '/etc/init.d/xe-linux-distribution'] },
  { name: 'Parallels Tools', packages: ['parallels-tools'], paths: ['/usr/lib/parallels-tools', '/etc/init.d/prltoolsd'] },
  { name: 'VirtualBox Guest Additions', packages: ['virtualbox-guest-utils', 'VBoxGuestAdditions'], paths: ['/opt/VBoxGuestAdditions', '/usr/sbin/VBoxService'] },
];

export const linuxResidualTools: Rule = {
  id: 'linux.residual-tools',
  title: 'other hypervisors\' tools',
  scope: 'linux',
  severity: 'WARNING',
  names: {},
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const ev: CheckEvidence[] = [];
    const found: string[] = [];
    for (const t of OTHER_TOOLS) {
      const p = g.packages.flatMap((db) => (db.packages ?? []).filter((x) => t.packages.includes(x.name)).map((x) => ({ db: db.path, x })))[0];
      const f = await firstExisting(ctx, t.paths, false);
      if (p) ev.push({ source: p.db, value: `package ${p.x.name} ${p.x.version}` });
      if (f) ev.push({ source: f.path, value: f.stats.type });
      if (p || f) found.push(t.name);
    }
    if (found.length) return notMet(bad, `${found.join(', ')} installed: they may fail or interfere on this cloud`, ev, `Uninstall ${found.join(', ')} before exporting.`);
    const dbs = g.packages.filter((d) => d.packages).map((d) => ({ source: d.path, value: 'none of the other hypervisors\' tool packages', absent: true }));
    return ok('no other hypervisor\'s guest tools', [...dbs, ...OTHER_TOOLS.map((t) => ({ source: t.paths[0]!, absent: true }))]);
  },
};

export const linuxSingleNic: Rule = {
  id: 'linux.single-nic',
  title: 'one network interface',
  scope: 'linux',
  severity: 'WARNING',
  names: {},
  async run(ctx, _profile, bad) {
    const all = ctx.guest!.network.interfaces.filter((i) => i.name !== 'lo' && i.ipv4 !== 'disabled' && i.onBoot !== false);
    const names = [...new Set(all.map((i) => i.name))];
    const ev: CheckEvidence[] = all.map((i) => ({ source: i.source, value: `${i.name} (${i.tool}, IPv4 ${i.ipv4})` }));
    if (names.length > 1) return notMet(bad, `${names.length} interfaces are brought up at boot (${names.join(', ')}); the instance starts with one`, ev, 'Keep one interface (eth0, by DHCP) in the network configuration.');
    if (!ev.length) ev.push({ source: 'network configuration', value: 'no interface files', absent: true });
    return ok(names.length ? `one interface (${names[0]})` : 'no interface configured by file', ev);
  },
};

async function listDir(ctx: CheckContext, path: string): Promise<string[] | undefined> {
  return ctx.memo(`readdir:${path}`, async () => {
    try {
      return (await ctx.guest!.fs.readdir(path)).map((e) => e.name);
    } catch (e) {
      if (e instanceof DiskProbeError) return undefined;
      throw e;
    }
  });
}

/** Homes to look in: /root and up to this many under /home. */
const MAX_HOMES = 64;

export const linuxHygiene: Rule = {
  id: 'linux.hygiene',
  title: 'no leftover keys or history',
  scope: 'linux',
  severity: 'WARNING',
  names: {},
  async run(ctx, _profile, bad) {
    const left: CheckEvidence[] = [];
    const looked: CheckEvidence[] = [];
    const ssh = await listDir(ctx, '/etc/ssh');
    if (ssh) {
      const keys = ssh.filter((n) => /^ssh_host_.*_key$/.test(n)).sort();
      for (const k of keys) left.push({ source: `/etc/ssh/${k}`, value: 'SSH host private key: every instance would share it' });
      if (!keys.length) looked.push({ source: '/etc/ssh', value: 'no ssh_host_*_key', absent: true });
    }
    const homes = ['/root', ...((await listDir(ctx, '/home')) ?? []).slice(0, MAX_HOMES).map((n) => `/home/${n}`)];
    for (const h of homes) {
      for (const f of ['.bash_history', '.ssh/authorized_keys', '.ssh/id_rsa', '.ssh/id_ed25519', '.ssh/id_ecdsa']) {
        const path = `${h}/${f}`;
        const st = await guestStat(ctx, path);
        if (st?.type === 'file' && (st.size > 0 || !f.endsWith('history'))) left.push({ source: path, value: `${st.size} bytes` });
      }
    }
    if (!left.length) looked.push(...homes.map((h) => ({ source: `${h}/.bash_history, .ssh`, absent: true, value: 'no history, authorized_keys or private keys' })));
    if (left.length) return notMet(bad, `${left.length} file(s) that belong to the machine the image was made from: ${left.map((e) => e.source).join(', ')}`, left, 'Remove them before exporting (virt-sysprep does: ssh host keys are regenerated on first boot; history and keys are personal).');
    if (!ssh) return error('/etc/ssh could not be listed');
    return ok('no SSH host keys, shell history or authorized keys left in the image', looked);
  },
};

export const EXTRA_RULES: Rule[] = [linuxHyperv, linuxCmdline, linuxResidualTools, linuxSingleNic, linuxHygiene];

