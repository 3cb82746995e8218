/**
 * The OVF descriptor. Reference: DMTF DSP0243 (OVF 1.x and 2.x): References/File (8.2),
 * DiskSection/Disk with capacity and capacityAllocationUnits (9.1, and DSP0004 programmatic
 * units), VirtualSystem, OperatingSystemSection (9.7), VirtualHardwareSection with CIM
 * ResourceAllocationSettingData items (9.8; ResourceType values from CIM_ResourceAllocation-
 * SettingData: 3 processor, 4 memory, 5 IDE, 6 SCSI, 10 Ethernet, 15/16 CD/DVD, 17 disk,
 * 20 other storage — SATA, NVMe — by ResourceSubType); VMware's `vmw:Config key="firmware"`.
 */
import { DiskProbeError, ErrorCode } from '../../errors.js';
import { attr, childNamed, childrenNamed, local, parseXml, XmlError, type XmlElement } from '../../util/xml.js';

export interface OvfFile {
  id: string;
  href: string;
  size?: number;
  /** `gzip` when the file is stored compressed (ovf:compression). */
  compression?: string;
}

export interface OvfDisk {
  diskId: string;
  fileRef?: string;
  /** Bytes: ovf:capacity times its allocation units. */
  capacity?: number;
  capacityText: string;
  units?: string;
  populatedSize?: number;
  /** The format URI (…vmdk.html#streamOptimized). */
  format?: string;
}

export interface OvfController {
  instanceId: string;
  /** IDE, SCSI, SATA, NVMe, USB or the ResourceType number. */
  kind: string;
  subtype?: string;
}

export interface OvfSystem {
  id?: string;
  name?: string;
  os?: { id?: string; osType?: string; description?: string };
  /** vssd:VirtualSystemType (`vmx-13`, …). */
  systemType?: string;
  firmware?: string;
  cpus?: number;
  memoryMiB?: number;
  controllers: OvfController[];
  nics: { name?: string; subtype?: string; connection?: string }[];
  /** Disk drives: the disk they attach (`ovf:/disk/vmdisk1`) and their controller. */
  drives: { instanceId: string; hostResource?: string; parent?: string; address?: string }[];
}

export interface Ovf {
  version?: string;
  files: OvfFile[];
  disks: OvfDisk[];
  systems: OvfSystem[];
}

/** Bytes per unit of an OVF capacityAllocationUnits (DSP0004 programmatic units). */
export function unitBytes(units: string | undefined): number | undefined {
  if (units === undefined || units.trim() === '' || /^byte$/i.test(units.trim())) return 1;
  const u = units.replace(/\s+/g, '');
  const pow = /^byte\*(\d+)\^(\d+)$/i.exec(u);
  if (pow) {
    const v = Number(pow[1]) ** Number(pow[2]);
    return Number.isSafeInteger(v) ? v : undefined;
  }
  const named: Record<string, number> = { kilobytes: 2 ** 10, megabytes: 2 ** 20, gigabytes: 2 ** 30, terabytes: 2 ** 40, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 };
  return named[u.toLowerCase()];
}

const RESOURCE: Record<string, string> = { '5': 'IDE', '6': 'SCSI', '20': 'storage', '23': 'USB' };

function num(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

function text(e: XmlElement | undefined, name: string): string | undefined {
  const c = e && childNamed(e, name);
  return c?.text || undefined;
}

function hardware(vs: XmlElement): Omit<OvfSystem, 'id' | 'name' | 'os'> {
  const out: Omit<OvfSystem, 'id' | 'name' | 'os'> = { controllers: [], nics: [], drives: [] };
  const hw = childNamed(vs, 'VirtualHardwareSection');
  if (!hw) return out;
  const system = childNamed(hw, 'System');
  const type = text(system, 'VirtualSystemType');
  if (type) out.systemType = type;
  for (const c of hw.children) {
    if (local(c.name) === 'Config' && attr(c, 'key') === 'firmware') {
      const v = attr(c, 'value');
      if (v) out.firmware = v;
    }
  }
  for (const item of [...childrenNamed(hw, 'Item'), ...childrenNamed(hw, 'StorageItem'), ...childrenNamed(hw, 'EthernetPortItem')]) {
    const rt = text(item, 'ResourceType');
    const sub = text(item, 'ResourceSubType');
    const id = text(item, 'InstanceID') ?? text(item, 'InstanceId') ?? '';
    if (rt === '3') {
      const n = num(text(item, 'VirtualQuantity'));
      if (n !== undefined) out.cpus = n;
    } else if (rt === '4') {
      const n = num(text(item, 'VirtualQuantity'));
      const units = (text(item, 'AllocationUnits') ?? 'byte * 2^20').replace(/\s+/g, '');
      if (n !== undefined) out.memoryMiB = Math.round((n * (unitBytes(units) ?? 2 ** 20)) / 2 ** 20);
    } else if (rt === '10') {
      const nic: OvfSystem['nics'][number] = {};
      const name = text(item, 'ElementName');
      if (name) nic.name = name;
      if (sub) nic.subtype = sub;
      const conn = text(item, 'Connection');
      if (conn) nic.connection = conn;
      out.nics.push(nic);
    } else if (rt === '17') {
      const d: OvfSystem['drives'][number] = { instanceId: id };
      const host = text(item, 'HostResource');
      if (host) d.hostResource = host;
      const parent = text(item, 'Parent');
      if (parent) d.parent = parent;
      const address = text(item, 'AddressOnParent');
      if (address) d.address = address;
      out.drives.push(d);
    } else if (rt && RESOURCE[rt]) {
      let kind = RESOURCE[rt]!;
      if (rt === '20') kind = /nvme/i.test(sub ?? '') ? 'NVMe' : /sata|ahci/i.test(sub ?? '') ? 'SATA' : 'storage';
      const ctl: OvfController = { instanceId: id, kind };
      if (sub) ctl.subtype = sub;
      out.controllers.push(ctl);
    }
  }
  return out;
}

/** Parses an OVF descriptor's text. Malformed XML is `E_CORRUPT` with the character offset. */
export function parseOvf(source: string, label = 'descriptor.ovf'): Ovf {
  let root: XmlElement;
  try {
    root = parseXml(source);
  } catch (e) {
    if (e instanceof XmlError) throw new DiskProbeError(ErrorCode.CORRUPT, `the OVF descriptor is not well-formed XML: ${e.message}`, { layer: 'container', format: 'ovf', device: label, offset: e.offset });
    throw e;
  }
  if (local(root.name) !== 'Envelope') throw new DiskProbeError(ErrorCode.CORRUPT, `the OVF descriptor's root is <${root.name}>, not <Envelope>`, { layer: 'container', format: 'ovf', device: label, structure: 'Envelope' });
  const ovf: Ovf = { files: [], disks: [], systems: [] };
  const version = attr(root, 'version');
  if (version) ovf.version = version;
  for (const f of childrenNamed(childNamed(root, 'References') ?? root, 'File')) {
    const file: OvfFile = { id: attr(f, 'id') ?? '', href: attr(f, 'href') ?? '' };
    const size = num(attr(f, 'size'));
    if (size !== undefined) file.size = size;
    const compression = attr(f, 'compression');
    if (compression) file.compression = compression;
    ovf.files.push(file);
  }
  for (const section of childrenNamed(root, 'DiskSection')) {
    for (const d of childrenNamed(section, 'Disk')) {
      const capacityText = attr(d, 'capacity') ?? '';
      const units = attr(d, 'capacityAllocationUnits');
      const disk: OvfDisk = { diskId: attr(d, 'diskId') ?? '', capacityText };
      const fileRef = attr(d, 'fileRef');
      if (fileRef) disk.fileRef = fileRef;
      if (units) disk.units = units;
      const n = num(capacityText);
      const per = unitBytes(units);
      if (n !== undefined && per !== undefined && Number.isSafeInteger(n * per)) disk.capacity = n * per;
      const populated = num(attr(d, 'populatedSize'));
      if (populated !== undefined) disk.populatedSize = populated;
      const format = attr(d, 'format');
      if (format) disk.format = format;
      ovf.disks.push(disk);
    }
  }
  const systems = [...childrenNamed(root, 'VirtualSystem'), ...childrenNamed(childNamed(root, 'VirtualSystemCollection') ?? { name: '', attrs: {}, children: [], text: '', offset: 0 }, 'VirtualSystem')];
  for (const vs of systems) {
    const sys: OvfSystem = { ...hardware(vs) };
    const id = attr(vs, 'id');
    if (id) sys.id = id;
    const name = text(vs, 'Name');
    if (name) sys.name = name;
    const os = childNamed(vs, 'OperatingSystemSection');
    if (os) {
      sys.os = {};
      const osId = attr(os, 'id');
      if (osId) sys.os.id = osId;
      const osType = attr(os, 'osType');
      if (osType) sys.os.osType = osType;
      const description = text(os, 'Description');
      if (description) sys.os.description = description;
    }
    ovf.systems.push(sys);
  }
  return ovf;
}
