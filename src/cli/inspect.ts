import { parseArgs } from 'node:util';
import { inspect, type Guest } from '../guest/index.js';
import { openImage, type OpenedImage } from '../node/image.js';
import { EXIT, toJson, UsageError, type Io } from './io.js';

export const INSPECT_HELP = `Usage: diskprobe inspect [--json] [--initramfs] [--packages] <image>...

Finds the operating systems in an image (several images: the disks of one machine) without
booting or mounting anything, like virt-inspector: for each root, the distribution and version,
the architecture, the hostname, the guest's fstab mounted onto it (which volume each line
names, or why none), the installed kernels and the one the boot loader starts by default with
its command line, whether the services the cloud checks ask about start at boot, and sshd,
SELinux and clock settings, with what was odd along the way.

Options:
  --json       print JSON
  --initramfs  also list the default kernel's initramfs (which kernel modules it carries)
  --packages   list every installed package (name, version, architecture), not only the count
  -h, --help   show this help

Exit codes: 0 at least one operating system found; 1 none found; 2 usage error, or an image
could not be opened.
`;

/** A guest as JSON: everything but the live filesystem view, plus the mounts it assembled. */
export function guestJson(g: Guest, listPackages = true): Record<string, unknown> {
  const { fs, packages, ...rest } = g;
  return {
    ...rest,
    packages: packages.map((db) => (listPackages || !db.packages ? db : { ...db, packages: undefined, count: db.packages.length })),
    mounted: fs.mounted.map((m) => ({ path: m.path, volume: m.source, type: m.fs.type })),
  };
}

function describe(g: Guest, listPackages: boolean): string {
  const id = g.identity;
  const lines = [`${id.product ?? id.name ?? (id.distro === 'unknown' ? 'unknown Linux' : id.distro)} on ${g.root}`];
  const row = (k: string, v: string | undefined) => v !== undefined && lines.push(`  ${k.padEnd(10)} ${v}`);
  row('distro', [id.distro, id.version, id.codename && `(${id.codename})`].filter(Boolean).join(' '));
  if (id.source) row('from', id.source);
  row('arch', g.arch ? `${g.arch} (${g.archSource})` : 'unknown');
  row('hostname', g.hostname ?? '-');
  if (g.mounts.length) {
    lines.push('  fstab:');
    const width = Math.max(...g.mounts.map((m) => m.mountpoint.length));
    for (const m of g.mounts) {
      lines.push(`    ${String(m.line ?? '').padStart(3)}  ${m.mountpoint.padEnd(width)}  ${(m.volume ?? '-').padEnd(12)} ${m.type.padEnd(6)} ${m.status}${m.reason ? `: ${m.reason}` : ''}`);
    }
  }
  if (g.crypttab.length) lines.push(`  crypttab:  ${g.crypttab.map((c) => `${c.name} (${c.device})`).join(', ')}`);
  row('kernels', g.kernels.length ? g.kernels.map((k) => k.version).join(', ') : 'none in /boot');
  const b = g.boot;
  row('boot', b.loader === 'none' ? 'no boot loader configuration' : `${b.loader} (${b.configPath})${b.defaultEntry ? `, default "${b.defaultEntry.title}"` : ', no default entry'}`);
  if (b.defaultKernel) row('kernel', `${b.defaultKernel.version}${b.defaultKernel.initramfs ? ` with ${b.defaultKernel.initramfs}` : ''}`);
  if (b.cmdline !== undefined) row('cmdline', b.cmdline);
  if (g.builtinModules) row('built in', `${g.builtinModules.length} modules${g.builtinModules.some((m) => m.startsWith('virtio')) ? ` (${g.builtinModules.filter((m) => m.startsWith('virtio')).join(', ')})` : ''}`);
  if (g.initramfs) {
    const i = g.initramfs;
    row('initramfs', `${i.path}: ${i.files} files in ${i.compression.join(' + ')}${i.complete ? '' : ' (incomplete)'}; modules: ${i.modules.filter((m) => /^(virtio|nvme|xen|hv_|ena|ixgbevf|mlx)/.test(m)).join(', ') || 'none of the cloud drivers'}`);
  }
  for (const i of g.network.interfaces) {
    row('network', `${i.name}: ${i.ipv4}${i.ipv6 ? `, IPv6 ${i.ipv6}` : ''}${i.addresses.length ? ` ${i.addresses.join(' ')}` : ''}${i.mac ? ` (MAC ${i.mac})` : ''} [${i.tool}: ${i.source}]`);
  }
  if (g.network.cloudInitDisabled) row('network', `cloud-init network configuration disabled (${g.network.cloudInitDisabled.source})`);
  for (const p of g.network.persistentNames) row('network', `${p.name} pinned to MAC ${p.mac} (${p.source})`);
  for (const db of g.packages) row('packages', `${db.kind} (${db.path}): ${db.packages ? `${db.packages.length} installed` : `${db.format} format, not read by this version`}`);
  if (g.services.length) row('services', g.services.map((s) => `${s.name} ${s.state}`).join(', '));
  const c = g.config;
  if (c.sshd) row('sshd', `PermitRootLogin ${c.sshd.permitrootlogin}, PasswordAuthentication ${c.sshd.passwordauthentication}, Port ${c.sshd.port}, UseDNS ${c.sshd.usedns}`);
  if (c.selinux) row('selinux', `${c.selinux.mode ?? '-'}${c.selinux.type ? ` (${c.selinux.type})` : ''}`);
  if (c.rtc) row('rtc', c.rtc);
  for (const f of g.findings) lines.push(`  ${f.severity}: ${f.message} [${f.code}]`);
  if (listPackages) for (const db of g.packages) for (const p of db.packages ?? []) lines.push(`  ${db.kind}  ${p.name}  ${p.version}${p.arch ? `  ${p.arch}` : ''}`);
  return lines.join('\n');
}

export async function inspectCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, initramfs: { type: 'boolean' }, packages: { type: 'boolean' } } });
  if (positionals.length < 1) throw new UsageError('expected at least one image');
  const opened: OpenedImage[] = [];
  try {
    for (const p of positionals) opened.push(await openImage(p));
    const result = await inspect(
      opened.map((o) => o.disk),
      { initramfs: values.initramfs === true },
    );
    if (values.json) {
      io.out(`${toJson({ guests: result.guests.map((g) => guestJson(g, values.packages === true)), findings: result.findings })}\n`);
    } else {
      if (result.guests.length === 0) io.out('no operating system found\n');
      io.out(result.guests.map((g) => describe(g, values.packages === true)).join('\n\n') + (result.guests.length ? '\n' : ''));
      for (const f of result.findings) io.out(`${f.severity}: ${f.message} [${f.code}]\n`);
    }
    return result.guests.length ? EXIT.OK : EXIT.PROBLEM;
  } finally {
    await Promise.all(opened.map((o) => o.close()));
  }
}
