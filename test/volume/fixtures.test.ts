/**
 * The volume layer against what the real tools said of the fixtures (fixtures/volumes.sh):
 * sfdisk's table, blkid's view of every partition, lvs and the kernel's device-mapper for LVM,
 * mdadm and the kernel's md driver for RAID1 — through every device kind.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk, type BlockDevice, type Disk } from '../../src/index.js';
import { readLayout, type Volume, type VolumeLayout } from '../../src/volume/index.js';
import { DEVICE_KINDS, stopFixtureServer, type DeviceKind } from '../helpers/devices.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { grown, patched } from '../helpers/patched.js';

const VOLUMES = join(FIXTURES, 'volumes');
const factsOf = (name: string): Record<string, any> => JSON.parse(readFileSync(join(VOLUMES, `${name}.facts.json`), 'utf8'));

afterAll(stopFixtureServer);

async function open(kind: DeviceKind, name: string): Promise<Disk> {
  return openDisk(await kind.open(join(VOLUMES, `${name}.qcow2`)), { format: 'qcow2' });
}

async function sha256(dev: BlockDevice): Promise<string> {
  const h = createHash('sha256');
  for (let at = 0; at < dev.size; at += 4 << 20) h.update(await dev.read(at, Math.min(4 << 20, dev.size - at)));
  return h.digest('hex');
}

function byId(layout: VolumeLayout, id: string): Volume {
  const v = layout.volumes.find((x) => x.id === id);
  expect(v, `volume ${id}`).toBeDefined();
  return v!;
}

/** sfdisk's attrs string ("LegacyBIOSBootable GUID:59") as bit numbers. */
function attrBits(attrs: string | undefined): number[] {
  if (!attrs) return [];
  const named: Record<string, number> = { RequiredPartition: 0, NoBlockIOProtocol: 1, LegacyBIOSBootable: 2 };
  return attrs.split(/\s+/).flatMap((a) => (a.startsWith('GUID:') ? a.slice(5).split(',').map(Number) : [named[a]!]));
}

/** The table sfdisk --json reported, partition by partition. */
function checkTable(layout: VolumeLayout, facts: Record<string, any>, prefix = '', disk = 0): void {
  const pt = facts.sfdisk?.partitiontable;
  const table = layout.disks[disk]!.table;
  if (!pt) {
    expect(table.scheme).toBe('none');
    return;
  }
  expect(table.scheme).toBe(pt.label === 'dos' ? 'mbr' : 'gpt');
  expect(table.sectorSize).toBe(pt.sectorsize);
  expect(table.id).toBe(pt.label === 'dos' ? pt.id : pt.id.toUpperCase());
  if (pt.label === 'gpt') {
    expect(table.facts.firstUsableLba).toBe(pt.firstlba);
    expect(table.facts.lastUsableLba).toBe(pt.lastlba);
  }
  const ss: number = pt.sectorsize;
  const parts = layout.volumes.filter((v) => (v.scheme === 'mbr' || v.scheme === 'gpt') && v.parent === layout.disks[disk]!.label);
  expect(parts.map((v) => v.id)).toEqual(pt.partitions.map((p: any) => `${prefix}p${/(\d+)$/.exec(p.node)![1]}`));
  for (const p of pt.partitions) {
    const v = byId(layout, `${prefix}p${/(\d+)$/.exec(p.node)![1]}`);
    expect(v.start, p.node).toBe(p.start * ss);
    expect(v.size, p.node).toBe(p.size * ss);
    if (pt.label === 'dos') {
      expect(v.type).toBe(`0x${p.type.padStart(2, '0')}`);
      expect(v.facts.bootable).toBe(p.bootable === true);
    } else {
      expect(v.type).toBe(p.type.toUpperCase());
      expect(v.uuid).toBe(p.uuid.toUpperCase());
      expect(v.name ?? '').toBe(p.name ?? '');
      const bits = BigInt(v.facts.attributeBits as string);
      const want = attrBits(p.attrs).reduce((acc, b) => acc | (1n << BigInt(b)), 0n);
      expect(bits, p.node).toBe(want);
    }
  }
}

/** blkid -p's answer for one volume (`-o export` escapes spaces and quotes with a backslash). */
function checkBlkid(v: Volume, raw: Record<string, string>): void {
  const expected = Object.fromEntries(Object.entries(raw).map(([k, x]) => [k, x.replace(/\\(.)/g, '$1')]));
  if (!expected.TYPE) {
    expect(['zero', 'unknown'], v.id).toContain(v.content.type);
    return;
  }
  const c = v.content;
  expect(c.type, v.id).toBe(expected.TYPE);
  expect(c.uuid, `${v.id} UUID`).toBe(expected.UUID);
  expect(c.label, `${v.id} LABEL`).toBe(expected.LABEL);
  expect(c.uuidSub, `${v.id} UUID_SUB`).toBe(expected.UUID_SUB);
  expect(c.usage, `${v.id} USAGE`).toBe(expected.USAGE);
  if (expected.VERSION !== undefined) expect(c.version, `${v.id} VERSION`).toBe(expected.VERSION);
}

function checkAllBlkid(layout: VolumeLayout, blkid: Record<string, Record<string, string>>, prefix = ''): void {
  for (const [key, expected] of Object.entries(blkid)) {
    const v = byId(layout, `${prefix}${key}`);
    if (v.facts.kind === 'extended') continue; // blkid reports the EBR's PTTYPE; it is no volume content
    checkBlkid(v, expected);
  }
}

describe.each(DEVICE_KINDS)('volumes through the $name device', (kind) => {
  it.each(['mbr', 'filesystems', 'bare', 'gpt-4k'])('%s: the table sfdisk read and the contents blkid named', async (name) => {
    const facts = factsOf(name);
    const disk = await open(kind, name);
    expect(await sha256(disk)).toBe(facts.rawSha256);
    const layout = await readLayout(disk);
    checkTable(layout, facts);
    checkAllBlkid(layout, facts.blkid);
    expect(layout.findings).toEqual([]);
  });

  it('mbr: extended and logical partitions, the boot code GRUB installed', async () => {
    const layout = await readLayout(await open(kind, 'mbr'));
    expect(layout.disks[0]!.table.facts.bootCode).toBe('grub2');
    expect(byId(layout, 'p4').facts.kind).toBe('extended');
    expect(byId(layout, 'p4').problem).toMatch(/extended partition/);
    expect(['p5', 'p6', 'p7'].map((id) => byId(layout, id).facts.kind)).toEqual(['logical', 'logical', 'logical']);
  });

  it('gpt: ESP, BIOS boot, root, swap and an LVM PV whose LVs hash as device-mapper gave them', async () => {
    const facts = factsOf('gpt');
    const layout = await readLayout(await open(kind, 'gpt'));
    checkTable(layout, facts);
    checkAllBlkid(layout, facts.blkid);
    expect((layout.disks[0]!.table.facts.mbr as any).bootCode).toBe('syslinux');
    expect(byId(layout, 'p3').facts.attributes).toEqual(['GrowFileSystem']);
    expect(layout.findings).toEqual([]);
    const [vg] = layout.volumeGroups;
    expect(vg!.name).toBe(facts.lvm.vgs[0].vg_name);
    expect(vg!.uuid).toBe(facts.lvm.vgs[0].vg_uuid);
    expect(vg!.seqno).toBe(Number(facts.lvm.vgs[0].vg_seqno));
    expect(`${vg!.extentSize}B`).toBe(facts.lvm.vgs[0].vg_extent_size);
    for (const [id, sha] of Object.entries(facts.lvm.sha256 as Record<string, string>)) {
      const v = byId(layout, id);
      const lv = facts.lvm.lvs.find((l: any) => `${l.vg_name}/${l.lv_name}` === id);
      expect(`${v.size}B`).toBe(lv.lv_size);
      expect(v.uuid).toBe(lv.lv_uuid);
      expect(await sha256(v), id).toBe(sha);
    }
    checkBlkid(byId(layout, 'vg0/root'), facts.lvm.blkid['vg0/root']);
    expect(byId(layout, 'p5').content.uuid).toBe(facts.lvm.pvs[0].pv_uuid);
  });

  it('hybrid: the GPT is used, and the MBR records gdisk wrote are reported as fdisk lists them', async () => {
    const facts = factsOf('hybrid');
    const layout = await readLayout(await open(kind, 'hybrid'));
    checkTable(layout, facts);
    expect(layout.findings.map((f) => f.code)).toEqual(['gpt.hybrid-mbr']);
    const mbr = layout.disks[0]!.table.facts.mbr as { hybrid: boolean; records: { type: string; startingLba: number; sizeInLba: number }[] };
    expect(mbr.hybrid).toBe(true);
    const listed = [...(facts.fdiskMbr as string).matchAll(/^hybrid\.raw\d\s+\*?\s*(\d+)\s+\d+\s+(\d+)\s+\S+\s+([0-9a-f]+)\s/gm)].map((m) => ({ type: `0x${m[3]!.padStart(2, '0')}`, startingLba: Number(m[1]), sizeInLba: Number(m[2]) }));
    expect(listed.length).toBe(3);
    expect(mbr.records.map(({ type, startingLba, sizeInLba }) => ({ type, startingLba, sizeInLba }))).toEqual(listed);
  });

  it('span: a VG over two disks, read together, gives the LVs lvs lists, linear, striped and spanning ones hashing as device-mapper gave them', async () => {
    const facts = factsOf('span-a');
    const layout = await readLayout([await open(kind, 'span-a'), await open(kind, 'span-b')]);
    checkTable(layout, facts, '1:', 0);
    checkTable(layout, factsOf('span-b'), '2:', 1);
    checkAllBlkid(layout, factsOf('span-b').blkid, '2:');
    expect(layout.findings).toEqual([]);
    const [vg] = layout.volumeGroups;
    expect(vg!.uuid).toBe(facts.lvm.vgs[0].vg_uuid);
    expect(vg!.pvs.map((p) => p.uuid).sort()).toEqual(facts.lvm.pvs.map((p: any) => p.pv_uuid).sort());
    // lvs -a lists hidden LVs in brackets and a multi-segment LV once per segment.
    const visible = [...new Set(facts.lvm.lvs.filter((l: any) => !l.lv_name.startsWith('[')).map((l: any) => `span/${l.lv_name}`))].sort();
    const lvs = layout.volumes.filter((v) => v.scheme === 'lvm');
    expect(lvs.map((v) => v.id).sort()).toEqual(visible);
    for (const v of lvs) {
      const lv = facts.lvm.lvs.find((l: any) => `span/${l.lv_name}` === v.id);
      expect(`${v.size}B`, v.id).toBe(lv.lv_size);
      expect(v.uuid).toBe(lv.lv_uuid);
      const sha = facts.lvm.sha256[v.id];
      if (sha) expect(await sha256(v), v.id).toBe(sha);
      else {
        expect(v.problem, v.id).toMatch(/does not read/);
        await expect(v.read(0, 512)).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
      }
    }
  });

  it('span: the first disk alone gives its own LV, and the LVs that need the other disk are incomplete', async () => {
    const facts = factsOf('span-a');
    const layout = await readLayout(await open(kind, 'span-a'));
    expect(layout.findings.map((f) => f.code)).toEqual(['lvm.pv-missing']);
    expect(await sha256(byId(layout, 'span/linear'))).toBe(facts.lvm.sha256['span/linear']);
    for (const id of ['span/striped', 'span/spanning']) {
      const v = byId(layout, id);
      expect(v.problem).toMatch(/not among the disks read/);
      await expect(v.read(0, 512)).rejects.toMatchObject({ code: 'E_MISSING' });
    }
  });

  it('raid: md RAID1 members as blkid names them, and each array read from one member as the md driver gave it', async () => {
    const a = factsOf('raid-a');
    const layout = await readLayout([await open(kind, 'raid-a'), await open(kind, 'raid-b')]);
    checkAllBlkid(layout, a.blkid, '1:');
    checkAllBlkid(layout, factsOf('raid-b').blkid, '2:');
    const arrays = layout.volumes.filter((v) => v.scheme === 'md');
    expect(arrays.length).toBe(3);
    for (const detail of a.mdDetail as Record<string, string>[]) {
      const uuid = detail.MD_UUID!.replace(/:/g, '');
      const v = arrays.find((x) => (x.uuid ?? '').replace(/-/g, '') === uuid);
      expect(v, detail.MD_UUID).toBeDefined();
      expect(v!.facts.version).toBe(detail.MD_METADATA === '0.90' ? '0.90.0' : detail.MD_METADATA);
      expect((v!.facts.members as string[]).length).toBe(Number(detail.MD_DEVICES));
      const key = detail.MD_METADATA === '0.90' ? 'md90' : `md/${detail.MD_DEVNAME}`;
      expect(await sha256(v!), key).toBe(a.md.sha256[key]);
      if (a.md.blkid[key]) checkBlkid(v!, a.md.blkid[key]);
    }
  });
});

describe('GPT damage and growth, as sgdisk and sfdisk saw them', () => {
  const memory = DEVICE_KINDS.find((k) => k.name === 'memory')!;

  it('a primary header whose CRC fails: the backup is used, and the partitions are those sfdisk read', async () => {
    const facts = factsOf('gpt-damaged');
    expect(facts.change).toMatch(/568\.\.571/);
    const dev = patched(await open(memory, 'gpt'), 568, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(await sha256(dev)).toBe(facts.rawSha256);
    expect(facts.sgdiskVerify).toMatch(/Main header: ERROR/);
    const layout = await readLayout(dev);
    checkTable(layout, facts);
    const codes = layout.findings.map((f) => f.code);
    expect(codes).toContain('gpt.used-backup');
    expect(layout.disks[0]!.table.facts.headerUsed).toBe('backup');
  });

  it('an image grown without moving the backup header: a finding, and the same partitions', async () => {
    const facts = factsOf('gpt-grown');
    const dev = grown(await open(memory, 'gpt'), facts.virtualSize);
    expect(await sha256(dev)).toBe(facts.rawSha256);
    expect(facts.sgdiskVerify).toMatch(/doesn't reside\s+at the end of the disk/);
    const layout = await readLayout(dev);
    checkTable(layout, facts);
    expect(layout.findings.map((f) => f.code)).toEqual(['gpt.backup-not-at-end']);
  });
});
