/**
 * What the fuzzer runs: one target per parser, each with its seeds (built from the committed
 * fixtures, the same way every time, so a saved failure names its seed) and the work an input
 * goes through (open, walk, read; bounded so that one input is milliseconds).
 *
 * Binary seeds are either bytes (small inputs: hives, cpio archives, compressed streams, text)
 * or a device (images: the fixture file, or the guest bytes of a fixture opened as a disk) that
 * inputs see through an overlay of their mutations.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  DiskProbeError,
  ErrorCode,
  browserCodecs,
  cached,
  check,
  checkIntegrity,
  checkVmdkIntegrity,
  exportReg,
  fromBytes,
  fromUrl,
  listInitramfsBytes,
  listVolumes,
  openDisk,
  openFileSystem,
  openHive,
  openOva,
  openOvaDisk,
  parseFstab,
  parseGrubCfg,
  parseGrubEnv,
  parseBlsEntry,
  parseMenuLst,
  parseOvf,
  parsePasswd,
  parseShadow,
  parseShellVars,
  parseSshdConfig,
  parseYaml,
  probe,
  probeContent,
  readBcd,
  readLayout,
  readPe,
  readRpmSqlite,
  rpmHeaderPackage,
  SqliteFile,
  elfArch,
  bzImageVersion,
  parseApkInstalled,
  parsePacmanDesc,
  YamlError,
  listTar,
  streamVmdk,
  verifyManifest,
  fromOsRelease,
  parseDpkgStatus,
  parseKernelConfig,
  type BlockDevice,
  type Disk,
  type FileSystem,
  type RegKey,
  type Resolver,
} from '../../src/index.js';
import { parseConfig } from '../../src/volume/lvm/config.js';
import { fromIfcfg, fromNetplan, fromKeyfile, fromNetworkd, parsePersistentNet } from '../../src/guest/network.js';
import { parseDescriptor } from '../../src/container/vmdk/descriptor.js';
import { gzipExpand } from '../../src/codec/gzip.js';
import { xzExpand, lzmaAloneExpand } from '../../src/codec/lzma.js';
import { lz4Expand } from '../../src/codec/lz4.js';
import { bzip2Expand } from '../../src/codec/bzip2.js';
import { zstdExpand } from '../../src/codec/zstd.js';
import { inflateRawExpand } from '../../src/codec/inflate.js';
import type { Field, SeedShape } from './mutate.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures');

/** One input as a target receives it. */
export interface Input {
  /** The mutated bytes, for byte seeds. */
  bytes?: Uint8Array;
  /** The mutated device (byte seeds get one over their bytes too). */
  device: BlockDevice;
  seed: Seed;
}

export interface Seed {
  /** Stable name: the fixture path, and `#part` when the seed is a part of it. */
  name: string;
  /** Byte seeds. */
  bytes?: Uint8Array;
  /** Device seeds. */
  device?: BlockDevice;
  fields?: Field[];
  le?: boolean;
  tokens?: readonly string[];
  /** Whatever the target needs beside the input (a clean partner disk, the clean hive). */
  extra?: Record<string, unknown>;
}

export interface Target {
  name: string;
  /** What the target exercises, for the report. */
  covers: string;
  seeds(): Promise<Seed[]>;
  run(input: Input): Promise<unknown>;
  /** Relative cost; the scheduler gives slow targets fewer inputs. */
  weight?: number;
  /** Errors besides DiskProbeError that are this parser's documented outcome. */
  accepts?(e: unknown): boolean;
}

// ---------------------------------------------------------------------------------------------
// Seeds from fixtures

const rel = (path: string) => path.slice(FIXTURES.length + 1);

function files(dir: string, match: RegExp): string[] {
  const full = join(FIXTURES, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full)
    .filter((f) => match.test(f))
    .sort()
    .map((f) => join(full, f));
}

function fileSeed(path: string, extra: Partial<Seed> = {}): Seed {
  const bytes = new Uint8Array(readFileSync(path));
  return { name: rel(path), device: fromBytes(bytes, rel(path)), ...extra };
}

/** Clean siblings for backing files, parents and extents: only files in the seed's directory. */
function siblingResolver(seedPath: string): Resolver {
  return async (ref) => {
    const path = join(dirname(join(FIXTURES, seedPath)), basename(ref.name));
    if (!existsSync(path) || !statSync(path).isFile() || path === join(FIXTURES, seedPath)) {
      throw new DiskProbeError(ErrorCode.REFUSED, 'the fuzzer resolves only clean siblings', { layer: 'container', device: ref.name });
    }
    return fromBytes(new Uint8Array(readFileSync(path)), rel(path));
  };
}

/** A fixture opened as a disk, its guest bytes cached in memory for the inputs to read. */
async function guestDevice(path: string): Promise<BlockDevice> {
  const file = fromBytes(new Uint8Array(readFileSync(join(FIXTURES, path))), path);
  const disk = await openDisk(file, { codecs: browserCodecs, resolver: siblingResolver(path) });
  return cached(disk, { maxBytes: 96 * 1024 * 1024, blockSize: 64 * 1024 });
}

/** The first volume of a fixture (or the whole disk) whose content is `type`. */
async function fsDevice(path: string, types: readonly string[]): Promise<BlockDevice> {
  const disk = await guestDevice(path);
  const whole = await probeContent(disk).catch(() => undefined);
  if (whole && types.includes(whole.type)) return disk;
  for (const v of await listVolumes(disk)) {
    if (v.content && types.includes(v.content.type)) return cached(v, { maxBytes: 64 * 1024 * 1024 });
  }
  throw new Error(`${path}: no ${types.join('/')} volume`);
}

/**
 * Files of the guest fixtures, read once per worker: text files (configuration, databases) of up
 * to 256 KiB from TEXT_DIRS, and binaries (executables, kernels, the rpmdb) of up to 8 MiB from
 * BINARY_DIRS. Keyed `<fixture>#<volume>:<path>`.
 */
const guestFiles = new Map<string, Uint8Array>();
const GUEST_FIXTURES = ['guests/debian.qcow2', 'guests/rhel.qcow2', 'guests/suse.qcow2', 'guests/dual.qcow2', 'checks/good.qcow2', 'checks/centos-bad.qcow2', 'checks/debian-bad.qcow2', 'checks/uefi-full.qcow2'];
const TEXT_DIRS = ['/etc', '/etc/ssh', '/etc/ssh/sshd_config.d', '/boot/grub', '/boot/grub2', '/grub', '/grub2', '/loader/entries', '/boot/loader/entries', '/etc/sysconfig/network-scripts', '/etc/sysconfig/network', '/etc/netplan', '/etc/network', '/etc/NetworkManager/system-connections', '/etc/systemd/network', '/etc/udev/rules.d', '/etc/cloud', '/etc/default', '/var/lib/dpkg', '/lib/apk/db'];
const TEXT_NAME = /^(fstab|sshd_config|.*\.conf|grub\.cfg|grubenv|.*\.cfg|ifcfg-.*|.*\.yaml|interfaces|.*\.nmconnection|.*\.network|70-persistent-net\.rules|passwd|shadow|os-release|status|installed|grub|config-.*)$/;
const BINARY_DIRS = ['/var/lib/rpm', '/bin', '/usr/bin', '/boot'];

async function loadGuestFiles(): Promise<Map<string, Uint8Array>> {
  if (guestFiles.size) return guestFiles;
  const take = async (fs: FileSystem, where: string, dir: string, max: number, name?: RegExp) => {
    for (const e of await fs.readdir(dir).catch(() => [])) {
      if (e.type === 'directory' || (name && !name.test(e.name))) continue;
      const path = `${dir}/${e.name}`;
      const st = await fs.stat(path).catch(() => undefined);
      if (!st || st.type !== 'file' || st.size === 0 || st.size > max) continue;
      const bytes = await fs.readFile(path).catch(() => undefined);
      if (bytes) guestFiles.set(`${where}:${path}`, bytes);
    }
  };
  for (const fixture of GUEST_FIXTURES) {
    let n = 0;
    for (const v of await listVolumes(await guestDevice(fixture))) {
      const fs = await openFileSystem(v).catch(() => undefined);
      if (!fs) continue;
      const where = `${fixture}#${++n}`;
      for (const dir of TEXT_DIRS) await take(fs, where, dir, 256 * 1024, TEXT_NAME);
      for (const dir of BINARY_DIRS) await take(fs, where, dir, 8 << 20);
    }
  }
  return guestFiles;
}

/** Guest files whose path `match`es, as seeds. */
async function guestSeeds(match: (path: string) => boolean): Promise<Seed[]> {
  return [...(await loadGuestFiles())].filter(([name]) => match(name.slice(name.indexOf(':') + 1))).map(([name, bytes]) => ({ name, bytes }));
}

function textSeeds(name: string, texts: readonly string[], tokens: readonly string[]): Seed[] {
  return texts.map((t, i) => ({ name: `inline:${name}/${i}`, bytes: new TextEncoder().encode(t), tokens }));
}

/** Descriptor files, and the descriptors embedded in hosted sparse extents. */
async function vmdkDescriptors(): Promise<Seed[]> {
  const out: Seed[] = [];
  for (const p of [...files('images/vmdk', /\.vmdk$/), ...files('vmdk', /\.vmdk$/), ...files('vmdk-esx', /\.vmdk$/)]) {
    const b = new Uint8Array(readFileSync(p));
    if (b.length < 65536 && decoder.decode(b.subarray(0, 21)) === '# Disk DescriptorFile') out.push({ name: rel(p), bytes: b });
    else if (b.length >= 512 && decoder.decode(b.subarray(0, 4)) === 'KDMV') {
      const dv = new DataView(b.buffer, b.byteOffset, b.length);
      const at = Number(dv.getBigUint64(28, true)) * 512;
      const size = Number(dv.getBigUint64(36, true)) * 512;
      if (at > 0 && size > 0 && at + size <= b.length) {
        const d = b.subarray(at, at + size);
        const end = d.indexOf(0);
        out.push({ name: `${rel(p)}#descriptor`, bytes: d.slice(0, end < 0 ? d.length : end) });
      }
    }
  }
  return out;
}

/** The OVF of every OVA fixture. */
async function ovfTexts(): Promise<Seed[]> {
  const out: Seed[] = [];
  for (const p of [...files('ova', /\.ova$/), ...files('images/archive', /\.ova$/)]) {
    const dev = fromBytes(new Uint8Array(readFileSync(p)), rel(p));
    for (const m of (await listTar(dev)).members) {
      if (m.name.endsWith('.ovf')) out.push({ name: `${rel(p)}#${m.name}`, bytes: (await dev.read(m.offset, m.size)).slice() });
    }
  }
  return out;
}

/** The newest LVM metadata text on each LVM fixture (the text before the NUL that ends it). */
async function lvmTexts(): Promise<Seed[]> {
  const out: Seed[] = [];
  const marker = new TextEncoder().encode('contents = "Text Format Volume Group"');
  for (const p of ['volumes/span-a.qcow2', 'volumes/gpt.qcow2', 'guests/rhel.qcow2']) {
    const dev = await guestDevice(p);
    const head = await dev.read(0, Math.min(dev.size, 8 << 20));
    for (let i = 0; i + marker.length <= head.length; i++) {
      if (head[i] !== marker[0] || !marker.every((c, k) => head[i + k] === c)) continue;
      let start = i;
      while (start > 0 && head[start - 1] !== 0 && i - start < 1 << 20) start--;
      const end = head.indexOf(0, i);
      out.push({ name: `${p}#lvm@${start}`, bytes: head.slice(start, end < 0 ? head.length : end) });
      i = end < 0 ? head.length : end;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Work done on each input

const decoder = new TextDecoder();
const text = (input: Input) => decoder.decode(input.bytes);

/** Reads spread over a device: the start, the end, and eight places between. */
async function readAround(dev: BlockDevice): Promise<void> {
  const size = dev.size;
  if (size === 0) return;
  const n = Math.min(size, 64 * 1024);
  await dev.read(0, n);
  await dev.read(size - n, n);
  for (let i = 1; i < 8; i++) {
    const at = Math.floor((size / 8) * i / 512) * 512;
    await dev.read(at, Math.min(n, size - at));
  }
}

async function openAndRead(input: Input, integrity?: (disk: Disk, file: BlockDevice) => Promise<unknown>): Promise<{ findings: unknown[] }> {
  const disk = await openDisk(input.device, { codecs: browserCodecs, resolver: siblingResolver(input.seed.name.split('#')[0]!) });
  try {
    await readAround(disk);
    const checked = integrity ? ((await integrity(disk, input.device)) as { findings?: unknown[] } | undefined) : undefined;
    return { findings: [...(disk.findings ?? []), ...(checked?.findings ?? [])] };
  } finally {
    await disk.close?.();
  }
}

/** Walks a filesystem: at most 300 entries, 5 levels, reading files of up to 256 KiB. */
async function walk(fs: FileSystem): Promise<void> {
  await fs.statfs();
  let budget = 300;
  const queue: [string, number][] = [['/', 0]];
  while (queue.length && budget > 0) {
    const [dir, depth] = queue.shift()!;
    const entries = await fs.readdir(dir).catch(ignoreProbeError);
    for (const e of entries ?? []) {
      if (--budget <= 0) break;
      const path = `${dir === '/' ? '' : dir}/${e.name}`;
      const s = await fs.lstat(path).catch(ignoreProbeError);
      if (!s) continue;
      if (s.type === 'directory' && depth < 5) queue.push([path, depth + 1]);
      else if (s.type === 'symlink') await fs.readlink(path).catch(ignoreProbeError);
      else if (s.type === 'file' && s.size <= 256 * 1024) await fs.readFile(path).catch(ignoreProbeError);
    }
  }
}

/** A DiskProbeError from one step of a walk is the expected outcome of that step; others are not. */
function ignoreProbeError(e: unknown): undefined {
  if (e instanceof DiskProbeError) return undefined;
  throw e;
}

function walkKeys(root: RegKey): number {
  let n = 0;
  const stack = [root];
  while (stack.length && n < 20000) {
    const k = stack.pop()!;
    n++;
    for (const v of k.values()) {
      void v.type;
      void v.data;
    }
    stack.push(...k.subkeys());
  }
  return n;
}

function sha(): { update(b: Uint8Array): void; digest(): string } {
  const h = createHash('sha256');
  return { update: (b) => void h.update(b), digest: () => h.digest('hex') };
}

// ---------------------------------------------------------------------------------------------
// Header fields (offsets from the formats' specifications) for boundary values

const f = (at: number, width: 1 | 2 | 4 | 8, le: boolean, name: string): Field => ({ at, width, le, name });

const QCOW2_FIELDS: Field[] = [
  f(4, 4, false, 'version'), f(8, 8, false, 'backing_file_offset'), f(16, 4, false, 'backing_file_size'), f(20, 4, false, 'cluster_bits'),
  f(24, 8, false, 'size'), f(32, 4, false, 'crypt_method'), f(36, 4, false, 'l1_size'), f(40, 8, false, 'l1_table_offset'),
  f(48, 8, false, 'refcount_table_offset'), f(56, 4, false, 'refcount_table_clusters'), f(60, 4, false, 'nb_snapshots'),
  f(64, 8, false, 'snapshots_offset'), f(72, 8, false, 'incompatible_features'), f(80, 8, false, 'compatible_features'),
  f(88, 8, false, 'autoclear_features'), f(96, 4, false, 'refcount_order'), f(100, 4, false, 'header_length'), f(104, 1, false, 'compression_type'),
];
const VMDK_FIELDS: Field[] = [
  f(4, 4, true, 'version'), f(8, 4, true, 'flags'), f(12, 8, true, 'capacity'), f(20, 8, true, 'grainSize'), f(28, 8, true, 'descriptorOffset'),
  f(36, 8, true, 'descriptorSize'), f(44, 4, true, 'numGTEsPerGT'), f(48, 8, true, 'rgdOffset'), f(56, 8, true, 'gdOffset'), f(64, 8, true, 'overHead'),
  f(77, 2, true, 'compressAlgorithm'),
];
function vhdFields(size: number): Field[] {
  const foot = size - 512;
  return [
    f(foot + 16, 8, false, 'footer.dataOffset'), f(foot + 40, 8, false, 'footer.originalSize'), f(foot + 48, 8, false, 'footer.currentSize'),
    f(foot + 56, 4, false, 'footer.geometry'), f(foot + 60, 4, false, 'footer.diskType'), f(foot + 64, 4, false, 'footer.checksum'),
    f(512 + 16, 8, false, 'dyn.tableOffset'), f(512 + 28, 4, false, 'dyn.maxTableEntries'), f(512 + 32, 4, false, 'dyn.blockSize'),
    f(512 + 36, 4, false, 'dyn.checksum'), f(512 + 576, 4, false, 'dyn.locator0.code'), f(512 + 588, 4, false, 'dyn.locator0.length'),
    f(512 + 592, 8, false, 'dyn.locator0.offset'),
  ];
}
const VHDX_FIELDS: Field[] = [
  ...[0x10000, 0x20000].flatMap((h) => [f(h + 4, 4, true, 'header.checksum'), f(h + 8, 8, true, 'header.sequence'), f(h + 66, 2, true, 'header.version'), f(h + 68, 4, true, 'header.logLength'), f(h + 72, 8, true, 'header.logOffset')]),
  ...[0x30000, 0x40000].flatMap((r) => [f(r + 8, 4, true, 'region.count'), f(r + 32, 8, true, 'region[0].offset'), f(r + 40, 4, true, 'region[0].length'), f(r + 64, 8, true, 'region[1].offset'), f(r + 72, 4, true, 'region[1].length')]),
];
const MBR_FIELDS: Field[] = [0, 1, 2, 3].flatMap((i) => [f(446 + 16 * i + 4, 1, true, `mbr[${i}].type`), f(446 + 16 * i + 8, 4, true, `mbr[${i}].lba`), f(446 + 16 * i + 12, 4, true, `mbr[${i}].sectors`)]);
const GPT_FIELDS: Field[] = [512, 4096].flatMap((h) => [
  f(h + 12, 4, true, 'gpt.headerSize'), f(h + 16, 4, true, 'gpt.headerCrc'), f(h + 24, 8, true, 'gpt.myLba'), f(h + 32, 8, true, 'gpt.alternateLba'),
  f(h + 40, 8, true, 'gpt.firstUsable'), f(h + 48, 8, true, 'gpt.lastUsable'), f(h + 72, 8, true, 'gpt.entriesLba'), f(h + 80, 4, true, 'gpt.entryCount'),
  f(h + 84, 4, true, 'gpt.entrySize'), f(h + 88, 4, true, 'gpt.entriesCrc'),
]);
const EXT_FIELDS: Field[] = [
  f(1024 + 0, 4, true, 's_inodes_count'), f(1024 + 4, 4, true, 's_blocks_count_lo'), f(1024 + 20, 4, true, 's_first_data_block'), f(1024 + 24, 4, true, 's_log_block_size'),
  f(1024 + 32, 4, true, 's_blocks_per_group'), f(1024 + 40, 4, true, 's_inodes_per_group'), f(1024 + 76, 4, true, 's_rev_level'), f(1024 + 84, 4, true, 's_first_ino'),
  f(1024 + 88, 2, true, 's_inode_size'), f(1024 + 92, 4, true, 's_feature_compat'), f(1024 + 96, 4, true, 's_feature_incompat'), f(1024 + 100, 4, true, 's_feature_ro_compat'),
  f(1024 + 254, 2, true, 's_desc_size'), f(1024 + 260, 4, true, 's_first_meta_bg'), f(1024 + 336, 4, true, 's_blocks_count_hi'), f(1024 + 372, 1, true, 's_log_groups_per_flex'),
];
const XFS_FIELDS: Field[] = [
  f(4, 4, false, 'sb_blocksize'), f(8, 8, false, 'sb_dblocks'), f(56, 8, false, 'sb_rootino'), f(84, 4, false, 'sb_agblocks'), f(88, 4, false, 'sb_agcount'),
  f(100, 2, false, 'sb_versionnum'), f(102, 2, false, 'sb_sectsize'), f(104, 2, false, 'sb_inodesize'), f(106, 2, false, 'sb_inopblock'), f(120, 1, false, 'sb_blocklog'),
  f(123, 1, false, 'sb_inodelog'), f(124, 1, false, 'sb_inopblog'), f(125, 1, false, 'sb_agblklog'), f(208, 4, false, 'sb_features2'), f(216, 4, false, 'sb_features_incompat'),
];
const NTFS_FIELDS: Field[] = [
  f(11, 2, true, 'bytes_per_sector'), f(13, 1, true, 'sectors_per_cluster'), f(40, 8, true, 'total_sectors'), f(48, 8, true, 'mft_lcn'), f(56, 8, true, 'mftmirr_lcn'),
  f(64, 1, true, 'clusters_per_mft_record'), f(68, 1, true, 'clusters_per_index_record'),
];
const FAT_FIELDS: Field[] = [
  f(11, 2, true, 'BPB_BytsPerSec'), f(13, 1, true, 'BPB_SecPerClus'), f(14, 2, true, 'BPB_RsvdSecCnt'), f(16, 1, true, 'BPB_NumFATs'), f(17, 2, true, 'BPB_RootEntCnt'),
  f(19, 2, true, 'BPB_TotSec16'), f(22, 2, true, 'BPB_FATSz16'), f(32, 4, true, 'BPB_TotSec32'), f(36, 4, true, 'BPB_FATSz32'), f(44, 4, true, 'BPB_RootClus'), f(48, 2, true, 'BPB_FSInfo'),
];
const REGF_FIELDS: Field[] = [
  f(4, 4, true, 'sequence1'), f(8, 4, true, 'sequence2'), f(20, 4, true, 'major'), f(24, 4, true, 'minor'), f(28, 4, true, 'type'), f(36, 4, true, 'root_cell'),
  f(40, 4, true, 'hbins_size'), f(508, 4, true, 'checksum'), f(4096 + 4, 4, true, 'hbin.offset'), f(4096 + 8, 4, true, 'hbin.size'),
  f(4096 + 32, 4, true, 'cell.size'),
];
const LOG_FIELDS: Field[] = [...REGF_FIELDS.slice(0, 8), f(512 + 4, 4, true, 'HvLE.size'), f(512 + 8, 4, true, 'HvLE.flags'), f(512 + 12, 4, true, 'HvLE.sequence'), f(512 + 16, 4, true, 'HvLE.hbins_size'), f(512 + 20, 4, true, 'HvLE.dirty_pages'), f(512 + 40, 4, true, 'HvLE.page.offset'), f(512 + 44, 4, true, 'HvLE.page.size')];

/** cpio newc headers: each 8-digit hex field of every header in the first 64 KiB. */
function cpioFields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  for (let i = 0; i + 110 <= Math.min(bytes.length, 65536); i++) {
    if (bytes[i] === 0x30 && bytes[i + 1] === 0x37 && bytes[i + 2] === 0x30 && bytes[i + 3] === 0x37 && bytes[i + 4] === 0x30 && (bytes[i + 5] === 0x31 || bytes[i + 5] === 0x32)) {
      for (const k of [54, 94]) out.push(f(i + 6 + k, 8, true, k === 54 ? 'c_filesize' : 'c_namesize'));
    }
  }
  return out.slice(0, 200);
}

// ---------------------------------------------------------------------------------------------
// Tokens for text formats

const COMMON_TOKENS = ['\n', '\r\n', '\t', ' ', '#', '"', "'", '\\', '\\\n', '=', '\0', '\u00e9', '\ufffd', 'x'.repeat(300), '9'.repeat(30), '-1', '0x', '${', '}', '{', '[', ']', '*', '/', '../', '//'];
const TOKENS: Record<string, readonly string[]> = {
  fstab: [...COMMON_TOKENS, 'UUID=', 'LABEL=', 'PARTUUID=', '/dev/mapper/', '\\040', '\\011', 'defaults', 'nofail', 'x-systemd.', 'bind', 'swap', ' 0 0'],
  sshd: [...COMMON_TOKENS, 'Include ', 'Match ', 'Match all', 'PermitRootLogin ', 'PasswordAuthentication ', 'Port ', 'ListenAddress ', '*.conf', '/etc/ssh/sshd_config', 'UsePAM yes'],
  grub: [...COMMON_TOKENS, 'menuentry ', 'submenu ', "'", '{\n', '\n}', 'if ', ' then\n', '\nfi\n', 'set default=', 'set saved_entry=', 'linux ', 'initrd ', 'search --fs-uuid --set=root ', 'source ', '$prefix', 'export ', 'insmod ', 'else\n', 'function f {\n', 'title ', 'root=', 'saved_entry=', 'options '],
  network: [...COMMON_TOKENS, 'DEVICE=', 'BOOTPROTO=', 'dhcp', 'static', 'IPADDR=', 'ONBOOT=', 'network:', '  ethernets:', '    eth0:', '      dhcp4: ', 'true', 'addresses: [', '[connection]', '[ipv4]', 'method=', '[Match]', 'Name=', '[Network]', 'DHCP=', 'SUBSYSTEM=="net"', 'ATTR{address}=="', 'NAME="', 'version: 2'],
  yaml: [...COMMON_TOKENS, ': ', '- ', '  ', '    ', '|', '>', '|-', '&a ', '*a', '!!str ', '? ', '---\n', '...\n', '[a, b]', '{a: b}', 'null', '~', 'yes'],
  lvm: [...COMMON_TOKENS, ' = ', '[', '", "', 'seqno = ', 'extent_size = ', 'pe_start = ', 'segment_count = ', 'stripes = [', 'physical_volumes {', 'logical_volumes {', 'start_extent = ', 'extent_count = ', 'type = "striped"', '# comment'],
  vmdk: [...COMMON_TOKENS, 'RW ', 'RDONLY ', 'NOACCESS ', ' SPARSE ', ' FLAT ', ' ZERO ', ' VMFS ', 'createType=', 'parentCID=', 'CID=', 'parentFileNameHint=', 'ddb.geometry.cylinders = ', 'ddb.adapterType = ', '# Extent description\n', 'version=', '4294967296'],
  ovf: [...COMMON_TOKENS, '<', '>', '</', '/>', '<!DOCTYPE x [<!ENTITY a "b">]>', '&amp;', '&#65;', '&#x10FFFF;', '&bogus;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', 'ovf:capacity="', 'ovf:capacityAllocationUnits="byte * 2^', 'ovf:href="', 'ovf:fileRef="', '<rasd:ResourceType>', '17', '</rasd:ResourceType>', 'xmlns:ovf="'],
  accounts: [...COMMON_TOKENS, ':', '::', 'root:x:0:0:root:/root:/bin/bash', '!', '!!', '*', '$6$', '$y$', 'x:'],
  shell: [...COMMON_TOKENS, 'ID=', 'VERSION_ID=', 'NAME="', "'", '$(', '`', 'export '],
};

// ---------------------------------------------------------------------------------------------
// The targets

const DISK_FILES = /\.(qcow2?|vmdk|vhdx?|raw|img|ova|iso|vdi|qed|parallels|tar|zip|gz|bz2|xz|zst|hive)$/;

function containerTarget(name: string, covers: string, dirs: [string, RegExp][], fields: (size: number) => Field[], le: boolean, integrity?: (disk: Disk, file: BlockDevice) => Promise<unknown>): Target {
  return {
    name,
    covers,
    async seeds() {
      return dirs.flatMap(([dir, match]) => files(dir, match)).map((p) => {
        const s = fileSeed(p);
        return { ...s, fields: fields(s.device!.size), le };
      });
    },
    run: (input) => openAndRead(input, integrity),
  };
}

function fsTarget(name: string, types: string[], paths: string[], fields: Field[], le: boolean): Target {
  return {
    name,
    covers: `${types.join(', ')}: open, statfs, a walk of 300 entries with lstat, readlink and reads`,
    async seeds() {
      const out: Seed[] = [];
      for (const p of paths) out.push({ name: `${p}#${name}`, device: await fsDevice(p, types), fields, le });
      return out;
    },
    async run(input) {
      const fs = await openFileSystem(input.device);
      await walk(fs);
      return fs;
    },
  };
}

function volumeTarget(name: string, paths: string[], fields: Field[], partners: Record<string, string> = {}): Target {
  return {
    name,
    covers: `${name}: readLayout and listVolumes, with each volume's content probed`,
    async seeds() {
      const out: Seed[] = [];
      for (const p of paths) {
        const extra = partners[p] ? { partner: await guestDevice(partners[p]) } : undefined;
        out.push({ name: p, device: await guestDevice(p), fields, le: true, ...(extra ? { extra } : {}) });
      }
      return out;
    },
    async run(input) {
      const partner = input.seed.extra?.partner as BlockDevice | undefined;
      const disks = partner ? [input.device, partner] : [input.device];
      const layout = await readLayout(disks);
      for (const v of await listVolumes(disks)) await probeContent(v);
      return layout;
    },
  };
}

function textTarget(name: string, covers: string, select: (path: string) => boolean, inline: readonly string[], tokens: readonly string[], run: (s: string, input: Input) => unknown | Promise<unknown>, accepts?: (e: unknown) => boolean, more?: () => Promise<Seed[]>): Target {
  return {
    name,
    covers,
    async seeds() {
      const fromGuests = (await guestSeeds(select)).map((s) => ({ ...s, tokens }));
      const extracted = more ? (await more()).map((s) => ({ ...s, tokens })) : [];
      return [...fromGuests, ...extracted, ...textSeeds(name, inline, tokens)];
    },
    run: async (input) => run(text(input), input),
    ...(accepts ? { accepts } : {}),
  };
}

function codecTarget(name: string, sources: string[], expand: (b: Uint8Array) => unknown | Promise<unknown>): Target {
  return {
    name,
    covers: `${name} decompression into a 64 MiB limit`,
    async seeds() {
      return sources.map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(join(FIXTURES, p))) }));
    },
    run: async (input) => expand(input.bytes!),
  };
}

const LIMIT = 64 * 1024 * 1024;

export const TARGETS: Target[] = [
  {
    name: 'probe',
    covers: 'format probing of every container, archive and image kind',
    async seeds() {
      const dirs = ['images/qcow2', 'images/raw', 'images/vhd', 'images/vhdx', 'images/vmdk', 'images/other', 'images/archive', 'images/iso', 'images/luks', 'vmdk', 'vmdk-esx', 'vhd', 'vhdx', 'ova', 'initramfs'];
      return dirs.flatMap((d) => files(d, DISK_FILES)).filter((p) => !p.endsWith('.data')).map((p) => ({ ...fileSeed(p), fields: [...QCOW2_FIELDS, ...VMDK_FIELDS], le: true }));
    },
    run: (input) => probe(input.device),
  },
  containerTarget('qcow2', 'qcow2 open, reads, integrity walk (with backing chains, snapshots, compression, external data files)', [['images/qcow2', /\.qcow2?$/], ['fs/ext', /^ext4\.qcow2$/]], () => QCOW2_FIELDS, false, (_disk, file) => checkIntegrity(file)),
  // Flat extents are raw bytes (probe and the descriptors that name them cover them); the
  // integrity walk applies to the sparse kinds, and says E_ARGUMENT for the others.
  containerTarget('vmdk', 'VMDK sparse, streamOptimized, COWD, flat descriptors: open, reads, integrity', [['images/vmdk', /(?<!-flat|-f\d{3})\.vmdk$/], ['vmdk', /\.vmdk$/], ['vmdk-esx', /(?<!-flat)\.vmdk$/], ['web', /\.vmdk$/]], () => VMDK_FIELDS, true, (disk) =>
    checkVmdkIntegrity(disk).catch((e: unknown) => {
      if (!(e instanceof DiskProbeError && e.code === ErrorCode.ARGUMENT)) throw e;
    }),
  ),
  containerTarget('vhd', 'VHD fixed, dynamic and differencing: open, reads', [['images/vhd', /\.vhd$/], ['vhd', /\.vhd$/]], vhdFields, false),
  containerTarget('vhdx', 'VHDX headers, region table, metadata, BAT, log replay: open, reads', [['images/vhdx', /\.vhdx$/], ['vhdx', /\.vhdx$/]], () => VHDX_FIELDS, true),
  {
    name: 'vmdk-stream',
    covers: 'one-pass streamVmdk over chunks of a streamOptimized image',
    async seeds() {
      return ['images/vmdk/streamOptimized.vmdk', 'vmdk/stream-gd-at-end.vmdk', 'web/good-stream.vmdk'].map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(join(FIXTURES, p))), fields: VMDK_FIELDS, le: true }));
    },
    async run(input) {
      const b = input.bytes!;
      async function* chunks() {
        for (let i = 0; i < b.length; i += 100_000) yield b.subarray(i, i + 100_000);
      }
      // The stream is as long as the disk it declares (a terabyte of zeros is a correct answer that
      // takes minutes): read its first 64 MiB, as a consumer with its own bound would.
      let n = 0;
      for await (const c of streamVmdk(chunks(), { codecs: browserCodecs })) {
        n += c.length;
        if (n >= LIMIT) break;
      }
      return n;
    },
  },
  {
    name: 'ova',
    covers: 'OVA tar walk, OVF, manifest verification, the disks inside',
    async seeds() {
      return [...files('ova', /\.ova$/), ...files('images/archive', /\.ova$/)].map((p) => fileSeed(p));
    },
    async run(input) {
      const ova = await openOva(input.device);
      await verifyManifest(ova, sha);
      if (ova.ovf.disks.length) {
        const disk = await openOvaDisk(ova, 0, { codecs: browserCodecs }, openDisk);
        await readAround(disk);
      }
    },
  },
  volumeTarget('mbr', ['volumes/mbr.qcow2', 'volumes/hybrid.qcow2', 'volumes/filesystems.qcow2', 'checks/good.qcow2'], MBR_FIELDS),
  volumeTarget('gpt', ['volumes/gpt.qcow2', 'volumes/gpt-4k.qcow2', 'volumes/hybrid.qcow2', 'checks/uefi-full.qcow2'], [...GPT_FIELDS, ...MBR_FIELDS]),
  volumeTarget('lvm', ['volumes/span-a.qcow2', 'volumes/gpt.qcow2', 'guests/rhel.qcow2'], [...GPT_FIELDS, ...MBR_FIELDS], { 'volumes/span-a.qcow2': 'volumes/span-b.qcow2' }),
  volumeTarget('md', ['volumes/raid-a.qcow2'], MBR_FIELDS, { 'volumes/raid-a.qcow2': 'volumes/raid-b.qcow2' }),
  fsTarget('ext', ['ext2', 'ext3', 'ext4'], ['fs/ext/ext4.qcow2', 'fs/ext/ext2-nofiletype.qcow2', 'fs/ext/ext3.qcow2', 'fs/ext/ext4-1k.qcow2', 'fs/ext/ext4-64k.qcow2', 'fs/ext/ext4-inline.qcow2', 'fs/ext/ext4-metabg.qcow2', 'fs/ext/ext4-no64bit.qcow2', 'fs/ext/ext4-noextent.qcow2', 'fs/ext/ext4-dirty.qcow2'], EXT_FIELDS, true),
  fsTarget('xfs', ['xfs'], ['fs/xfs/xfs.qcow2', 'fs/xfs/xfs-1k.qcow2', 'fs/xfs/xfs-64k.qcow2', 'fs/xfs/xfs-v4.qcow2', 'fs/xfs/xfs-noftype.qcow2', 'fs/xfs/xfs-nrext64.qcow2', 'fs/xfs/xfs-dirty.qcow2'], XFS_FIELDS, false),
  fsTarget('ntfs', ['ntfs'], ['ntfs/ntfs-tree.qcow2', 'ntfs/ntfs-tree-512.qcow2', 'ntfs/ntfs-features.qcow2', 'ntfs/ntfs-dirty.qcow2'], NTFS_FIELDS, true),
  fsTarget('fat', ['vfat', 'fat12', 'fat16', 'fat32'], ['fat/fat12.img', 'fat/fat16.qcow2', 'fat/fat32.qcow2', 'fat/fat32-tree.qcow2'], FAT_FIELDS, true),
  {
    name: 'regf',
    covers: 'registry hives: base block, hbins, cells, keys, values, big data, .reg export',
    async seeds() {
      return files('registry', /\.hive$/).map((p) => ({ name: rel(p), bytes: new Uint8Array(readFileSync(p)), fields: REGF_FIELDS, le: true }));
    },
    async run(input) {
      const hive = await openHive(input.bytes!, { label: 'fuzz' });
      walkKeys(hive.root());
      let n = 0;
      exportReg(hive.root(), (t) => void (n += t.length), {});
      return hive;
    },
  },
  {
    name: 'regf-log',
    covers: 'registry transaction logs (old and new format) replayed over their hive',
    async seeds() {
      return files('registry', /\.LOG\d?$/).map((p) => ({
        name: rel(p),
        bytes: new Uint8Array(readFileSync(p)),
        fields: LOG_FIELDS,
        le: true,
        extra: { hive: new Uint8Array(readFileSync(p.replace(/\.LOG\d?$/, ''))), which: /\.LOG$/.test(p) ? 'log' : p.endsWith('2') ? 'log2' : 'log1' },
      }));
    },
    async run(input) {
      const extra = input.seed.extra!;
      const hive = await openHive(extra.hive as Uint8Array, { label: 'fuzz', logs: { [extra.which as string]: input.bytes! } });
      walkKeys(hive.root());
      return hive;
    },
  },
  {
    name: 'bcd',
    covers: 'BCD stores read from a hive',
    async seeds() {
      return ['registry/bcd.hive'].map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(join(FIXTURES, p))), fields: REGF_FIELDS, le: true }));
    },
    async run(input) {
      return readBcd(await openHive(input.bytes!, { label: 'fuzz' }));
    },
  },
  {
    name: 'cpio',
    covers: 'initramfs: cpio (newc, crc, odc), early microcode, every compression, with listing',
    async seeds() {
      return files('initramfs', /\.img$/).map((p) => {
        const bytes = new Uint8Array(readFileSync(p));
        return { name: rel(p), bytes, fields: cpioFields(bytes), le: true };
      });
    },
    run: (input) => listInitramfsBytes(input.bytes!, '/boot/initrd.img', { maxExpandedBytes: LIMIT }),
  },
  codecTarget('gzip', ['initramfs/gzip.img', 'initramfs/crc-gzip.img', 'images/archive/disk.raw.gz'], (b) => gzipExpand(b, LIMIT)),
  codecTarget('deflate', ['initramfs/gzip.img', 'images/archive/disk.raw.gz'], async (b) => {
    // The raw deflate stream behind a gzip header of 10 bytes, as qcow2 and VMDK store it.
    return inflateRawExpand(b.subarray(Math.min(10, b.length)), LIMIT);
  }),
  codecTarget('xz', ['initramfs/xz.img', 'images/archive/disk.raw.xz'], (b) => xzExpand(b, LIMIT)),
  codecTarget('lzma', ['initramfs/lzma.img'], (b) => lzmaAloneExpand(b, LIMIT)),
  codecTarget('lz4', ['initramfs/lz4-frame.img', 'initramfs/lz4-legacy.img'], (b) => lz4Expand(b, LIMIT)),
  codecTarget('bzip2', ['initramfs/bzip2.img', 'images/archive/disk.raw.bz2'], (b) => bzip2Expand(b, LIMIT)),
  codecTarget('zstd', ['initramfs/zstd.img', 'images/archive/disk.raw.zst'], async (b) => {
    await zstdExpand(b, LIMIT);
    const out = new Uint8Array(1 << 20);
    await browserCodecs.zstd(b, out);
  }),
  textTarget('fstab', 'fstab lines, specs and options', (p) => p.endsWith('/fstab'), ['UUID=abc / ext4 defaults 0 1\n/dev/sda2\tnone\tswap\tsw\t0\t0\nLABEL=my\\040disk /mnt/a\\040b xfs nofail,x-systemd.device-timeout=1 0 2\n'], TOKENS.fstab!, (s) => parseFstab(s)),
  textTarget('sshd', 'sshd_config with Include and Match', (p) => /sshd_config/.test(p), ['Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User root\n  PasswordAuthentication no\nMatch all\nPort 22\n'], TOKENS.sshd!, (s) =>
    parseSshdConfig(s, {
      glob: async () => ['/etc/ssh/sshd_config.d/a.conf', '/etc/ssh/sshd_config'],
      read: async (p: string) => (p.endsWith('a.conf') ? 'PasswordAuthentication yes\nInclude /etc/ssh/sshd_config\n' : s),
    }),
  ),
  textTarget('grub', 'grub.cfg, grubenv, BLS entries and menu.lst', (p) => /grub\.cfg$|grubenv$|\.conf$/.test(p) && /grub|loader/.test(p), [
    "set default=\"1>0\"\nif [ -s $prefix/grubenv ]; then\n  load_env\nfi\nmenuentry 'A' --id a {\n  linux /vmlinuz root=UUID=x ro\n  initrd /initrd.img\n}\nsubmenu 'B' {\n  menuentry 'C' {\n    linux /vmlinuz-2\n  }\n}\n",
    'default 0\ntimeout 5\ntitle CentOS\n\troot (hd0,0)\n\tkernel /vmlinuz-2.6 ro root=/dev/sda1\n\tinitrd /initrd-2.6.img\n',
    'title Fedora\nversion 6.1\nlinux /vmlinuz-6.1\ninitrd /initramfs-6.1.img\noptions root=UUID=x $kernelopts\n',
    '# GRUB Environment Block\nsaved_entry=gnulinux-advanced>gnulinux-1\nkernelopts=root=/dev/sda1\n',
  ], TOKENS.grub!, (s) => {
    parseGrubCfg(s, { env: parseGrubEnv(s), exists: (p) => p.length % 2 === 0 });
    parseBlsEntry(s, 'fuzz.conf', parseGrubEnv(s));
    parseMenuLst(s);
  }),
  textTarget('network', 'ifcfg, netplan, NetworkManager keyfiles, networkd, persistent-net rules, interfaces', (p) => /ifcfg-|netplan|nmconnection|\.network$|persistent-net|\/interfaces$/.test(p), [
    'DEVICE=eth0\nBOOTPROTO=static\nIPADDR=10.0.0.2\nNETMASK=255.255.255.0\nONBOOT=yes\n',
    'network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      addresses: [10.0.0.2/24, "fe80::1/64"]\n      match: {macaddress: "52:54:00:12:34:56"}\n',
    '[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=manual\naddress1=10.0.0.2/24,10.0.0.1\n',
    '[Match]\nName=eth0\n[Network]\nDHCP=yes\nAddress=10.0.0.2/24\n',
    'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n',
  ], TOKENS.network!, (s) => {
    fromIfcfg(s, '/etc/sysconfig/network-scripts/ifcfg-eth0', false);
    fromIfcfg(s, '/etc/sysconfig/network/ifcfg-eth0', true);
    fromKeyfile(s, 'eth0.nmconnection');
    fromNetworkd(s, '10-eth0.network');
    parsePersistentNet(s, '70-persistent-net.rules');
    try {
      fromNetplan(parseYaml(s), '50-cloud-init.yaml', 'netplan');
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
    }
  }),
  textTarget('yaml', 'the YAML subset (netplan, cloud-init)', (p) => /\.yaml$|cloud\.cfg$/.test(p), ['a:\n  - b: 1\n    c: [x, "y", {z: 2}]\n  - |\n    text\n    more\nd: >-\n  folded\n', 'key: "esc\\"aped"\n# c\nlist:\n- 1\n- - 2\n  - 3\n'], TOKENS.yaml!, (s) => parseYaml(s), (e) => e instanceof YamlError),
  textTarget('lvm-metadata', 'LVM2 text metadata', () => false, [
    'vg0 {\nid = "abc"\nseqno = 3\nformat = "lvm2"\nstatus = ["RESIZEABLE", "READ", "WRITE"]\nextent_size = 8192\nmax_lv = 0\nphysical_volumes {\npv0 {\nid = "x"\ndevice = "/dev/sda2"\nstatus = ["ALLOCATABLE"]\ndev_size = 409600\npe_start = 2048\npe_count = 49\n}\n}\nlogical_volumes {\nroot {\nid = "y"\nstatus = ["READ", "WRITE", "VISIBLE"]\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 49\ntype = "striped"\nstripe_count = 1\nstripes = [\n"pv0", 0\n]\n}\n}\n}\n}\n# Generated by LVM2\ncontents = "Text Format Volume Group"\nversion = 1\ncreation_time = 1700000000\n',
  ], TOKENS.lvm!, (s) => parseConfig(s, { layer: 'volume', format: 'lvm2', structure: 'metadata' }), undefined, lvmTexts),
  textTarget('vmdk-descriptor', 'VMDK descriptor files', () => false, [], TOKENS.vmdk!, (s) => parseDescriptor(s), undefined, vmdkDescriptors),
  textTarget('ovf', 'OVF envelopes through the strict XML reader', () => false, [], TOKENS.ovf!, (s) => parseOvf(s), undefined, ovfTexts),
  textTarget('accounts', 'passwd, shadow, os-release, dpkg status, kernel config', (p) => /\/(passwd|shadow|os-release|status|config-[^/]*)$/.test(p), ['root:x:0:0:root:/root:/bin/bash\n', 'root:$6$salt$hash:19000:0:99999:7:::\n'], TOKENS.accounts!, (s) => {
    parsePasswd(s);
    parseShadow(s);
    parseShellVars(s);
    fromOsRelease(s);
    parseDpkgStatus(s);
    parseKernelConfig(s);
  }),
  {
    name: 'http',
    covers: 'the HTTP device against a server whose answers (status, headers, body) are mutated: HEAD, ranged GETs, validators, retries',
    async seeds() {
      // A template of the server's answer: a status line, headers, a blank line, then the whole
      // object. {s}, {e} and {n} stand for the request's first and last byte and the object's
      // size; the body sent is the object's bytes {s}..{e} (or all of it to a request without Range).
      const object = 'x'.repeat(700) + 'y'.repeat(324);
      const templates = [
        `206\nContent-Range: bytes {s}-{e}/{n}\nContent-Length: {l}\nETag: "v1"\nAccept-Ranges: bytes\n\n${object}`,
        `206\nContent-Range: bytes {s}-{e}/{n}\nLast-Modified: Wed, 02 Dec 2026 10:00:00 GMT\n\n${object}`,
        `200\nContent-Length: {n}\nETag: W/"weak"\n\n${object}`,
        `206\ncontent-range: bytes {s}-{e}/*\nETag: "v1"\nRetry-After: 0\n\n${object}`,
      ];
      return templates.map((t, i) => ({ name: `inline:http/${i}`, bytes: new TextEncoder().encode(t), tokens: ['{s}', '{e}', '{n}', '{l}', '\n', ': ', 'bytes ', '*/', '-', '/', '206', '200', '416', '503', 'Content-Range', 'ETag', 'W/', '"', 'Content-Length', 'Retry-After: ', 'Location: ', '99999999999999999999', '-1'] }));
    },
    async run(input) {
      const t = text(input);
      const cut = t.indexOf('\n\n');
      const head = (cut < 0 ? t : t.slice(0, cut)).split('\n');
      const object = new TextEncoder().encode(cut < 0 ? '' : t.slice(cut + 2));
      const status = Number.parseInt(head[0] ?? '', 10);
      const fake: typeof fetch = async (_url, init) => {
        const range = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get('range') ?? '');
        const s = range ? Number(range[1]) : 0;
        const e = range ? Math.min(Number(range[2]), object.length - 1) : object.length - 1;
        const body = init?.method === 'HEAD' ? null : object.slice(s, e + 1);
        const fill = (v: string) => v.replaceAll('{s}', String(s)).replaceAll('{e}', String(e)).replaceAll('{n}', String(object.length)).replaceAll('{l}', String(Math.max(0, e - s + 1)));
        const headers: [string, string][] = [];
        for (const line of head.slice(1)) {
          const c = line.indexOf(':');
          if (c > 0) headers.push([line.slice(0, c).trim(), fill(line.slice(c + 1).trim())]);
        }
        try {
          return new Response(body, { status: status >= 200 && status <= 599 ? status : 500, headers: new Headers(headers.filter(([k, v]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) && !/[\r\n\0]/.test(v))) });
        } catch {
          return new Response(null, { status: 500 });
        }
      };
      const dev = await fromUrl('http://fuzz.invalid/image', { fetch: fake, retries: 1, retryDelayMs: 0, maxRetryDelayMs: 0, timeoutMs: 1000 });
      const n = Math.min(dev.size, 100);
      const a = await dev.read(0, n);
      const b = await dev.read(dev.size - n, n);
      if (a.length !== n || b.length !== n) throw new Error(`the HTTP device returned ${a.length} and ${b.length} bytes for reads of ${n}`);
      return dev.size;
    },
  },
  {
    name: 'rpmdb',
    covers: 'the SQLite reader (pages, b-trees, overflow chains, records) over an rpmdb.sqlite, and the RPM headers in it',
    async seeds() {
      return (await guestSeeds((p) => /rpmdb\.sqlite$/.test(p))).map((s) => ({ ...s, le: false, fields: [f(16, 2, false, 'page size'), f(28, 4, false, 'database size'), f(32, 4, false, 'first freelist trunk'), f(56, 4, false, 'text encoding'), f(100 + 3, 2, false, 'cell count'), f(100 + 5, 2, false, 'cell content start'), f(100 + 8, 4, false, 'right-most pointer')] }));
    },
    run: async (input) => readRpmSqlite(input.bytes!),
  },
  {
    name: 'rpm-header',
    covers: 'RPM package headers (index entries, tags, the data store)',
    async seeds() {
      const out: Seed[] = [];
      for (const s of await guestSeeds((p) => /rpmdb\.sqlite$/.test(p))) {
        const db = new SqliteFile(s.bytes!);
        const root = db.tableRoot('Packages');
        if (root === undefined) continue;
        for (const [i, row] of db.rows(root).slice(0, 12).entries()) {
          const blob = row.find((v): v is Uint8Array => v instanceof Uint8Array);
          if (blob) out.push({ name: `${s.name}#Packages/${i}`, bytes: blob.slice(), le: false, fields: [f(0, 4, false, 'index count'), f(4, 4, false, 'data size'), ...[0, 1, 2, 3].flatMap((k) => [f(8 + 16 * k + 4, 4, false, `entry ${k} type`), f(8 + 16 * k + 8, 4, false, `entry ${k} offset`), f(8 + 16 * k + 12, 4, false, `entry ${k} count`)])] });
        }
      }
      return out;
    },
    run: async (input) => rpmHeaderPackage(input.bytes!),
  },
  {
    name: 'elf-bzimage',
    covers: 'ELF headers (a root\'s architecture) and bzImage setup headers (a kernel\'s version string)',
    async seeds() {
      return (await guestSeeds((p) => /^\/(bin|usr\/bin)\/|\/boot\/vmlinuz/.test(p))).map((s) => ({ ...s, fields: [f(4, 1, true, 'EI_CLASS'), f(5, 1, true, 'EI_DATA'), f(18, 2, true, 'e_machine'), f(0x1f1, 1, true, 'setup_sects'), f(0x206, 2, true, 'version'), f(0x20e, 2, true, 'kernel_version')] }));
    },
    run: async (input) => [elfArch(input.bytes!), bzImageVersion(input.bytes!)],
  },
  textTarget('packages', 'apk installed database and pacman desc files', (p) => /\/lib\/apk\/db\/installed$|\/desc$/.test(p), ['%NAME%\nlinux\n\n%VERSION%\n6.1-1\n\n%ARCH%\nx86_64\n'], TOKENS.accounts!, (s) => {
    parseApkInstalled(s);
    parsePacmanDesc(s);
  }),
  {
    name: 'pe',
    covers: 'PE headers and version resources of Windows drivers',
    async seeds() {
      const out: Seed[] = [];
      const fs = await openFileSystem(await fsDevice('windows/win-good.qcow2', ['ntfs']));
      for (const dir of ['/Windows/System32/drivers', '/Windows/System32']) {
        for (const e of (await fs.readdir(dir).catch(() => [])).slice(0, 40)) {
          if (!/\.(sys|exe|dll)$/i.test(e.name)) continue;
          const bytes = await fs.readFile(`${dir}/${e.name}`).catch(() => undefined);
          if (bytes && bytes.length < 4 << 20) out.push({ name: `windows/win-good.qcow2#${dir}/${e.name}`, bytes, le: true, fields: [f(0x3c, 4, true, 'e_lfanew')] });
        }
      }
      return out;
    },
    run: async (input) => readPe(input.bytes!),
  },
  {
    name: 'check',
    covers: 'the whole check: probe, open, volumes, filesystems, guest inspection, every rule of every profile',
    weight: 40,
    async seeds() {
      const out: Seed[] = [];
      for (const p of ['checks/good.qcow2', 'guests/debian.qcow2', 'guests/rhel.qcow2', 'windows/win-good.qcow2']) {
        out.push({ name: `${p}#guest`, device: await guestDevice(p), fields: [...MBR_FIELDS, ...GPT_FIELDS], le: true });
      }
      return out;
    },
    async run(input) {
      const report = await check(input.device, { profile: 'all' });
      // A rule's exception is that rule's ERROR in the report; one that is not a DiskProbeError is a bug.
      const findings: { code: string }[] = [];
      for (const p of report.profiles) {
        for (const item of p.check_items) {
          const said = JSON.stringify(item);
          if (/the rule failed while reading: [A-Za-z]*Error:/.test(said)) throw new Error(`rule ${p.profile}: ${said.slice(0, 400)}`);
          // The verdicts that differ from OK tell one mutated guest's check from another's.
          if (p.profile === 'generic' && item.result !== 'OK') findings.push({ code: `${item.id}:${item.result}` });
        }
      }
      return { findings };
    },
  },
];

export function target(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target ${name}; the targets are ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

export type { SeedShape };
