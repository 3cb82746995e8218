/**
 * The volume layer on hostile input: tables made by hand from the specifications' layouts, real
 * fixtures with fields patched (checksums recomputed so the patch, not the checksum, is what is
 * tested), crafted LVM metadata, and fast-check mutations of real tables. Every case ends in a
 * result with findings, or a DiskProbeError, quickly.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cached, DiskProbeError, fromBytes, openDisk, type BlockDevice } from '../../src/index.js';
import { readFile } from 'node:fs/promises';
import { crc32 } from '../../src/util/crc32.js';
import { parseConfig, readLayout } from '../../src/volume/index.js';
import { assembleVolumeGroups, type PhysicalVolume } from '../../src/volume/lvm/index.js';
import { lvmCrc } from '../../src/volume/lvm/layout.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { copyBytes } from '../../src/util/bytes.js';
import { patched } from '../helpers/patched.js';

const SECTOR = 512;

/** An in-memory disk of `size` bytes with the given sectors written. */
function diskOf(size: number, sectors: Record<number, Uint8Array>): BlockDevice {
  const bytes = new Uint8Array(size);
  for (const [lba, data] of Object.entries(sectors)) bytes.set(data, Number(lba) * SECTOR);
  return fromBytes(bytes, 'crafted');
}

/** An MBR or EBR sector with records [type, startLba, sizeLba, boot?]. */
function mbrSector(records: [number, number, number, boolean?][]): Uint8Array {
  const s = new Uint8Array(SECTOR);
  const v = new DataView(s.buffer);
  records.forEach(([type, start, size, boot], i) => {
    const at = 446 + i * 16;
    s[at] = boot ? 0x80 : 0;
    s[at + 4] = type;
    v.setUint32(at + 8, start, true);
    v.setUint32(at + 12, size, true);
  });
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

async function timed<T>(work: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await work();
  expect(performance.now() - t).toBeLessThan(1000);
  return r;
}

describe('CRC-32', () => {
  it('equals zlib on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => crc32(b) === zlibCrc32(b)));
  });
});

describe('MBR chains and tables made by hand', () => {
  it('an EBR chain that links back to itself is followed once and reported', async () => {
    const disk = diskOf(4 << 20, {
      0: mbrSector([[0x05, 2048, 4096]]),
      // EBR at 2048: a logical partition, and a link back to the extended partition's start (itself).
      2048: mbrSector([
        [0x83, 63, 100],
        [0x05, 0, 200],
      ]),
    });
    const layout = await timed(() => readLayout(disk));
    expect(layout.volumes.map((v) => v.id)).toEqual(['p1', 'p5']);
    expect(layout.findings.map((f) => f.code)).toEqual(['mbr.ebr-loop']);
  });

  it('an endless chain stops at the limit with a finding', async () => {
    const sectors: Record<number, Uint8Array> = { 0: mbrSector([[0x0f, 2048, 200000]]) };
    // Each EBR links to the next one 4 sectors on: 300 links, more than the limit.
    for (let i = 0; i < 300; i++) sectors[2048 + i * 4] = mbrSector([[0x83, 1, 2], [0x05, (i + 1) * 4, 4]]);
    const layout = await timed(() => readLayout(diskOf(200 << 20, sectors)));
    expect(layout.findings.map((f) => f.code)).toEqual(['mbr.ebr-limit']);
    expect(layout.volumes.length).toBe(1 + 128);
  });

  it('an EBR without its signature ends the chain with a finding', async () => {
    const bad = mbrSector([[0x83, 1, 2]]);
    bad[511] = 0;
    const layout = await readLayout(diskOf(4 << 20, { 0: mbrSector([[0x05, 2048, 4096]]), 2048: bad }));
    expect(layout.findings.map((f) => f.code)).toEqual(['mbr.ebr-signature']);
  });

  it('partitions past the end, overlapping ones and two active ones are findings, not errors', async () => {
    const layout = await timed(() =>
      readLayout(
        diskOf(8 << 20, {
          0: mbrSector([
            [0x83, 2048, 8192, true],
            [0x83, 4096, 8192, true],
            [0x83, 14336, 8192],
            [0x07, 0xfffffff0, 0xffff],
          ]),
        }),
      ),
    );
    const codes = layout.findings.map((f) => f.code).sort();
    expect(codes).toEqual(['mbr.overlap', 'mbr.partition-past-end', 'mbr.partition-past-end', 'mbr.several-active']);
    // The slices stop at the disk's end: a read past it is E_RANGE, never bytes from elsewhere.
    const p3 = layout.volumes.find((v) => v.id === 'p3')!;
    expect(p3.size).toBe((8 << 20) - 14336 * 512);
    expect(layout.volumes.find((v) => v.id === 'p4')!.size).toBe(0);
  });

  it('a boot sector of a filesystem is not taken for an MBR', async () => {
    const vbr = mbrSector([]);
    vbr.set(new TextEncoder().encode('NTFS    '), 3);
    const layout = await readLayout(diskOf(1 << 20, { 0: vbr }));
    expect(layout.disks[0]!.table.scheme).toBe('none');
    expect(layout.volumes.map((v) => v.id)).toEqual(['disk']);
  });

  it('BitLocker and Windows dynamic disks are named, with why they cannot be read', async () => {
    // A BitLocker boot sector carries the OEM id "-FVE-FS-" at offset 3 (libbde documentation).
    const fve = new Uint8Array(SECTOR);
    fve.set(new TextEncoder().encode('-FVE-FS-'), 3);
    const bl = await readLayout(diskOf(1 << 20, { 0: fve }));
    expect(bl.volumes[0]!.content.type).toBe('BitLocker');
    expect(bl.volumes[0]!.problem).toMatch(/BitLocker/);
    // An MBR dynamic disk: one partition of type 0x42 and the LDM private header at LBA 6.
    const priv = new Uint8Array(SECTOR);
    priv.set(new TextEncoder().encode('PRIVHEAD'));
    const ldm = await readLayout(diskOf(4 << 20, { 0: mbrSector([[0x42, 63, 4000]]), 6: priv }));
    expect(ldm.findings.map((f) => f.code)).toEqual(['volume.dynamic-disk']);
    expect(ldm.volumes[0]!.problem).toMatch(/dynamic disk/);
  });
});

describe('GPT with patched headers (gpt.qcow2, checksums recomputed)', () => {
  let disk: BlockDevice;
  let header: Uint8Array;
  let backupAt: number;
  beforeAll(async () => {
    const file = await readFile(join(FIXTURES, 'volumes/gpt.qcow2'));
    disk = cached(await openDisk(fromBytes(new Uint8Array(file), 'gpt.qcow2')), { maxBytes: 64 << 20 });
    header = copyBytes(await disk.read(512, 512));
    backupAt = disk.size - 512;
  });

  /** A header copy with fields set (offset → u32 value) and its CRC recomputed. */
  function withFields(base: Uint8Array, fields: Record<number, number>): Uint8Array {
    const h = base.slice();
    const v = new DataView(h.buffer);
    for (const [at, value] of Object.entries(fields)) v.setUint32(Number(at), value, true);
    const size = v.getUint32(12, true);
    v.setUint32(16, 0, true);
    v.setUint32(16, crc32(h.subarray(0, size)), true);
    return h;
  }

  it('2^32 - 1 entries in the primary: the backup is used', async () => {
    const layout = await timed(() => readLayout(patched(disk, 512, withFields(header, { 80: 0xffffffff }))));
    expect(layout.findings.map((f) => f.code)).toEqual(['gpt.used-backup']);
    expect(layout.findings[0]!.message).toMatch(/NumberOfPartitionEntries 4294967295/);
    expect(layout.volumes.filter((v) => v.scheme === 'gpt').length).toBe(5);
  });

  it('both headers unusable: a finding, no partitions, no exception', async () => {
    const backup = copyBytes(await disk.read(backupAt, 512));
    const dev = patched(patched(disk, 512, withFields(header, { 80: 0xffffffff })), backupAt, withFields(backup, { 84: 200 }));
    const layout = await timed(() => readLayout(dev));
    expect(layout.findings.map((f) => f.code)).toEqual(['gpt.unreadable']);
    expect(layout.findings[0]!.message).toMatch(/SizeOfPartitionEntry 200/);
    expect(layout.volumes.map((v) => v.id)).toEqual(['disk']);
  });

  it('an entry that ends before it starts is skipped with a finding', async () => {
    // Entry 1 at LBA 2: swap its StartingLBA and EndingLBA, then fix the entry array's CRC.
    const entries = copyBytes(await disk.read(1024, 128 * 128));
    const v = new DataView(entries.buffer);
    const start = v.getUint32(32, true);
    v.setUint32(32, v.getUint32(40, true), true);
    v.setUint32(40, start, true);
    const dev = patched(patched(disk, 1024, entries), 512, withFields(header, { 88: crc32(entries) }));
    const layout = await timed(() => readLayout(dev));
    expect(layout.findings.map((f) => f.code)).toContain('gpt.bad-range');
    expect(layout.volumes.some((v) => v.id === 'p1')).toBe(false);
  });

  it('a truncated image: partitions past the end and a missing backup are findings', async () => {
    const file = await readFile(join(FIXTURES, 'volumes/gpt.qcow2'));
    const whole = await openDisk(fromBytes(new Uint8Array(file), 'gpt.qcow2'));
    const cut: BlockDevice = { size: 100 << 20, label: 'cut', read: (o, n, s) => whole.read(o, n, s) };
    const layout = await timed(() => readLayout(cut));
    const codes = new Set(layout.findings.map((f) => f.code));
    for (const c of ['gpt.disk-too-small', 'gpt.partition-past-end', 'gpt.backup-damaged', 'gpt.usable-past-end']) expect(codes, c).toContain(c);
  });
});

describe('LVM metadata text', () => {
  const where = { layer: 'volume' as const, structure: 'test' };

  it('parses sections, arrays, strings with escapes, numbers and comments', () => {
    const c = parseConfig('# c\nvg {\n id = "a\\"b" # x\n seqno = 3\n f = -1.5\n s = ["A", 0, []]\n "q n" { k = 1 }\n}\n', where);
    const vg = c.get('vg') as Map<string, unknown>;
    expect(vg.get('id')).toBe('a"b');
    expect(vg.get('seqno')).toBe(3);
    expect(vg.get('f')).toBe(-1.5);
    expect(vg.get('s')).toEqual(['A', 0, []]);
    expect((vg.get('q n') as Map<string, unknown>).get('k')).toBe(1);
  });

  it.each([
    ['unbalanced braces', 'vg { a = 1 ', /more "\{" than "\}"/],
    ['a stray brace', 'vg { } }', /without a matching/],
    ['an open string', 'a = "abc', /string is not closed/],
    ['an open array', 'a = [1, 2', /array is not closed/],
    ['a missing "="', 'a 1', /expected "=" or "\{"/],
    ['a word for a value', 'a = yes', /not a number/],
    ['nesting past the limit', 'a { '.repeat(40) + '}'.repeat(40), /nested deeper/],
    ['arrays nested past the limit', 'a = ' + '['.repeat(40) + ']'.repeat(40), /nested deeper/],
  ])('%s is a DiskProbeError with the offset', (_name, text, message) => {
    let error: unknown;
    try {
      parseConfig(text, where, 1000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiskProbeError);
    expect((error as DiskProbeError).code).toBe('E_CORRUPT');
    expect((error as DiskProbeError).offset).toBeGreaterThanOrEqual(1000);
    expect((error as Error).message).toMatch(message);
  });

  /** A PV found on a memory device, carrying `text` as its metadata. */
  function pvWith(text: string, uuid = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', size = 64 << 20, vgUuid = 'vg-uuid'): PhysicalVolume {
    const vg = parseConfig(text, where);
    const [name, section] = [...vg].find(([, v]) => v instanceof Map)! as [string, Map<string, never>];
    return {
      dev: fromBytes(new Uint8Array(size), 'pv'),
      label: { offset: 512, pvUuid: uuid, crcOk: true, headerOffset: 544 },
      deviceSize: size,
      dataAreas: [],
      metadataAreas: [],
      copies: [{ vgName: name, vgUuid, seqno: 1, vg: section, offset: 4096, device: 'pv' }],
      findings: [],
    };
  }
  const vgText = (lv: string, peCount = 10, pvId = 'AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA') => `vg { id = "vg-uuid" seqno = 1 extent_size = 8192
    physical_volumes { pv0 { id = "${pvId}" pe_start = 2048 pe_count = ${peCount} } }
    logical_volumes { ${lv} } }`;

  it('a segment past the end of its PV makes the LV unreadable, with why', async () => {
    const a = assembleVolumeGroups([pvWith(vgText('lv { id = "l" status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 4 type = "striped" stripe_count = 1 stripes = ["pv0", 8] } }'))]);
    expect(a.lvs[0]!.problem).toMatch(/uses extents 8\.\.11 of pv0, which has 10/);
    await expect(a.lvs[0]!.device.read(0, 512)).rejects.toBeInstanceOf(DiskProbeError);
  });

  it('huge extent counts are refused as corrupt metadata, as a finding', () => {
    const a = assembleVolumeGroups([pvWith(vgText('lv { id = "l" status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 99999999999999999 type = "striped" stripe_count = 1 stripes = ["pv0", 0] } }'))]);
    expect(a.lvs).toEqual([]);
    expect(a.findings.map((f) => f.code)).toEqual(['lvm.metadata-invalid']);
  });

  it('stripes that do not match stripe_count, and a stripe naming no PV, are corrupt metadata', () => {
    for (const seg of ['stripe_count = 2 stripe_size = 128 stripes = ["pv0", 0]', 'stripe_count = 1 stripes = ["pv9", 0]', 'stripe_count = 2 stripe_size = 1 stripes = ["pv0", 0, "pv0", 2]']) {
      const a = assembleVolumeGroups([pvWith(vgText(`lv { id = "l" status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 2 type = "striped" ${seg} } }`))]);
      expect(a.findings.map((f) => f.code), seg).toEqual(['lvm.metadata-invalid']);
    }
  });

  it('a gap between segments makes the LV unreadable', () => {
    const a = assembleVolumeGroups([
      pvWith(vgText('lv { id = "l" status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 0] } segment2 { start_extent = 2 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 1] } }')),
    ]);
    expect(a.lvs[0]!.problem).toMatch(/a gap or an overlap/);
  });

  it('two VGs of one name (cloned machines) are both kept, and their LVs told apart', async () => {
    const lv = 'lv { id = "l" status = ["VISIBLE"] segment1 { start_extent = 0 extent_count = 1 type = "striped" stripe_count = 1 stripes = ["pv0", 0] } }';
    const a = assembleVolumeGroups([pvWith(vgText(lv), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 64 << 20, 'one'), pvWith(vgText(lv, 10, 'BBBBBB-BBBB-BBBB-BBBB-BBBB-BBBB-BBBBBB'), 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 64 << 20, 'two')]);
    expect(a.groups.map((g) => g.uuid)).toEqual(['one', 'two']);
    expect(a.findings.map((f) => f.code)).toEqual(['lvm.duplicate-vg-name']);
    expect(a.lvs.map((l) => l.vgUuid)).toEqual(['one', 'two']);
  });

  it('the same disk given twice: the duplicate PV is a finding and the VG is assembled once', async () => {
    const file = await readFile(join(FIXTURES, 'volumes/span-a.qcow2'));
    const open = async () => openDisk(fromBytes(new Uint8Array(file), 'span-a.qcow2'));
    const layout = await readLayout([await open(), await open()]);
    expect(layout.findings.map((f) => f.code).sort()).toEqual(['lvm.duplicate-pv', 'lvm.pv-missing']);
    expect(layout.volumeGroups.length).toBe(1);
    expect(new Set(layout.volumes.map((v) => v.id)).size).toBe(layout.volumes.length);
  });

  it('a PV label in the third sector instead of the second is found', async () => {
    const file = await readFile(join(FIXTURES, 'volumes/span-a.qcow2'));
    const disk = await openDisk(fromBytes(new Uint8Array(file), 'span-a.qcow2'));
    const label = copyBytes(await disk.read(512, 512));
    expect(new TextDecoder().decode(label.subarray(0, 8))).toBe('LABELONE');
    new DataView(label.buffer).setUint32(8, 2, true); // sector_xl: outside the CRC, which covers bytes 20..511
    const moved = patched(patched(disk, 512, new Uint8Array(512)), 1024, label);
    const layout = await readLayout(moved);
    expect(layout.volumes[0]!.content.type).toBe('LVM2_member');
    expect(layout.volumes[0]!.content.offset).toBe(1024);
    expect(layout.volumeGroups.map((g) => g.name)).toEqual(['span']);
  });

  it('metadata whose checksum fails is not used (span-a.qcow2 with one byte of its text changed)', async () => {
    const file = await readFile(join(FIXTURES, 'volumes/span-a.qcow2'));
    const disk = await openDisk(fromBytes(new Uint8Array(file), 'span-a.qcow2'));
    // The committed text is where the metadata area header's first raw location points (the
    // area, at 4 KiB on this whole-disk PV, also keeps older copies).
    const mda = new DataView(copyBytes(await disk.read(4096, 512)).buffer);
    const textAt = 4096 + Number(mda.getBigUint64(40, true));
    const text = await disk.read(textAt, Number(mda.getBigUint64(48, true)));
    const at = textAt + new TextDecoder('latin1').decode(text).indexOf('seqno = ');
    expect(at).toBeGreaterThan(textAt);
    const layout = await timed(() => readLayout(patched(disk, at, new TextEncoder().encode('seqnp'))));
    expect(layout.findings.map((f) => f.code)).toEqual(['lvm.metadata-unreadable']);
    expect(layout.findings[0]!.message).toMatch(/checksum/);
    expect(layout.volumeGroups).toEqual([]);
    // The LVM checksum: CRC-32's register from 0xf597a6cf, no final inversion (lib/misc/crc.c).
    expect(lvmCrc(new Uint8Array(0))).toBe(0xf597a6cf);
  });
});

describe('fast-check: mutated real tables', () => {
  const images: [string, number[]][] = [
    // [fixture, byte ranges worth mutating: MBR, GPT header and entries, EBRs, LVM label, mda and text]
    ['mbr', [0, 512, 26214400, 512, 33554432, 512, 40894464, 512]],
    ['gpt', [0, 17408, 52428800, 8192]],
    ['span-a', [0, 8192]],
  ];
  const disks = new Map<string, BlockDevice>();
  beforeAll(async () => {
    for (const [name] of images) {
      const file = await readFile(join(FIXTURES, `volumes/${name}.qcow2`));
      disks.set(name, cached(await openDisk(fromBytes(new Uint8Array(file), name)), { maxBytes: 64 << 20 }));
    }
  });

  it('never throw anything but DiskProbeError, and finish within 100 ms', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...images),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        async ([name, ranges], flips) => {
          let dev = disks.get(name)!;
          for (const [pick, value] of flips) {
            const r = (pick % (ranges.length / 2)) * 2;
            const at = ranges[r]! + ((pick >>> 3) % ranges[r + 1]!);
            dev = patched(dev, at, new Uint8Array([value]));
          }
          const t = performance.now();
          try {
            const layout = await readLayout(dev);
            // Reading a little of every volume must also end in bytes or a DiskProbeError.
            for (const v of layout.volumes) await v.read(0, Math.min(512, v.size)).catch((e: unknown) => expect(e).toBeInstanceOf(DiskProbeError));
          } catch (e) {
            expect(e).toBeInstanceOf(DiskProbeError);
          }
          expect(performance.now() - t).toBeLessThan(100);
        },
      ),
      { numRuns: 300 },
    );
  });
});
