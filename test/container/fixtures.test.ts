/**
 * Every fixture, through every device kind (memory, Blob, file, HTTP), probed and opened, and
 * compared with what the real tools recorded when fixtures/make.sh made it.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { DiskProbeError, openDisk, probe, readChunks, type BlockDevice, type ProbeResult, type Resolver } from '../../src/index.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { facts, fixtureIndex, fixturePath, type FixtureEntry } from '../helpers/fixtures.js';

afterAll(stopFixtureServer);

/** qemu-img's format names, and the name diskprobe uses for each. */
const QEMU_TO_DISKPROBE: Record<string, string> = {
  raw: 'raw',
  qcow2: 'qcow2',
  qcow: 'qcow',
  vmdk: 'vmdk',
  vpc: 'vhd',
  vhdx: 'vhdx',
  vdi: 'vdi',
  qed: 'qed',
  parallels: 'parallels',
};

/** What kind each format the fixture script made as "not a disk" is. */
const NOT_A_DISK_KINDS: Record<string, string> = {
  iso9660: 'installer',
  gzip: 'compressed',
  xz: 'compressed',
  zstd: 'compressed',
  bzip2: 'compressed',
  zip: 'archive',
  tar: 'archive',
  ova: 'archive',
  luks: 'encrypted',
};

/** The libyal tools print the disk type; diskprobe says it in qemu's lower-case words. */
function libyalDiskType(f: Record<string, any>): string | undefined {
  const text: string | undefined = f.vhdiinfo?.stdout;
  const m = text && /Disk type\s*:\s*(\w+)/i.exec(text);
  return m ? m[1]!.toLowerCase() : undefined;
}

interface Expected {
  format: string;
  kind: string;
  subformat?: string;
  virtualSize?: number;
  /** sha256 of the guest-visible bytes, when this version can read them. */
  rawSha256?: string;
  problem: boolean;
}

/** What the tools' facts say diskprobe must report. */
function expected(entry: FixtureEntry, f: Record<string, any>): Expected {
  if (entry.kind === 'not-a-disk') {
    const format = f.madeAs as string;
    const e: Expected = { format, kind: NOT_A_DISK_KINDS[format] ?? 'unknown', problem: true };
    if (format === 'luks') {
      const version = /Version:\s*(\d)/.exec(f.luksDump?.stdout ?? '')?.[1];
      if (!version) throw new Error(`${entry.file}: no LUKS version in the luksDump facts`);
      e.subformat = `luks${version}`;
    }
    return e;
  }
  const info = f.qemuImgInfoPinned ?? f.qemuImgInfo;
  const qemuFormat = entry.qemuFormat ?? info.format;
  const format = QEMU_TO_DISKPROBE[qemuFormat];
  if (!format) throw new Error(`no diskprobe name for qemu format ${qemuFormat}`);
  if (f.size === 0) return { format: 'empty', kind: 'empty', virtualSize: 0, problem: true };
  const e: Expected = { format, kind: info.encrypted ? 'encrypted' : 'disk', virtualSize: info['virtual-size'], problem: false };
  const specific = info['format-specific']?.data ?? {};
  if (format === 'qcow2') {
    e.subformat = specific.compat === '0.10' ? 'v2' : 'v3';
    // Readable unless encrypted; backing and data files come through the kind's resolver.
    if (!info.encrypted) e.rawSha256 = f.rawSha256;
  }
  if (format === 'qcow') e.subformat = 'v1';
  if (format === 'vmdk') {
    e.subformat = specific['create-type'];
    // Every createType qemu writes is read; extent files come through the kind's resolver.
    e.rawSha256 = f.rawSha256;
  }
  if (format === 'vhd' || format === 'vhdx') e.subformat = libyalDiskType(f) ?? f.variant;
  // VHD is read (issue #10): qemu-img convert -f vpc is the oracle.
  if (format === 'vhd' || format === 'vhdx') e.rawSha256 = f.rawSha256;
  if (format === 'raw') {
    e.rawSha256 = f.rawSha256;
    // An image made all zeros (`truncate -s`) has nothing to boot: named, with a problem.
    if (entry.variant === 'zero') {
      e.subformat = 'zero';
      e.problem = true;
    }
  }
  // Formats named but not read, encrypted images, and version 1 qcow carry a problem.
  if (['qcow', 'vdi', 'qed', 'parallels'].includes(format) || e.kind === 'encrypted') e.problem = true;
  return e;
}

/** Facts beyond the format that the tools recorded, checked where the fixture has them. */
function checkDetails(entry: FixtureEntry, f: Record<string, any>, result: ProbeResult): void {
  const facts = result.facts ?? {};
  switch (result.format) {
    case 'iso9660': {
      expect(facts.volumeId).toBe(f.volumeId);
      // sfdisk finds a partition table only on the hybrid image.
      expect(result.subformat).toBe(Number(f.sfdisk?.exitCode) === 0 && /label: dos|label: gpt/.test(f.sfdisk.stdout) ? 'hybrid' : 'plain');
      break;
    }
    case 'gzip':
      expect(facts.originalName ?? null).toBe(f.gzipHeader.fname ?? null);
      expect(facts.isizeMod32).toBe(f.decompressedSize % 2 ** 32);
      break;
    case 'tar':
    case 'ova':
    case 'zip': {
      const names = (f.members as { name: string }[]).map((m) => m.name);
      if (result.format === 'zip') expect(facts.firstMember).toBe(names[0]);
      else expect((facts.members as { name: string }[]).map((m) => m.name)).toEqual(names.slice(0, 4));
      break;
    }
    case 'luks':
      expect(facts.uuid).toBe(f.uuid);
      break;
    case 'vhd':
      expect(facts.checksumValid).toBe(true);
      break;
    case 'qcow2':
      if (f.backing) expect(facts.backingFile).toBe(f.qemuImgInfoPinned['backing-filename']);
      break;
  }
  void entry;
}

async function hashDevice(dev: BlockDevice): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readChunks(dev, { chunkSize: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

const entries = fixtureIndex();

describe('the fixture index', () => {
  it('lists every kind of input issue #2 names', () => {
    const formats = new Set(entries.map((e) => (e.kind === 'disk' ? QEMU_TO_DISKPROBE[e.qemuFormat ?? ''] : e.madeAs)));
    for (const f of ['raw', 'qcow2', 'qcow', 'vmdk', 'vhd', 'vhdx', 'iso9660', 'gzip', 'xz', 'zstd', 'bzip2', 'zip', 'tar', 'ova']) {
      expect(formats, f).toContain(f);
    }
  });
});

for (const entry of entries) {
  const f = facts(entry);
  const want = expected(entry, f);
  describe(entry.file, () => {
    for (const kind of DEVICE_KINDS) {
      it(`through the ${kind.name} device: ${want.format}${want.subformat ? ` (${want.subformat})` : ''}`, async () => {
        const dev = await kind.open(fixturePath(entry.file));
        const referenced: BlockDevice[] = [];
        try {
          expect(dev.size).toBe(f.size);
          const result: ProbeResult = await probe(dev);
          expect(result.format).toBe(want.format);
          expect(result.kind).toBe(want.kind);
          if (want.subformat !== undefined) expect(result.subformat).toBe(want.subformat);
          if (want.virtualSize !== undefined) expect(result.virtualSize).toBe(want.virtualSize);
          expect(result.fileSize).toBe(f.size);
          expect(result.alsoMatched).toEqual([]);
          expect(Boolean(result.problem), result.problem).toBe(want.problem);
          expect(result.evidence.length).toBeGreaterThan(0);
          checkDetails(entry, f, result);

          // Files an image refers to are opened with the same kind of device, next to it.
          const resolver: Resolver = async (ref) => {
            const opened = await kind.open(join(dirname(fixturePath(entry.file)), ref.name));
            referenced.push(opened);
            return opened;
          };
          const opened = await openDisk(dev, { resolver }).catch((e: unknown) => e);
          if (want.rawSha256) {
            expect(opened).not.toBeInstanceOf(Error);
            expect(await hashDevice(opened as BlockDevice)).toBe(want.rawSha256);
          } else {
            expect(opened).toBeInstanceOf(DiskProbeError);
          }
        } finally {
          await Promise.all([dev, ...referenced].map((d) => d.close?.()));
        }
      });
    }
  });
}
