/**
 * A Boot Configuration Data store, read from its hive: `Objects\{guid}` keys, each with
 * `Description\Type` and `Elements\XXXXXXXX\Element` values. An element type's top nibble is its
 * class (1 library, 2 application, 3 device, 4 OEM), the next its format (1 device, 2 string,
 * 3 object, 4 object list, 5 integer, 6 boolean, 7 integer list); elements are decoded by
 * format and named after Microsoft's BcdLibraryElementTypes, BcdBootMgrElementTypes and
 * BcdOSLoaderElementTypes enumerations (as bcdedit names them). Device elements give the
 * partition they name: an MBR disk's signature and the partition's byte offset, or a GPT disk's
 * and partition's GUIDs.
 */
import { guidString, toHex } from '../util/bytes.js';
import type { Hive } from './hive.js';
import { u32 } from './regf.js';

/** Object types (the `Description\Type` DWORD) bcdedit names. */
const OBJECT_TYPES: Record<number, string> = {
  0x10100002: 'Windows Boot Manager',
  0x10100001: 'Firmware Boot Manager',
  0x10200003: 'Windows Boot Loader',
  0x10200004: 'Resume from Hibernate',
  0x10200005: 'Windows Memory Tester',
  0x10300006: 'Legacy OS Loader (ntldr)',
  0x10400008: 'Boot Sector',
  0x20100000: 'Inherited settings (library)',
  0x20200003: 'Inherited settings (OS loader)',
  0x20200004: 'Inherited settings (resume)',
  0x20200005: 'Inherited settings (memory tester)',
  0x30000000: 'Device options',
};

/** Element names, as bcdedit shows them. */
const ELEMENTS: Record<number, string> = {
  0x11000001: 'device',
  0x12000002: 'path',
  0x12000004: 'description',
  0x12000005: 'locale',
  0x14000006: 'inherit',
  0x15000007: 'truncatememory',
  0x14000008: 'recoverysequence',
  0x16000009: 'recoveryenabled',
  0x1700000a: 'badmemorylist',
  0x1600000b: 'badmemoryaccess',
  0x15000011: 'debugtype',
  0x15000012: 'debugaddress',
  0x15000013: 'debugport',
  0x15000014: 'baudrate',
  0x16000010: 'bootdebug',
  0x16000020: 'bootems',
  0x15000022: 'emsport',
  0x15000023: 'emsbaudrate',
  0x12000030: 'loadoptions',
  0x16000040: 'advancedoptions',
  0x16000041: 'optionsedit',
  0x16000046: 'graphicsmodedisabled',
  0x16000048: 'nointegritychecks',
  0x16000049: 'testsigning',
  0x16000060: 'isolatedcontext',
  0x24000001: 'displayorder',
  0x24000002: 'bootsequence',
  0x23000003: 'default',
  0x25000004: 'timeout',
  0x26000005: 'resume',
  0x23000006: 'resumeobject',
  0x24000010: 'toolsdisplayorder',
  0x26000020: 'displaybootmenu',
  0x26000021: 'noerrordisplay',
  0x21000022: 'bcddevice',
  0x22000023: 'bcdfilepath',
  0x21000001: 'osdevice',
  0x22000002: 'systemroot',
  0x26000010: 'detecthal',
  0x22000011: 'kernel',
  0x22000012: 'hal',
  0x25000020: 'nx',
  0x25000021: 'pae',
  0x26000022: 'winpe',
  0x26000024: 'nocrashautoreboot',
  0x26000025: 'lastknowngood',
  0x26000040: 'vga',
  0x26000041: 'quietboot',
  0x25000050: 'clustermodeaddressing',
  0x26000090: 'bootlog',
  0x26000091: 'sos',
  0x260000a0: 'debug',
  0x260000b0: 'ems',
  0x250000c1: 'driverloadfailurepolicy',
  0x250000c2: 'bootmenupolicy',
  0x250000e0: 'bootstatuspolicy',
  0x250000f0: 'hypervisorlaunchtype',
  0x260000f2: 'hypervisordebug',
  0x250000f3: 'hypervisordebugtype',
  0x250000f4: 'hypervisordebugport',
  0x250000f5: 'hypervisorbaudrate',
};

/** Element names particular to one application type. */
const BY_APPLICATION: Record<number, Record<number, string>> = {
  3: { 0x23000003: 'resumeobject' },
  4: { 0x21000001: 'filedevice', 0x22000002: 'filepath', 0x26000003: 'customsettings', 0x26000004: 'pae', 0x21000005: 'associatedosdevice', 0x26000006: 'debugoptionenabled' },
};

/** A partition named by a device element. */
export interface BcdDevice {
  /** `partition`, `boot` (the device the boot manager started from), or `type N` with the raw bytes. */
  kind: string;
  partitionStyle?: 'mbr' | 'gpt';
  mbrSignature?: number;
  partitionOffset?: number;
  diskGuid?: string;
  partitionGuid?: string;
  hex?: string;
}

export interface BcdElement {
  /** The element type, as 8 hex digits (`12000002`). */
  type: string;
  /** bcdedit's name for it, or `custom:XXXXXXXX`. */
  name: string;
  format: 'device' | 'string' | 'object' | 'objects' | 'integer' | 'boolean' | 'integers' | 'unknown';
  value: string | string[] | number | bigint | boolean | (number | bigint)[] | BcdDevice | Uint8Array;
}

export interface BcdObject {
  /** `{guid}` as the key names it. */
  id: string;
  /** bcdedit's well-known alias (`{bootmgr}`, `{current}`-style names are not stored). */
  alias?: string;
  type?: number;
  typeName?: string;
  elements: BcdElement[];
  /** An element by bcdedit name or 8-digit type. */
  element(name: string): BcdElement | undefined;
}

export interface BcdStore {
  objects: BcdObject[];
  /** The Windows Boot Manager object, if the store has one. */
  bootmgr?: BcdObject;
  /** The boot manager's `default` entry. */
  defaultEntry?: BcdObject;
  /** The boot manager's `displayorder`, as objects (ids the store lacks are skipped). */
  displayOrder: BcdObject[];
}

const ALIASES: Record<string, string> = {
  '{9dea862c-5cdd-4e70-acc1-f32b344d4795}': 'bootmgr',
  '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}': 'fwbootmgr',
  '{b2721d73-1db4-4c62-bf78-c548a880142d}': 'memdiag',
  '{466f5a88-0af2-4f76-9038-095b170dc21c}': 'ntldr',
  '{5189b25c-5558-4bf2-bca4-289b11bd29e2}': 'badmemory',
  '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}': 'bootloadersettings',
  '{4636856e-540f-4170-a130-a84776f4c654}': 'dbgsettings',
  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}': 'emssettings',
  '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}': 'globalsettings',
  '{1afa9c49-16ab-4a5c-901b-212802da9460}': 'resumeloadersettings',
  '{7619dcc8-fafe-11d9-b411-000476eba25f}': 'ramdiskoptions',
};

function device(b: Uint8Array): BcdDevice {
  const hex = toHex(b);
  if (b.length < 0x24) return { kind: 'short', hex };
  const type = u32(b, 0x10);
  if (type === 5) return { kind: 'boot' };
  if (type !== 6 || b.length < 0x48) return { kind: `type ${type}`, hex };
  // Partition: the partition's identity at 0x20, the partition style at 0x34 (0 GPT, 1 MBR),
  // the disk's identity at 0x38.
  const style = u32(b, 0x34);
  if (style === 1) {
    return { kind: 'partition', partitionStyle: 'mbr', partitionOffset: u32(b, 0x24) * 0x1_0000_0000 + u32(b, 0x20), mbrSignature: u32(b, 0x38) };
  }
  if (style === 0) return { kind: 'partition', partitionStyle: 'gpt', partitionGuid: `{${guidString(b, 0x20).toLowerCase()}}`, diskGuid: `{${guidString(b, 0x38).toLowerCase()}}` };
  return { kind: `partition (style ${style})`, hex };
}

function qword(b: Uint8Array, at: number): number | bigint {
  const v = (BigInt(u32(b, at + 4)) << 32n) | BigInt(u32(b, at));
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Reads a BCD store from its hive. */
export function readBcd(hive: Hive): BcdStore {
  const objectsKey = hive.key('Objects');
  const objects: BcdObject[] = [];
  for (const ok of objectsKey?.subkeys() ?? []) {
    const id = ok.name.toLowerCase();
    const typeValue = ok.subkey('Description')?.value('Type');
    const elements: BcdElement[] = [];
    for (const ek of ok.subkey('Elements')?.subkeys() ?? []) {
      const t = Number.parseInt(ek.name, 16);
      const v = ek.value('Element');
      if (!v || !Number.isFinite(t)) continue;
      const fmt = (t >>> 24) & 0xf;
      const b = v.bytes;
      let format: BcdElement['format'] = 'unknown';
      let value: BcdElement['value'] = b;
      if (fmt === 1) [format, value] = ['device', device(b)];
      else if (fmt === 2 && typeof v.data === 'string') [format, value] = ['string', v.data];
      else if (fmt === 3 && typeof v.data === 'string') [format, value] = ['object', v.data.toLowerCase()];
      else if (fmt === 4 && Array.isArray(v.data)) [format, value] = ['objects', v.data.map((g) => g.toLowerCase())];
      else if (fmt === 5 && b.length >= 8) [format, value] = ['integer', qword(b, 0)];
      else if (fmt === 6 && b.length >= 1) [format, value] = ['boolean', b.some((x) => x !== 0)];
      else if (fmt === 7) [format, value] = ['integers', Array.from({ length: Math.floor(b.length / 8) }, (_, i) => qword(b, i * 8))];
      const type = (t >>> 0).toString(16).padStart(8, '0');
      // Application elements mean different things for different applications (the low 20
      // bits of the object type: 2 boot manager, 3 OS loader, 4 resume loader).
      const app = typeValue && typeof typeValue.data === 'number' ? typeValue.data & 0xfffff : 0;
      const name = BY_APPLICATION[app]?.[t >>> 0] ?? ELEMENTS[t >>> 0] ?? `custom:${type}`;
      elements.push({ type, name, format, value });
    }
    const o: BcdObject = {
      id,
      elements,
      element: (name: string) => elements.find((e) => e.name === name || e.type === name.toLowerCase().replace(/^0x/, '')),
    };
    if (ALIASES[id]) o.alias = ALIASES[id];
    if (typeValue && typeof typeValue.data === 'number') {
      o.type = typeValue.data;
      const n = OBJECT_TYPES[typeValue.data];
      if (n) o.typeName = n;
    }
    objects.push(o);
  }
  const byId = new Map(objects.map((o) => [o.id, o]));
  const bootmgr = byId.get('{9dea862c-5cdd-4e70-acc1-f32b344d4795}');
  const store: BcdStore = { objects, displayOrder: [] };
  if (bootmgr) {
    store.bootmgr = bootmgr;
    const d = bootmgr.element('default')?.value;
    if (typeof d === 'string' && byId.get(d)) store.defaultEntry = byId.get(d)!;
    const order = bootmgr.element('displayorder')?.value;
    if (Array.isArray(order)) store.displayOrder = order.flatMap((g) => (typeof g === 'string' && byId.get(g) ? [byId.get(g)!] : []));
  }
  return store;
}
