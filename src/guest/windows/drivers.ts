/**
 * Boot-critical drivers: for each storage controller a cloud can present the system disk on
 * (virtio-blk, virtio-scsi, NVMe, SATA AHCI, IDE), can Windows load a driver for it before it
 * needs the disk? That takes a driver service that exists, is a kernel driver (Type 1), starts
 * at boot (Start 0) and has its .sys file, and a binding of the controller's PCI id to a driver
 * package: SYSTEM\DriverDatabase\DeviceIds (Windows 8 and later) or
 * ControlSet\Control\CriticalDeviceDatabase (Windows 7 and earlier). Without it Windows stops at
 * boot with 0x7B INACCESSIBLE_BOOT_DEVICE.
 */
import type { Finding } from '../../container/types.js';
import { DiskProbeError } from '../../errors.js';
import type { RegKey } from '../../registry/hive.js';
import type { WindowsGuest } from './inspect.js';
import { hklm, stringOf, type RegEvidence } from './values.js';

export interface Controller {
  /** `virtio-blk`, `virtio-scsi`, `nvme`, `sata-ahci`, `ide`. */
  bus: string;
  /** Its PCI hardware ids (vendor and device, or class code), as Windows writes them. */
  ids: string[];
  /** The drivers that serve it, the usual first. */
  services: string[];
  /** Whether the driver ships with Windows (from which version, major·100 + minor). */
  inboxFrom?: number;
}

export const CONTROLLERS: Controller[] = [
  { bus: 'virtio-blk', ids: ['PCI\\VEN_1AF4&DEV_1001', 'PCI\\VEN_1AF4&DEV_1042'], services: ['viostor'] },
  { bus: 'virtio-scsi', ids: ['PCI\\VEN_1AF4&DEV_1004', 'PCI\\VEN_1AF4&DEV_1048'], services: ['vioscsi'] },
  { bus: 'nvme', ids: ['PCI\\CC_010802'], services: ['stornvme', 'AWSNVMe'], inboxFrom: 603 },
  { bus: 'sata-ahci', ids: ['PCI\\CC_010601'], services: ['storahci', 'msahci'], inboxFrom: 601 },
  { bus: 'ide', ids: ['PCI\\CC_0101'], services: ['pciide', 'intelide', 'atapi'], inboxFrom: 500 },
];

export interface BootCriticalDriver {
  bus: string;
  /** `ready`: Windows can boot from a disk on this controller; `not-ready`: it cannot (see `reason`); `unknown`: the hive could not tell. */
  state: 'ready' | 'not-ready' | 'unknown';
  /** The service that serves it (the best candidate found). */
  service?: string;
  start?: number;
  type?: number;
  /** The driver file, and whether it is in System32\drivers. */
  file?: string;
  filePresent?: boolean;
  /** Where the PCI id is bound to a driver (DriverDatabase or CriticalDeviceDatabase), with the inf or service it names. */
  binding?: { key: string; names: string[] };
  /** One line: why Windows can or cannot boot from this controller. */
  reason: string;
  evidence: RegEvidence[];
}

/** Keys under `parent` whose names start with the id's last part (VEN_1AF4&DEV_1001, …&SUBSYS_…). */
function matching(parent: RegKey | undefined, prefix: string): RegKey[] {
  if (!parent) return [];
  const p = prefix.toUpperCase();
  return parent.subkeys().filter((k) => {
    const n = k.name.toUpperCase();
    return n === p || n.startsWith(`${p}&`);
  });
}

/** Where the controller's PCI ids are bound to a driver, if anywhere. */
function bindingOf(g: WindowsGuest, c: Controller, service: string | undefined): BootCriticalDriver['binding'] | undefined {
  const system = g.registry.SYSTEM;
  if (!system) return undefined;
  const version = g.identity.major !== undefined ? g.identity.major * 100 + (g.identity.minor ?? 0) : undefined;
  // Windows 8 (6.2) and later: the driver database.
  if (version === undefined || version >= 602) {
    const pci = system.key('DriverDatabase\\DeviceIds\\PCI');
    for (const id of c.ids) {
      for (const k of matching(pci, id.slice(4))) {
        const infs = k.values().map((v) => v.name).filter((n) => n !== '');
        if (infs.length) return { key: hklm('SYSTEM', k), names: infs };
      }
    }
  }
  // Windows 7 and earlier: the critical device database of the control set.
  if ((version === undefined || version < 602) && g.controlSet) {
    const cddb = system.key(`${g.controlSet.path}\\Control\\CriticalDeviceDatabase`);
    for (const id of c.ids) {
      for (const k of matching(cddb, id.replace(/\\/g, '#'))) {
        const svc = stringOf(k.value('Service'));
        if (svc && (!service || svc.toLowerCase() === service.toLowerCase())) return { key: hklm('SYSTEM', k), names: [svc] };
      }
    }
  }
  return undefined;
}

function analyse(g: WindowsGuest, c: Controller): BootCriticalDriver {
  const evidence: RegEvidence[] = [];
  const cs = g.controlSet?.path ?? 'ControlSet001';
  const found = c.services.map((s) => g.services.find((x) => x.name.toLowerCase() === s.toLowerCase())).filter((s) => s !== undefined);
  const version = g.identity.major !== undefined ? g.identity.major * 100 + (g.identity.minor ?? 0) : undefined;
  if (!found.length) {
    for (const s of c.services) evidence.push({ key: `HKLM\\SYSTEM\\${cs}\\Services\\${s}`, value: 'Start', absent: true });
    const inboxNote = c.inboxFrom !== undefined && version !== undefined && version < c.inboxFrom ? ' (this Windows is older than the version that ships it)' : '';
    return { bus: c.bus, state: 'not-ready', reason: `no ${c.services.join(' or ')} service${inboxNote}: Windows has no driver for a ${c.bus} system disk and stops with 0x7B INACCESSIBLE_BOOT_DEVICE`, evidence };
  }
  // The best candidate: boot-start first, then the first listed.
  const svc = found.find((s) => s.start === 0) ?? found[0]!;
  const out: BootCriticalDriver = { bus: c.bus, state: 'unknown', service: svc.name, reason: '', evidence };
  if (svc.start !== undefined) out.start = svc.start;
  if (svc.type !== undefined) out.type = svc.type;
  evidence.push({ key: svc.key, value: 'Start', ...(svc.start !== undefined ? { data: String(svc.start) } : { absent: true }) });
  evidence.push({ key: svc.key, value: 'Type', ...(svc.type !== undefined ? { data: String(svc.type) } : { absent: true }) });
  if (svc.file) {
    out.file = svc.file;
    const base = svc.file.split('/').pop()!.toLowerCase();
    const inDrivers = svc.file.toLowerCase().startsWith(`${g.systemRoot.toLowerCase()}/system32/drivers/`);
    if (inDrivers) out.filePresent = g.drivers.files.includes(base);
  }
  let binding: BootCriticalDriver['binding'];
  try {
    binding = bindingOf(g, c, svc.name);
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
  }
  if (binding) {
    out.binding = binding;
    evidence.push({ key: binding.key, value: binding.names.join(', '), data: 'bound' });
  }
  const startText = svc.start === undefined ? 'has no Start value' : `starts ${svc.startName} (Start=${svc.start})`;
  if (svc.start !== 0) {
    out.state = 'not-ready';
    out.reason = `${svc.name} is installed but ${startText}, not at boot (Start=0): Windows does not load it before it needs a ${c.bus} system disk and stops with 0x7B INACCESSIBLE_BOOT_DEVICE`;
  } else if (svc.type !== undefined && svc.type !== 1) {
    out.state = 'not-ready';
    out.reason = `${svc.name} starts at boot but its Type is ${svc.type}, not 1 (kernel driver)`;
  } else if (out.filePresent === false) {
    out.state = 'not-ready';
    out.reason = `${svc.name} starts at boot but its file ${svc.file} is not in the image: Windows stops with 0x7B INACCESSIBLE_BOOT_DEVICE (or 0x7E)`;
  } else if (!binding) {
    const where = version === undefined ? 'the driver database or the critical device database' : version >= 602 ? 'SYSTEM\\DriverDatabase\\DeviceIds' : 'CriticalDeviceDatabase';
    out.state = 'not-ready';
    out.reason = `${svc.name} starts at boot, but ${c.ids.join(' / ')} is not bound to a driver in ${where}: Windows will not attach it to a ${c.bus} controller it has not seen, and stops with 0x7B`;
  } else {
    out.state = 'ready';
    out.reason = `${svc.name} starts at boot (Start=0)${out.filePresent ? `, ${svc.file} is present` : ''} and ${binding.key.split('\\').pop()} is bound to ${binding.names.join(', ')}: Windows can boot from a ${c.bus} disk`;
  }
  return out;
}

/** The analysis for every controller of {@link CONTROLLERS}. */
export function bootCriticalDrivers(g: WindowsGuest, findings: Finding[]): BootCriticalDriver[] {
  if (!g.registry.SYSTEM) {
    return CONTROLLERS.map((c) => ({ bus: c.bus, state: 'unknown' as const, reason: 'the SYSTEM hive could not be read', evidence: [] }));
  }
  const out: BootCriticalDriver[] = [];
  for (const c of CONTROLLERS) {
    try {
      out.push(analyse(g, c));
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      findings.push({ severity: 'warning', code: 'windows.registry-damaged', message: `${c.bus} drivers: ${e.message}` });
      out.push({ bus: c.bus, state: 'unknown', reason: `the SYSTEM hive is damaged where the ${c.bus} driver is recorded: ${e.message}`, evidence: [] });
    }
  }
  return out;
}
