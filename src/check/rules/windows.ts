/**
 * Windows items (CHECKS.md "Windows items"; vendor-checks.md E1–E31, B14–B15, C6, A11): what the
 * guest's registry hives, boot store and files say about whether it will boot on the cloud's
 * virtual hardware and be reachable and manageable there. Every verdict cites the registry value
 * (`HKLM\SYSTEM\ControlSet001\Services\viostor` `Start = 3`) or file it was decided on; a value
 * a Windows version does not have is evidence of absence, and a hive that could not be read is
 * an ERROR that says so.
 */
import type { Hive, RegKey, RegValue } from '../../registry/hive.js';
import type { BootCriticalDriver } from '../../guest/windows/drivers.js';
import type { WindowsGuest } from '../../guest/windows/inspect.js';
import { dataText, numberOf, stringOf, stringsOf } from '../../guest/windows/values.js';
import { DiskProbeError } from '../../errors.js';
import type { CheckContext } from '../context.js';
import { error, notMet, ok, skipped, type Rule } from '../rule.js';
import type { CheckEvidence, Outcome, Profile, Severity, Stance } from '../types.js';

type HiveName = 'SYSTEM' | 'SOFTWARE';

/** The Windows guest (the engine runs Windows rules only when there is one). */
const win = (ctx: CheckContext): WindowsGuest => ctx.windows!;

/** The full key path as Windows shows it (`HKLM\SYSTEM\ControlSet001\…`). */
const full = (hive: HiveName, path: string) => (path ? `HKLM\\${hive}\\${path}` : `HKLM\\${hive}`);

/** A value, and the evidence of it (or of its absence). */
interface Read {
  value?: RegValue;
  key?: RegKey;
  evidence: CheckEvidence;
}

/** Reads `name` under `path` (relative to the hive; `CCS\` means the control set in use). */
function read(g: WindowsGuest, hive: HiveName, path: string, name: string): Read {
  const p = resolvePath(g, path);
  const h: Hive | undefined = g.registry[hive];
  const source = full(hive, p);
  const shown = name === '' ? '(Default)' : name;
  const key = h?.key(p);
  const value = key?.value(name);
  if (value) return { key, value, evidence: { source, value: `${shown} = ${dataText(value)}` } };
  return key ? { key, evidence: { source, value: `no ${shown} value`, absent: true } } : { evidence: { source, value: `no key (${shown} not set)`, absent: true } };
}

function resolvePath(g: WindowsGuest, path: string): string {
  return path.startsWith('CCS\\') ? `${g.controlSet?.path ?? 'ControlSet001'}${path.slice(3)}` : path;
}

/** The ERROR of a rule whose hive could not be read, or undefined when it was. */
function needHive(g: WindowsGuest, ...hives: HiveName[]): Outcome | undefined {
  for (const h of hives) {
    if (g.registry[h]) continue;
    const state = g.hives.find((x) => x.name === h);
    const why = !state?.present ? 'is missing' : (state.error ?? 'could not be read');
    return error(`the ${h} hive ${why}`, [{ source: state?.path ?? `${g.systemRoot}/System32/config/${h}`, value: why, absent: !state?.present }]);
  }
  if (hives.includes('SYSTEM') && !g.controlSet) return error('SYSTEM names no control set in use (Select\\Current)', [{ source: 'HKLM\\SYSTEM\\Select', value: 'Current', absent: true }]);
  return undefined;
}

/**
 * A Windows item: `decide` runs with the guest once the hives it needs are there (else ERROR
 * naming the missing one), and a damaged hive met on the way is an ERROR, not an exception.
 */
function windowsRule(r: {
  id: string;
  title: string;
  severity: Severity;
  names: Rule['names'];
  hives: HiveName[];
  decide(g: WindowsGuest, profile: Profile, bad: Severity, ctx: CheckContext): Outcome | Promise<Outcome>;
}): Rule {
  return {
    id: r.id,
    title: r.title,
    scope: 'windows',
    severity: r.severity,
    names: r.names,
    async run(ctx, profile, bad) {
      const g = win(ctx);
      const need = needHive(g, ...r.hives);
      if (need) return need;
      try {
        return await r.decide(g, profile, bad, ctx);
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        return error(`a hive is damaged where this item reads it: ${e.message}`);
      }
    },
  };
}

const product = (g: WindowsGuest) => g.identity.product ?? 'Windows';

/** The release name a vendor's support list uses: `Windows Server 2019`, `Windows 10`, … */
export function windowsRelease(g: WindowsGuest): string | undefined {
  const { major, minor, build, variant } = g.identity;
  if (major === undefined) return undefined;
  const v = major * 100 + (minor ?? 0);
  if (variant === 'server') {
    if (v === 600) return 'Windows Server 2008';
    if (v === 601) return 'Windows Server 2008 R2';
    if (v === 602) return 'Windows Server 2012';
    if (v === 603) return 'Windows Server 2012 R2';
    if (v === 1000 && build !== undefined) {
      if (build >= 26100) return 'Windows Server 2025';
      if (build >= 20348) return 'Windows Server 2022';
      if (build >= 17763) return 'Windows Server 2019';
      if (build >= 14393) return 'Windows Server 2016';
    }
    return g.identity.productName;
  }
  if (v === 601) return 'Windows 7';
  if (v === 602) return 'Windows 8';
  if (v === 603) return 'Windows 8.1';
  if (v === 1000 && build !== undefined) return build >= 22000 ? 'Windows 11' : 'Windows 10';
  return g.identity.productName;
}

function idEvidence(g: WindowsGuest): CheckEvidence[] {
  const cv = 'Microsoft\\Windows NT\\CurrentVersion';
  return ['ProductName', 'CurrentMajorVersionNumber', 'CurrentVersion', 'CurrentBuildNumber', 'UBR', 'EditionID', 'InstallationType'].map((n) => read(g, 'SOFTWARE', cv, n).evidence).filter((e) => !e.absent || e.value?.startsWith('no ProductName'));
}

const windowsOs = windowsRule({
  id: 'windows.os',
  title: 'Windows version supported',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.OSVersion', ecs: 'GUESTOS.OSVersion', didi: 'OS_VERSION', jdcloud: '操作系统版本' },
  hives: ['SOFTWARE'],
  async decide(g, profile, bad) {
    const ev = idEvidence(g);
    const release = windowsRelease(g);
    const text = `${product(g)}${g.identity.version ? ` ${g.identity.version}` : ''}${g.identity.build !== undefined ? ` build ${g.identity.build}${g.identity.ubr !== undefined ? `.${g.identity.ubr}` : ''}` : ''}`;
    if (!g.identity.productName && g.identity.major === undefined) return error('SOFTWARE has no ProductName or version under Microsoft\\Windows NT\\CurrentVersion', ev);
    const list = profile.windows.releases;
    if (!list.length) return ok(`${text} (${release ?? 'release unknown'})`, ev, text);
    if (release && list.includes(release)) return ok(`${text}: ${release} is supported`, ev, text);
    return notMet(bad, `${text}${release ? ` (${release})` : ''} is not among the supported releases: ${list.join(', ')}`, ev, `Use one of ${list.join(', ')}.`, text);
  },
});

const windowsArch = windowsRule({
  id: 'windows.arch',
  title: '64-bit Windows',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Architecture', ecs: 'GUESTOS.Architecture', didi: 'OS_ARCH', jdcloud: '操作系统位数' },
  hives: [],
  async decide(g, profile, bad) {
    if (!g.arch) return error('the architecture could not be read: no PE header in System32\\ntoskrnl.exe or cmd.exe, and no PROCESSOR_ARCHITECTURE', [{ source: `${g.systemRoot}/System32/ntoskrnl.exe`, absent: true }]);
    const ev: CheckEvidence[] = [{ source: g.archSource ?? 'PE header', value: g.arch }];
    if (profile.windows.archs.includes(g.arch)) return ok(`${g.arch}`, ev, g.arch);
    return notMet(bad, `${g.arch}: the cloud runs ${profile.windows.archs.join(', ')} Windows only`, ev, 'Import a 64-bit (x64) Windows installation.', g.arch);
  },
});

function driverEvidence(d: BootCriticalDriver): CheckEvidence[] {
  return d.evidence.map((e) => ({ source: e.key, value: e.absent ? `no ${e.value}` : `${e.value} = ${e.data}`, ...(e.absent ? { absent: true } : {}) }));
}

function controllers(g: WindowsGuest, buses: string[]): BootCriticalDriver[] {
  return g.bootCritical.filter((c) => buses.includes(c.bus));
}

const windowsVirtio = windowsRule({
  id: 'windows.virtio',
  title: 'virtio storage driver at boot',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Virtio', ecs: 'GUESTOS.Virtio', didi: 'VIRTIO_DRIVER', jdcloud: 'virtio驱动' },
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const buses = profile.windows.bootControllers.filter((b) => b.startsWith('virtio'));
    const list = controllers(g, buses.length ? buses : ['virtio-blk', 'virtio-scsi']);
    const ready = list.filter((c) => c.state === 'ready');
    const ev = list.flatMap(driverEvidence);
    if (ready.length) return ok(ready.map((c) => c.reason).join('; '), ev);
    if (list.every((c) => c.state === 'unknown')) return error(list.map((c) => c.reason).join('; '), ev);
    return notMet(bad, list.map((c) => `${c.bus}: ${c.reason}`).join('; '), ev, 'Install the virtio-win drivers (viostor/vioscsi) and set the storage driver to start at boot (Start = 0) before exporting the image, or the instance stops with 0x7B INACCESSIBLE_BOOT_DEVICE.');
  },
});

const windowsNvme = windowsRule({
  id: 'windows.nvme',
  title: 'NVMe driver at boot',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Nvme', ecs: 'GUESTOS.Nvme' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const [c] = controllers(g, ['nvme']);
    if (!c) return error('no NVMe analysis');
    const ev = driverEvidence(c);
    if (c.state === 'ready') return ok(c.reason, ev);
    if (c.state === 'unknown') return error(c.reason, ev);
    return notMet(bad, c.reason, ev, 'Set stornvme (or the vendor NVMe driver) to start at boot (Start = 0) so the instance can boot from an NVMe system disk.');
  },
});

function bcdOutcome(g: WindowsGuest, bad: Severity): Outcome {
  const b = g.boot;
  if (!b.bcd) {
    const where = g.boot.modes.includes('uefi') ? '\\EFI\\Microsoft\\Boot\\BCD on the ESP' : '\\Boot\\BCD on the active partition';
    return notMet(bad, `no BCD store: looked for ${where}`, [{ source: 'BCD', value: where, absent: true }], 'Rebuild the boot configuration (bcdboot C:\\Windows) before exporting the image.');
  }
  const src = `${b.bcd.volume}:${b.bcd.path}`;
  if (b.bcd.error || !b.bcd.store) return notMet(bad, `the BCD store ${src} is not a readable hive: ${b.bcd.error ?? 'unknown'}`, [{ source: src, value: b.bcd.error ?? 'unreadable' }], 'Rebuild the boot configuration (bcdboot C:\\Windows).');
  const def = b.entries.find((e) => e.isDefault);
  if (!def) return notMet(bad, `the BCD store ${src} has no default OS loader entry`, [{ source: `${src} {bootmgr}`, value: 'default', absent: true }], 'Set a default entry (bcdedit /default) that boots this Windows.');
  const ev: CheckEvidence[] = [{ source: `${src} ${def.id}`, value: `"${def.description ?? ''}" path ${def.path ?? '-'}` }];
  for (const [name, d] of [['device', def.device], ['osdevice', def.osDevice]] as const) {
    if (!d) ev.push({ source: `${src} ${def.id}`, value: `no ${name}`, absent: true });
    else ev.push({ source: `${src} ${def.id}`, value: `${name}: ${d.description}${d.volume ? ` → ${d.volume}` : ` → ${d.reason}`}` });
  }
  // A device kind this version does not resolve (ramdisk, locate, a file) is not evidence of a
  // dangling entry: say so instead of failing the image.
  const unresolved = [def.device, def.osDevice].find((d) => d && !d.volume && d.reason === 'not a partition this version resolves');
  if (unresolved) return error(`the default entry "${def.description ?? def.id}" of ${src} names ${unresolved.description}, which this version does not resolve to a volume`, ev);
  const problems: string[] = [];
  if (!def.device?.volume) problems.push(`its device (${def.device?.description ?? 'none'}) ${def.device?.reason ?? 'is not set'}`);
  if (!def.osDevice?.volume) problems.push(`its osdevice (${def.osDevice?.description ?? 'none'}) ${def.osDevice?.reason ?? 'is not set'}`);
  else if (def.osDevice.volume !== g.root) problems.push(`its osdevice is ${def.osDevice.volume}, not ${g.root} where this Windows is`);
  if (!def.path) problems.push('it names no winload path');
  else if (def.pathExists === false) problems.push(`${def.path} does not exist on ${def.device?.volume}`);
  if (problems.length) return notMet(bad, `the default entry "${def.description ?? def.id}" of ${src} does not boot this Windows: ${problems.join('; ')}`, ev, 'Repair the boot configuration for the disk as imported (bcdboot C:\\Windows /s <system partition>), so that the default entry names partitions that exist.');
  return ok(`the default entry "${def.description ?? def.id}" of ${src} boots ${def.path} on ${def.osDevice!.volume}`, ev);
}

const windowsBcd = windowsRule({
  id: 'windows.bcd',
  title: 'boot configuration (BCD)',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.BCD', ecs: 'GUESTOS.BCD' },
  hives: [],
  async decide(g, _profile, bad) {
    return bcdOutcome(g, bad);
  },
});

const windowsBootmgr = windowsRule({
  id: 'windows.bootmgr',
  title: 'boot manager files',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.BootMgr', ecs: 'GUESTOS.BootMgr' },
  hives: [],
  async decide(g, _profile, bad) {
    if (g.boot.bootmgr.length) return ok(g.boot.bootmgr.map((m) => `${m.volume}:${m.path}`).join(', '), g.boot.bootmgr.map((m) => ({ source: `${m.volume}:${m.path}`, value: 'present' })));
    return notMet(bad, 'no \\bootmgr on an active partition and no \\EFI\\Microsoft\\Boot\\bootmgfw.efi on an EFI system partition', [{ source: '\\bootmgr', absent: true }, { source: '\\EFI\\Microsoft\\Boot\\bootmgfw.efi', absent: true }], 'Recreate the boot files (bcdboot C:\\Windows /f ALL) and mark the system partition active (BIOS).');
  },
});

const windowsRegistry = windowsRule({
  id: 'windows.registry',
  title: 'registry hives',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Registry', ecs: 'GUESTOS.Registry' },
  hives: [],
  async decide(g, _profile, bad) {
    const ev: CheckEvidence[] = g.hives.map((h) => ({
      source: h.path,
      value: !h.present ? 'missing' : h.error ? `unreadable: ${h.error}` : h.replay ? `dirty; replayed ${h.replay.format}-format ${h.replay.logs.join(', ')} (sequence ${h.replay.sequences.join(', ') || '-'})` : h.dirty ? 'dirty; the logs did not replay' : `clean${h.checksumOk === false ? ' (bad checksum)' : ''}`,
      ...(h.present ? {} : { absent: true }),
    }));
    const broken = g.hives.filter((h) => !h.present || h.error || (h.dirty && !h.replay));
    if (broken.length) return notMet(bad, `${broken.map((h) => `${h.name} is ${!h.present ? 'missing' : h.error ? 'corrupt' : 'dirty and its logs do not repair it'}`).join('; ')}`, ev, 'Boot the source machine once and shut it down cleanly (no hibernation, no forced power-off) so Windows writes its hives back, then export again.');
    const replayed = g.hives.filter((h) => h.replay);
    if (replayed.length) return notMet('WARNING', `${replayed.map((h) => h.name).join(', ')} ${replayed.length > 1 ? 'were' : 'was'} dirty; ${replayed.length > 1 ? 'their logs repair them' : 'its log repairs it'} (this check read them after replay)`, ev, 'Shut the source machine down cleanly before exporting, so the hives hold their last changes themselves.');
    return ok('SYSTEM, SOFTWARE, SAM, SECURITY and DEFAULT are present and clean', ev);
  },
});

/** Pending servicing: CBS RebootPending, pending.xml, PendingFileRenameOperations. */
const windowsHotfix = windowsRule({
  id: 'windows.hotfix',
  title: 'no half-installed updates',
  severity: 'WARNING',
  names: { alibaba: 'GUESTOS.Hotfix', ecs: 'GUESTOS.Hotfix' },
  hives: ['SYSTEM', 'SOFTWARE'],
  async decide(g, _profile, bad) {
    let pendingXml: CheckEvidence;
    try {
      const st = await g.fs.stat(`${g.systemRoot}/WinSxS/pending.xml`);
      pendingXml = { source: `${g.root}:${g.systemRoot}/WinSxS/pending.xml`, value: `${st.size} bytes` };
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      pendingXml = { source: `${g.root}:${g.systemRoot}/WinSxS/pending.xml`, absent: true };
    }
    const cbsPath = 'Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending';
    const pendingKey = g.registry.SOFTWARE!.key(cbsPath) !== undefined;
    const rename = read(g, 'SYSTEM', 'CCS\\Control\\Session Manager', 'PendingFileRenameOperations');
    const renames = stringsOf(rename.value) ?? [];
    const ev: CheckEvidence[] = [pendingKey ? { source: full('SOFTWARE', cbsPath), value: 'present' } : { source: full('SOFTWARE', cbsPath), absent: true }, rename.evidence, pendingXml];
    const found: string[] = [];
    if (pendingKey) found.push('Component Based Servicing says a reboot is pending');
    if (!pendingXml.absent) found.push('WinSxS\\pending.xml holds servicing operations not yet done');
    if (renames.some((x) => x !== '')) found.push('file operations wait for the next boot (PendingFileRenameOperations)');
    if (g.hotfixes.length) ev.push({ source: full('SOFTWARE', 'Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages'), value: g.hotfixes.join(', ') });
    if (found.length) return notMet(bad, `${found.join('; ')}: updates are half-installed`, ev, 'Boot the source machine, let Windows finish installing updates and restart, then export again.');
    return ok(`no pending servicing operations${g.hotfixes.length ? `; installed: ${g.hotfixes.join(', ')}` : ''}`, ev);
  },
});

const windowsUpdate = windowsRule({
  id: 'windows.update',
  title: 'no interrupted Windows Update',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Update', ecs: 'GUESTOS.Update' },
  hives: ['SOFTWARE'],
  async decide(g, _profile, bad) {
    const path = 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired';
    const key = g.registry.SOFTWARE!.key(path);
    if (key) return notMet(bad, 'Windows Update installed updates that need a restart to finish (RebootRequired)', [{ source: full('SOFTWARE', path), value: `present (${key.valueCount} update(s))` }], 'Boot the source machine and restart it until Windows Update has finished, then export again.');
    return ok('Windows Update is not waiting for a restart', [{ source: full('SOFTWARE', path), absent: true }]);
  },
});

/** Disk and SCSI-adapter class filters that name missing or hypervisor-specific drivers. */
const FOREIGN_FILTERS = /^(xen|prl_|vmw|vmci|vm3d|vhdmp_|citrix)/i;

const windowsDisk = windowsRule({
  id: 'windows.disk',
  title: 'disk filter drivers',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Disk', ecs: 'GUESTOS.Disk' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const problems: string[] = [];
    for (const [cls, name] of [['{4d36e967-e325-11ce-bfc1-08002be10318}', 'disk'], ['{4d36e97b-e325-11ce-bfc1-08002be10318}', 'SCSI adapter']] as const) {
      for (const which of ['UpperFilters', 'LowerFilters']) {
        const r = read(g, 'SYSTEM', `CCS\\Control\\Class\\${cls}`, which);
        ev.push(r.evidence);
        for (const f of stringsOf(r.value) ?? []) {
          const svc = g.services.find((s) => s.name.toLowerCase() === f.toLowerCase());
          if (!svc) problems.push(`the ${name} class ${which} names ${f}, which has no service: every ${name} fails to start`);
          else if (FOREIGN_FILTERS.test(f)) problems.push(`the ${name} class ${which} names ${f}, a driver of another hypervisor (Start=${svc.start ?? '-'})`);
          else if (svc.file && svc.file.toLowerCase().includes('/system32/drivers/') && !g.drivers.files.includes(svc.file.split('/').pop()!.toLowerCase())) problems.push(`the ${name} class ${which} names ${f}, whose file ${svc.file} is missing`);
        }
      }
    }
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Remove the leftover filter from UpperFilters/LowerFilters (uninstall the other hypervisor\'s tools) before exporting.');
    return ok('the disk and SCSI adapter class filters name installed drivers of this platform', ev);
  },
});

const IMAGE_STATES: Record<string, string> = {
  IMAGE_STATE_COMPLETE: 'complete',
  IMAGE_STATE_UNDEPLOYABLE: 'undeployable (sysprep was interrupted or failed)',
  IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE: 'generalized, sealed to OOBE',
  IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT: 'generalized, sealed to audit mode',
  IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE: 'specialized, sealed to OOBE',
  IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT: 'specialized, sealed to audit mode',
};

const windowsSysprep = windowsRule({
  id: 'windows.sysprep',
  title: 'sysprep state',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Sysprep', ecs: 'GUESTOS.Sysprep' },
  hives: ['SOFTWARE'],
  async decide(g, _profile, bad) {
    const r = read(g, 'SOFTWARE', 'Microsoft\\Windows\\CurrentVersion\\Setup\\State', 'ImageState');
    const ev = [r.evidence];
    const setup = g.registry.SYSTEM ? read(g, 'SYSTEM', 'Setup', 'SystemSetupInProgress') : undefined;
    if (setup) ev.push(setup.evidence);
    const state = stringOf(r.value);
    if (state === undefined) return skipped('no Setup\\State ImageState: this installation was not deployed from an image (the value appears once Windows setup or sysprep has run)', ev);
    const meaning = IMAGE_STATES[state] ?? state;
    if (state === 'IMAGE_STATE_UNDEPLOYABLE') return notMet(bad, `ImageState is ${state}: ${meaning}`, ev, 'Run sysprep again to completion (or restore a snapshot taken before it) and export again.', state);
    if (numberOf(setup?.value) === 1) return notMet(bad, 'Windows setup is still in progress (SystemSetupInProgress = 1)', ev, 'Let Windows setup finish before exporting.', state);
    return ok(`ImageState is ${state} (${meaning})`, ev, state);
  },
});

/** Services whose presence shows Xen paravirtual drivers. */
const XEN = /^(xen|xenbus|xenvbd|xenfilt|xenpci|xennet|xeniface|xenvif|xencons|xenhide|rhelscsi|rhelnet|rhelfilter|xensvc|liteagent)$/i;

const windowsXen = windowsRule({
  id: 'windows.xen',
  title: 'no Xen drivers at boot',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Xen', ecs: 'GUESTOS.Xen' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const xen = g.services.filter((s) => XEN.test(s.name));
    const cs = g.controlSet!.path;
    if (!xen.length) return ok('no Xen paravirtual driver services', [{ source: full('SYSTEM', `${cs}\\Services`), value: 'no xen*, rhel* PV services', absent: true }]);
    const ev = xen.map((s) => ({ source: s.key, value: `Start = ${s.start ?? '-'} (${s.startName ?? 'no Start'})` }));
    const atBoot = xen.filter((s) => s.start !== undefined && s.start <= 1);
    if (atBoot.length) return notMet(bad, `Xen drivers still load at boot: ${atBoot.map((s) => `${s.name} (Start=${s.start})`).join(', ')}`, ev, 'Uninstall the Xen PV drivers (Citrix/XenServer tools) before exporting, or set their Start to 4 (disabled).');
    return ok(`Xen driver services are present but do not start at boot: ${xen.map((s) => `${s.name} (Start=${s.start ?? '-'})`).join(', ')}`, ev);
  },
});

/** A component's presence: services, Uninstall entries, a SOFTWARE key. */
function component(g: WindowsGuest, services: RegExp, apps: RegExp, keys: string[] = []): { present: boolean; evidence: CheckEvidence[] } {
  const ev: CheckEvidence[] = [];
  const svc = g.services.filter((s) => services.test(s.name));
  for (const s of svc) ev.push({ source: s.key, value: `service ${s.name}, Start = ${s.start ?? '-'}${s.imagePath ? `, ${s.imagePath}` : ''}` });
  const app = g.applications.filter((a) => apps.test(a.name));
  for (const a of app) ev.push({ source: a.key, value: `${a.name}${a.version ? ` ${a.version}` : ''}` });
  let keyFound = false;
  for (const k of keys) {
    if (g.registry.SOFTWARE?.key(k)) {
      keyFound = true;
      ev.push({ source: full('SOFTWARE', k), value: 'present' });
    }
  }
  const present = svc.length > 0 || app.length > 0 || keyFound;
  if (!present) {
    ev.push({ source: full('SYSTEM', `${g.controlSet?.path ?? 'ControlSet001'}\\Services`), value: `no service matching ${services.source}`, absent: true });
    ev.push({ source: full('SOFTWARE', 'Microsoft\\Windows\\CurrentVersion\\Uninstall'), value: `no application matching ${apps.source}`, absent: true });
  }
  return { present, evidence: ev };
}

function stance(name: string, s: Stance, present: boolean, ev: CheckEvidence[], bad: Severity, install: string, remove: string): Outcome {
  if (present) {
    if (s === 'forbidden') return notMet(bad, `${name} is installed, and this cloud requires it to be absent`, ev, remove);
    if (s === 'discouraged') return notMet('WARNING', `${name} is installed; this cloud advises against it`, ev, remove);
    return ok(`${name} is installed`, ev);
  }
  if (s === 'required') return notMet(bad, `${name} is not installed`, ev, install);
  if (s === 'recommended') return notMet('WARNING', `${name} is not installed`, ev, install);
  return ok(`${name} is not installed`, ev);
}

const windowsCloudInit = windowsRule({
  id: 'windows.cloud-init',
  title: 'cloudbase-init',
  severity: 'FAILED',
  names: { didi: 'CLOUDINIT', jdcloud: '冲突组件' },
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const c = component(g, /^cloudbase-init$/i, /cloudbase-init/i, ['Cloudbase Solutions\\Cloudbase-Init', 'WOW6432Node\\Cloudbase Solutions\\Cloudbase-Init']);
    return stance('cloudbase-init', profile.windows.cloudInit, c.present, c.evidence, bad, 'Install cloudbase-init so the cloud can set the password, hostname and network at first boot.', 'Uninstall cloudbase-init: this cloud configures the instance with its own agent and the two conflict.');
  },
});

const windowsQemuGa = windowsRule({
  id: 'windows.qemu-ga',
  title: 'QEMU guest agent',
  severity: 'FAILED',
  names: { jdcloud: '冲突组件' },
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const c = component(g, /^(qemu-ga|QEMU Guest Agent)$/i, /qemu guest agent|qemu-ga/i);
    return stance('the QEMU guest agent', profile.qemuGa, c.present, c.evidence, bad, 'Install the QEMU guest agent (from the virtio-win ISO).', 'Uninstall the QEMU guest agent (QEMU-GA service): it conflicts with this cloud\'s agent.');
  },
});

const windowsAgents = windowsRule({
  id: 'windows.agents',
  title: 'vendor agents',
  severity: 'WARNING',
  names: { alibaba: 'CloudAssistant', ecs: 'GUESTOS.CloudAssistant', jdcloud: 'JCS-agent' },
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    if (!profile.windows.agents.length) return skipped('this profile names no agent for Windows');
    const ev: CheckEvidence[] = [];
    const missing: string[] = [];
    for (const a of profile.windows.agents) {
      const svc = g.services.filter((s) => a.services.some((n) => n.toLowerCase() === s.name.toLowerCase()));
      if (svc.length) for (const s of svc) ev.push({ source: s.key, value: `Start = ${s.start ?? '-'}` });
      else {
        missing.push(a.name);
        ev.push({ source: full('SYSTEM', `${g.controlSet!.path}\\Services`), value: `no ${a.services.join(' or ')} service`, absent: true });
      }
    }
    if (missing.length) return notMet(bad, `not installed: ${missing.join(', ')}`, ev, `Install ${missing.join(' and ')} so the cloud can manage the instance (or let the import install it, where the cloud offers that).`);
    return ok(profile.windows.agents.map((a) => a.name).join(', '), ev);
  },
});

const windowsDriverInstall = windowsRule({
  id: 'windows.driver-install',
  title: 'driver installation allowed',
  severity: 'FAILED',
  names: { alibaba: 'GUESTOS.Server', ecs: 'GUESTOS.Server' },
  hives: ['SYSTEM', 'SOFTWARE'],
  async decide(g, _profile, bad) {
    const path = 'Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions';
    const ev: CheckEvidence[] = [];
    const denied: string[] = [];
    for (const n of ['DenyUnspecified', 'DenyDeviceIDs', 'DenyDeviceClasses', 'DenyRemovableDevices']) {
      const r = read(g, 'SOFTWARE', path, n);
      if (r.value) ev.push(r.evidence);
      if (numberOf(r.value) === 1) denied.push(n);
    }
    if (!ev.length) ev.push(read(g, 'SOFTWARE', path, 'DenyUnspecified').evidence);
    // Plug and Play must be able to start for drivers to install.
    for (const s of ['PlugPlay', 'DeviceInstall']) {
      const svc = g.services.find((x) => x.name.toLowerCase() === s.toLowerCase());
      if (svc?.start === 4) {
        denied.push(`${s} service disabled`);
        ev.push({ source: svc.key, value: 'Start = 4' });
      }
    }
    if (denied.length) return notMet(bad, `device installation is restricted by policy: ${denied.join(', ')}; the cloud's drivers cannot install`, ev, 'Remove the device installation restrictions (Group Policy: System > Device Installation > Device Installation Restrictions) before exporting.');
    return ok('no device installation restrictions', ev);
  },
});

const windowsDesktopIni = windowsRule({
  id: 'windows.desktop-ini',
  title: 'desktop.ini in the profile folders',
  severity: 'WARNING',
  names: { alibaba: 'GUESTOS.DesktopConfig', ecs: 'GUESTOS.DesktopConfig' },
  hives: [],
  async decide(g, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const missing: string[] = [];
    for (const p of ['/Users/Public/desktop.ini', '/Users/Public/Desktop/desktop.ini']) {
      try {
        const st = await g.fs.stat(p);
        ev.push({ source: `${g.root}:${p}`, value: `${st.size} bytes` });
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        missing.push(p);
        ev.push({ source: `${g.root}:${p}`, absent: true });
      }
    }
    if (missing.length) return notMet(bad, `missing: ${missing.join(', ')}`, ev, 'Restore the desktop.ini files of the Public profile (they give the folders their names and icons).');
    return ok('the Public profile folders have their desktop.ini', ev);
  },
});

const windowsFirewall = windowsRule({
  id: 'windows.firewall',
  title: 'Windows Firewall',
  severity: 'FAILED',
  names: { didi: 'FIREWALL', jdcloud: '关闭防火墙' },
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const base = 'CCS\\Services\\SharedAccess\\Parameters\\FirewallPolicy';
    const reads = ['DomainProfile', 'StandardProfile', 'PublicProfile'].map((p) => ({ p, r: read(g, 'SYSTEM', `${base}\\${p}`, 'EnableFirewall') }));
    const ev = reads.map((x) => x.r.evidence);
    const on = reads.filter((x) => numberOf(x.r.value) === 1).map((x) => x.p);
    const unknown = reads.filter((x) => numberOf(x.r.value) === undefined).map((x) => x.p);
    if (profile.firewall === 'allow') return ok(on.length ? `enabled for ${on.join(', ')}` : 'disabled', ev);
    if (profile.firewall === 'off' || profile.firewall === 'off-or-ssh') {
      if (on.length) return notMet(bad, `the firewall is enabled for ${on.join(', ')}`, ev, 'Turn Windows Firewall off for every profile (the cloud filters traffic with security groups), or allow RDP and the cloud\'s agents through it.');
      if (unknown.length === reads.length) return notMet('WARNING', 'no EnableFirewall value: Windows enables the firewall by default', ev, 'Turn Windows Firewall off explicitly, or allow RDP through it.');
      return ok('the firewall is off for every profile', ev);
    }
    // `ssh`: the firewall may run, but must let RDP in.
    if (!on.length && unknown.length < reads.length) return ok('the firewall is off', ev);
    const rules = g.registry.SYSTEM!.key(resolvePath(g, `${base}\\FirewallRules`));
    const rdp = (rules?.values() ?? []).filter((v) => /^RemoteDesktop-/i.test(v.name) && /Active=TRUE/i.test(stringOf(v) ?? '') && /Action=Allow/i.test(stringOf(v) ?? '') && /Dir=In/i.test(stringOf(v) ?? ''));
    ev.push(rdp.length ? { source: full('SYSTEM', resolvePath(g, `${base}\\FirewallRules`)), value: rdp.map((v) => v.name).join(', ') } : { source: full('SYSTEM', resolvePath(g, `${base}\\FirewallRules`)), value: 'no active inbound RemoteDesktop-* allow rule', absent: true });
    if (rdp.length) return ok(`the firewall is on and allows Remote Desktop in (${rdp.map((v) => v.name).join(', ')})`, ev);
    return notMet(bad, 'the firewall is on and no active rule lets Remote Desktop in', ev, 'Enable the "Remote Desktop" inbound firewall rules before exporting.');
  },
});

const windowsRdp = windowsRule({
  id: 'windows.rdp',
  title: 'Remote Desktop on 3389',
  severity: 'FAILED',
  names: { didi: 'RDP', jdcloud: '放行RDP 3389端口' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const deny = read(g, 'SYSTEM', 'CCS\\Control\\Terminal Server', 'fDenyTSConnections');
    const port = read(g, 'SYSTEM', 'CCS\\Control\\Terminal Server\\WinStations\\RDP-Tcp', 'PortNumber');
    const policy = g.registry.SOFTWARE ? read(g, 'SOFTWARE', 'Policies\\Microsoft\\Windows NT\\Terminal Services', 'fDenyTSConnections') : undefined;
    const ev = [deny.evidence, port.evidence, ...(policy?.value ? [policy.evidence] : [])];
    const problems: string[] = [];
    const denied = numberOf(policy?.value) ?? numberOf(deny.value);
    if (denied === undefined) problems.push('no fDenyTSConnections value: Remote Desktop is off unless enabled');
    else if (denied !== 0) problems.push(`Remote Desktop connections are denied (fDenyTSConnections = ${denied}${numberOf(policy?.value) !== undefined ? ', by policy' : ''})`);
    const p = numberOf(port.value);
    if (p !== undefined && p !== 3389) problems.push(`Remote Desktop listens on port ${p}, not 3389`);
    const term = g.services.find((s) => s.name.toLowerCase() === 'termservice');
    if (term?.start === 4) {
      problems.push('the TermService service is disabled');
      ev.push({ source: term.key, value: 'Start = 4' });
    }
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Allow Remote Desktop connections (System Properties > Remote) on port 3389 before exporting.');
    return ok(`Remote Desktop is allowed on port ${p ?? '3389 (the default)'}`, ev);
  },
});

const windowsDhcp = windowsRule({
  id: 'windows.dhcp',
  title: 'network by DHCP',
  severity: 'FAILED',
  names: { didi: 'DHCP' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const ifs = g.registry.SYSTEM!.key(resolvePath(g, 'CCS\\Services\\Tcpip\\Parameters\\Interfaces'))?.subkeys() ?? [];
    const ev: CheckEvidence[] = [];
    const statics: string[] = [];
    for (const k of ifs) {
      const dhcp = numberOf(k.value('EnableDHCP'));
      const ip = (stringsOf(k.value('IPAddress')) ?? []).filter((a) => a !== '' && a !== '0.0.0.0');
      if (dhcp === undefined && !ip.length) continue;
      ev.push({ source: full('SYSTEM', k.path), value: `EnableDHCP = ${dhcp ?? '-'}${ip.length ? `, IPAddress = ${ip.join(' ')}` : ''}` });
      if (dhcp === 0 && ip.length) statics.push(`${k.name} (${ip.join(' ')})`);
    }
    const svc = g.services.find((s) => s.name.toLowerCase() === 'dhcp');
    if (svc) ev.push({ source: svc.key, value: `Start = ${svc.start ?? '-'}` });
    else ev.push({ source: full('SYSTEM', `${g.controlSet!.path}\\Services\\Dhcp`), absent: true });
    if (statics.length) return notMet(bad, `static addresses: ${statics.join(', ')}`, ev, 'Set every network adapter to obtain its address by DHCP before exporting.');
    if (svc?.start === 4) return notMet(bad, 'the DHCP Client service is disabled', ev, 'Set the DHCP Client service to start automatically.');
    if (!ev.some((e) => e.value?.startsWith('EnableDHCP'))) return ok('no interface has a static address (no interface configured yet: Windows uses DHCP by default)', ev);
    return ok('every configured interface uses DHCP', ev);
  },
});

const windowsRtc = windowsRule({
  id: 'windows.rtc',
  title: 'hardware clock in UTC',
  severity: 'WARNING',
  names: { alibaba: 'RTC', ecs: 'GUESTOS.RTC' },
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const r = read(g, 'SYSTEM', 'CCS\\Control\\TimeZoneInformation', 'RealTimeIsUniversal');
    const tz = read(g, 'SYSTEM', 'CCS\\Control\\TimeZoneInformation', 'TimeZoneKeyName');
    const ev = [r.evidence, tz.evidence];
    if (numberOf(r.value) === 1) return ok('Windows keeps the hardware clock in UTC (RealTimeIsUniversal = 1)', ev);
    return notMet(bad, `Windows keeps the hardware clock in local time${stringOf(tz.value) ? ` (${stringOf(tz.value)})` : ''}: the clock is off by the time zone's offset on a cloud whose hardware clock is UTC`, ev, 'Set HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation\\RealTimeIsUniversal to 1 (DWORD).');
  },
});

const windowsHibernation = windowsRule({
  id: 'windows.hibernation',
  title: 'not hibernated; Fast Startup off',
  severity: 'FAILED',
  names: {},
  hives: [],
  async decide(g, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const problems: string[] = [];
    let st;
    try {
      st = await g.fs.statfs();
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      return error(`the Windows volume's state could not be read: ${e.message}`);
    }
    const facts = st.facts ?? {};
    const hib = String(facts.hibernation ?? 'absent');
    const none = hib === 'absent' || hib === 'zero';
    ev.push({ source: `${g.root}:/hiberfil.sys`, value: hib === 'absent' ? 'no hibernation file' : hib === 'zero' ? 'zeroed (not hibernated)' : `begins "${hib}"`, ...(hib === 'absent' ? { absent: true } : {}) });
    if (hib.startsWith('unreadable')) return error(`/hiberfil.sys could not be read: ${hib}`, ev);
    if (!none && /^(hibr|wake|rstr)$/i.test(hib)) problems.push(`the machine is hibernated (hiberfil.sys begins "${hib}"): Windows would resume the old hardware state`);
    ev.push({ source: `${g.root} ($Volume)`, value: facts.dirty ? 'dirty' : 'clean' });
    if (facts.dirty === true) problems.push('the NTFS volume is marked dirty: Windows will run chkdsk, and the last writes may be missing');
    if (g.registry.SYSTEM && g.controlSet) {
      const r = read(g, 'SYSTEM', 'CCS\\Control\\Session Manager\\Power', 'HiberbootEnabled');
      ev.push(r.evidence);
      if (numberOf(r.value) === 1) problems.push('Fast Startup is on (HiberbootEnabled = 1): a shutdown leaves the kernel hibernated');
    }
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Turn off Fast Startup (powercfg /h off), shut the source machine down fully, and export again.');
    return ok('not hibernated, Fast Startup off, the volume is clean', ev);
  },
});

const windowsBitlocker: Rule = {
  id: 'windows.bitlocker',
  title: 'no BitLocker encryption',
  scope: 'disk',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    const layout = ctx.layout;
    if (!layout) return error('the disk\'s volumes could not be read');
    const locked = layout.volumes.filter((v) => v.content.type.toLowerCase() === 'bitlocker');
    const ev: CheckEvidence[] = [{ source: 'volumes', value: `${layout.volumes.length} volume(s) probed for the BitLocker signature (-FVE-FS- at byte 3)` }, ...layout.volumes.map((v) => ({ source: v.id, value: v.content.type }))];
    if (locked.length) return notMet(bad, `BitLocker-encrypted: ${locked.map((v) => v.id).join(', ')}`, ev, 'Decrypt the volumes (manage-bde -off) before exporting: the cloud cannot unlock them.');
    return ok('no volume is BitLocker-encrypted', ev);
  },
};

const windowsLanguage = windowsRule({
  id: 'windows.language',
  title: 'system language',
  severity: 'WARNING',
  names: {},
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const r = read(g, 'SYSTEM', 'CCS\\Control\\Nls\\Language', 'InstallLanguage');
    const lang = stringOf(r.value);
    if (!lang) return error('no Nls\\Language InstallLanguage value', [r.evidence]);
    const list = profile.windows.languages ?? [];
    if (!list.length || list.includes(lang.toLowerCase()) || list.includes(lang.toUpperCase())) return ok(`install language ${lang}`, [r.evidence], lang);
    return notMet(bad, `install language ${lang}, not ${list.join(' or ')}`, [r.evidence], 'This cloud supports English (United States) installations; import an en-US image.', lang);
  },
});

const windowsAutologon = windowsRule({
  id: 'windows.autologon',
  title: 'no automatic logon',
  severity: 'WARNING',
  names: {},
  hives: ['SOFTWARE'],
  async decide(g, _profile, bad) {
    const path = 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon';
    const auto = read(g, 'SOFTWARE', path, 'AutoAdminLogon');
    const pw = read(g, 'SOFTWARE', path, 'DefaultPassword');
    const ev = [auto.evidence, pw.value ? { source: pw.evidence.source, value: 'DefaultPassword is set (not shown)' } : pw.evidence];
    if (stringOf(auto.value)?.trim() === '1' || numberOf(auto.value) === 1) return notMet(bad, `automatic logon is on${pw.value ? ', with a password stored in clear text in the registry' : ''}`, ev, 'Turn automatic logon off (AutoAdminLogon = 0) and delete DefaultPassword before exporting.');
    return ok('automatic logon is off', ev);
  },
});

const windowsDotnet = windowsRule({
  id: 'windows.dotnet',
  title: '.NET Framework and PowerShell',
  severity: 'WARNING',
  names: {},
  hives: ['SOFTWARE'],
  async decide(g, _profile, bad) {
    const net = read(g, 'SOFTWARE', 'Microsoft\\NET Framework Setup\\NDP\\v4\\Full', 'Release');
    const ps = read(g, 'SOFTWARE', 'Microsoft\\PowerShell\\3\\PowerShellEngine', 'PowerShellVersion');
    const ev = [net.evidence, ps.evidence];
    const release = numberOf(net.value);
    const psv = stringOf(ps.value);
    const problems: string[] = [];
    // 378389 is .NET Framework 4.5, the least the cloud agents (EC2Launch, the Azure agent) need.
    if (release === undefined || release < 378389) problems.push(release === undefined ? '.NET Framework 4.5 or later is not installed' : `.NET Framework release ${release} is older than 4.5 (378389)`);
    if (!psv || Number.parseInt(psv, 10) < 3) problems.push(psv ? `PowerShell ${psv} is older than 3.0` : 'PowerShell 3.0 or later is not installed');
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Install .NET Framework 4.5 or later and Windows Management Framework (PowerShell) 3.0 or later: the cloud\'s agents need them.');
    return ok(`.NET Framework release ${release}, PowerShell ${psv}`, ev);
  },
});

const windowsSecondaryDisk = windowsRule({
  id: 'windows.secondary-disk',
  title: 'nothing depends on a disk not in the image',
  severity: 'WARNING',
  names: {},
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const present = new Set(g.drives.filter((d) => d.volume).map((d) => d.letter));
    const ev: CheckEvidence[] = g.drives.map((d) => ({ source: 'HKLM\\SYSTEM\\MountedDevices', value: `\\DosDevices\\${d.letter} → ${d.volume ?? `not in the image (${d.target})`}` }));
    const problems: string[] = [];
    const paging = read(g, 'SYSTEM', 'CCS\\Control\\Session Manager\\Memory Management', 'PagingFiles');
    ev.push(paging.evidence);
    for (const p of stringsOf(paging.value) ?? []) {
      const m = /^([A-Za-z]:)\\/.exec(p.trim());
      if (m && !present.has(m[1]!.toUpperCase())) problems.push(`the pagefile is on ${m[1]!.toUpperCase()} (${p.trim()}), a drive that is not in the image`);
    }
    const ntds = read(g, 'SYSTEM', 'CCS\\Services\\NTDS\\Parameters', 'DSA Database file');
    if (ntds.value) {
      ev.push(ntds.evidence);
      const m = /^([A-Za-z]:)\\/.exec(stringOf(ntds.value) ?? '');
      if (m && !present.has(m[1]!.toUpperCase())) problems.push(`the Active Directory database is on ${m[1]!.toUpperCase()}, a drive that is not in the image`);
    }
    if (problems.length) return notMet(bad, problems.join('; '), ev, 'Move the pagefile and any service data to C: (or import the other disks too) before exporting.');
    return ok('the pagefile and service data are on drives in the image', ev);
  },
});

const windowsAzureServices = windowsRule({
  id: 'windows.azure-services',
  title: 'service start types (Azure baseline)',
  severity: 'WARNING',
  names: {},
  hives: ['SYSTEM'],
  async decide(g, profile, bad) {
    const baseline = profile.windows.serviceBaseline;
    if (!baseline) return skipped('this profile sets no service baseline');
    const ev: CheckEvidence[] = [];
    const wrong: string[] = [];
    for (const [name, want] of Object.entries(baseline)) {
      const s = g.services.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!s) {
        ev.push({ source: full('SYSTEM', `${g.controlSet!.path}\\Services\\${name}`), absent: true });
        wrong.push(`${name} missing`);
        continue;
      }
      ev.push({ source: s.key, value: `Start = ${s.start ?? '-'}` });
      if (s.start !== want) wrong.push(`${name} Start=${s.start ?? '-'} (want ${want})`);
    }
    if (wrong.length) return notMet(bad, `services not as the cloud expects: ${wrong.join(', ')}`, ev, 'Set the services\' start types as the cloud documents (automatic: 2, manual: 3) before exporting.');
    return ok('every baseline service has the expected start type', ev);
  },
});

/** Other hypervisors' guest tools, by Uninstall name and by service. */
const HYPERVISOR_TOOLS: { name: string; apps: RegExp; services: RegExp }[] = [
  { name: 'VMware Tools', apps: /^VMware Tools\b/i, services: /^(VMTools|vmci|vmhgfs|vm3dmp|vmmouse|vmrawdsk|vmusbmouse)$/i },
  { name: 'VirtualBox Guest Additions', apps: /VirtualBox Guest Additions/i, services: /^(VBoxService|VBoxGuest|VBoxMouse|VBoxSF|VBoxWddm)$/i },
  { name: 'Parallels Tools', apps: /Parallels Tools/i, services: /^(prl_tools|prl_strg|prl_fs|prl_eth5|prl_pv32|prl_time)$/i },
  { name: 'Citrix/XenServer tools', apps: /Citrix (XenServer|VM) Tools|XenTools|Xen PV Drivers|Red Hat Paravirtualized Xen Drivers/i, services: /^(xensvc|XenSvc|citrix.*)$/i },
];

const windowsHypervisorTools = windowsRule({
  id: 'windows.hypervisor-tools',
  title: "no other hypervisor's tools",
  severity: 'WARNING',
  names: {},
  hives: ['SYSTEM'],
  async decide(g, _profile, bad) {
    const ev: CheckEvidence[] = [];
    const found: string[] = [];
    for (const t of HYPERVISOR_TOOLS) {
      const apps = g.applications.filter((a) => t.apps.test(a.name));
      const svcs = g.services.filter((x) => t.services.test(x.name));
      for (const a of apps) ev.push({ source: a.key, value: `${a.name}${a.version ? ` ${a.version}` : ''}` });
      for (const x of svcs) ev.push({ source: x.key, value: `service ${x.name}, Start = ${x.start ?? '-'}` });
      if (apps.length || svcs.length) found.push(t.name);
    }
    if (found.length) return notMet(bad, `installed: ${found.join(', ')}`, ev, `Uninstall ${found.join(' and ')} before exporting: their drivers and services expect the old virtual hardware.`);
    ev.push({ source: full('SOFTWARE', 'Microsoft\\Windows\\CurrentVersion\\Uninstall'), value: 'no VMware, VirtualBox, Parallels or Citrix tools', absent: true });
    ev.push({ source: full('SYSTEM', `${g.controlSet!.path}\\Services`), value: 'no VMTools, VBoxService, prl_tools or xensvc service', absent: true });
    return ok("no other hypervisor's guest tools", ev);
  },
});

export const WINDOWS_RULES: readonly Rule[] = [
  windowsOs, windowsArch, windowsVirtio, windowsNvme, windowsBcd, windowsBootmgr, windowsRegistry, windowsHotfix, windowsUpdate,
  windowsDisk, windowsSysprep, windowsXen, windowsCloudInit, windowsQemuGa, windowsAgents, windowsDriverInstall, windowsDesktopIni,
  windowsFirewall, windowsRdp, windowsDhcp, windowsRtc, windowsHibernation, windowsBitlocker, windowsLanguage, windowsAutologon,
  windowsDotnet, windowsSecondaryDisk, windowsAzureServices, windowsHypervisorTools,
];
