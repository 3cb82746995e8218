import { parseArgs } from 'node:util';
import { inspect, type Guest, type LinuxGuest, type WindowsGuest } from '../guest/index.js';
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

/** A guest as JSON: everything but the live filesystem view (and opened hives), plus the mounts it assembled. */
export function guestJson(g: Guest, listPackages = true): Record<string, unknown> {
  return g.os === 'windows' ? windowsJson(g) : linuxJson(g, listPackages);
}

function windowsJson(g: WindowsGuest): Record<string, unknown> {
  const { fs, registry, boot, ...rest } = g;
  const bcd = boot.bcd ? { volume: boot.bcd.volume, path: boot.bcd.path, error: boot.bcd.error, objects: boot.bcd.store?.objects.length } : undefined;
  return { ...rest, boot: { ...boot, bcd }, filesystem: fs.type, hivesOpened: Object.keys(registry) };
}

function linuxJson(g: LinuxGuest, listPackages: boolean): Record<string, unknown> {
  const { fs, packages, ...rest } = g;
  return {
    ...rest,
    packages: packages.map((db) => (listPackages || !db.packages ? db : { ...db, packages: undefined, count: db.packages.length })),
    mounted: fs.mounted.map((m) => ({ path: m.path, volume: m.source, type: m.fs.type })),
  };
}

function describe(g: Guest, listPackages: boolean): string {
  return g.os === 'windows' ? describeWindows(g, listPackages) : describeLinux(g, listPackages);
}

function describeWindows(g: WindowsGuest, listApplications: boolean): string {
  const id = g.identity;
  const lines = [`${id.product ?? 'Windows (version unknown)'} on ${g.root}`];
  const row = (k: string, v: string | undefined) => v !== undefined && lines.push(`  ${k.padEnd(10)} ${v}`);
  row('version', [id.version, id.build !== undefined ? `build ${id.build}${id.ubr !== undefined ? `.${id.ubr}` : ''}` : undefined, id.displayVersion, id.editionId, id.installationType].filter(Boolean).join(', ') || 'unknown');
  row('arch', g.arch ? `${g.arch} (${g.archSource})` : 'unknown');
  row('hostname', g.hostname ?? '-');
  row('windows', `${g.systemRoot}${g.controlSet ? `, control set ${g.controlSet.path}` : ''}`);
  for (const h of g.hives) {
    const state = !h.present ? 'missing' : h.error ? `unreadable: ${h.error}` : h.replay ? `dirty, replayed from ${h.replay.logs.join(' and ')} (${h.replay.format} format)` : h.dirty ? 'dirty, not replayed' : 'clean';
    row('hive', `${h.name}: ${state}`);
  }
  for (const d of g.drives) row('drive', `${d.letter} ${d.volume ?? '(not in this image)'}  [${d.target}]`);
  const b = g.boot;
  row('boot', b.modes.length ? b.modes.join(' and ') : 'no system partition with a boot manager or BCD');
  for (const m of b.bootmgr) row('bootmgr', `${m.volume}:${m.path}`);
  if (b.bcd) row('bcd', `${b.bcd.volume}:${b.bcd.path}${b.bcd.error ? ` (unreadable: ${b.bcd.error})` : ''}`);
  for (const e of b.entries) {
    const dev = (d: typeof e.osDevice) => (d ? (d.volume ?? `missing (${d.description}: ${d.reason})`) : '-');
    row(e.isDefault ? 'default' : 'entry', `"${e.description ?? e.id}" ${e.path ?? '-'}${e.pathExists === false ? ' (missing)' : ''} device ${dev(e.device)} osdevice ${dev(e.osDevice)}`);
  }
  for (const c of g.bootCritical) row('boot disk', `${c.bus}: ${c.state} — ${c.reason}`);
  const boot = g.services.filter((s) => s.start === 0);
  row('services', `${g.services.length} (${boot.length} start at boot)`);
  row('apps', `${g.applications.length} installed`);
  row('hotfixes', g.hotfixes.length ? g.hotfixes.join(', ') : 'none listed');
  row('drivers', `${g.drivers.files.length} in System32\\drivers, ${g.drivers.driverStore.length} packages in the driver store, ${g.drivers.packages.length} in the driver database`);
  for (const f of g.fileVersions) row('file', `${f.path}: ${f.version ? `${f.version.fileVersion}${f.version.strings.CompanyName ? ` (${f.version.strings.CompanyName})` : ''}` : (f.error ?? 'no version resource')}`);
  for (const f of g.findings) lines.push(`  ${f.severity}: ${f.message} [${f.code}]`);
  if (listApplications) for (const a of g.applications) lines.push(`  app  ${a.name}  ${a.version ?? ''}  ${a.publisher ?? ''} (${a.bits}-bit)`);
  return lines.join('\n');
}

function describeLinux(g: LinuxGuest, listPackages: boolean): string {
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
