/**
 * What an initramfs holds, read as the kernel unpacks it (init/initramfs.c): a sequence of cpio
 * archives (`newc` or `crc`, each ending with `TRAILER!!!`), uncompressed or compressed with
 * gzip, xz, lzma, zstd, lz4 or bzip2, with zero padding between them — an uncompressed early-microcode
 * archive followed by the compressed main one is the usual shape. Each archive is listed; a
 * damaged or truncated part ends the listing with a finding, keeping what came before.
 * Expansion is bounded (`maxExpandedBytes`).
 */
import { DEFAULT_LIMITS } from '../limits.js';
import type { Finding } from '../container/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import type { FileSystem } from '../fs/types.js';
import { fileTypeOfMode } from '../fs/inode-fs.js';
import type { FileType } from '../fs/types.js';
import { bzip2Expand, isBzip2 } from '../codec/bzip2.js';
import { gzipExpand, isGzip } from '../codec/gzip.js';
import { isXz, lzmaAloneExpand, xzExpand } from '../codec/lzma.js';
import { lz4Expand, LZ4_FRAME_MAGIC, LZ4_LEGACY_MAGIC } from '../codec/lz4.js';
import { zstdExpandWith } from '../codec/zstd.js';
import { zstdStream } from '../codec/zstd-stream.js';
import { u32le } from '../util/bytes.js';

export interface InitramfsEntry {
  /** Path inside the archive, without a leading `./` or `/`. */
  name: string;
  type: FileType;
  mode: number;
  size: number;
}

export interface InitramfsSegment {
  /** Byte offset of the segment in the file. */
  offset: number;
  compression: 'none' | 'gzip' | 'xz' | 'lzma' | 'zstd' | 'lz4' | 'bzip2';
  /** Entries its archives list. */
  entries: number;
}

export interface InitramfsListing {
  path: string;
  entries: InitramfsEntry[];
  segments: InitramfsSegment[];
  /** False when a part could not be read (truncated, corrupt, an unknown compression). */
  complete: boolean;
  findings: Finding[];
}

export interface InitramfsOptions {
  /** Largest initramfs file read. Default 256 MiB. */
  maxFileBytes?: number;
  /** Largest total expansion of its compressed parts. Default 1 GiB. */
  maxExpandedBytes?: number;
}

const CPIO_HEADER = 110;
const MAX_ENTRIES = 1_000_000;

function hex(u8: Uint8Array, at: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = u8[at + i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function isCpio(u8: Uint8Array, at: number): boolean {
  // "070701" (newc) or "070702" (crc)
  return u8[at] === 0x30 && u8[at + 1] === 0x37 && u8[at + 2] === 0x30 && u8[at + 3] === 0x37 && u8[at + 4] === 0x30 && (u8[at + 5] === 0x31 || u8[at + 5] === 0x32);
}

const align4 = (n: number) => (n + 3) & ~3;

/**
 * Lists the cpio archives in `data` from `start` until the data ends or something that is not
 * cpio (or zero padding) follows a trailer; returns where it stopped. Throws on a damaged archive.
 */
function listCpio(data: Uint8Array, start: number, out: InitramfsEntry[], where: string): number {
  let pos = start;
  for (;;) {
    while (pos < data.length && data[pos] === 0) pos++;
    if (pos >= data.length || !isCpio(data, pos)) return pos;
    for (;;) {
      if (pos + CPIO_HEADER > data.length) throw new DiskProbeError(ErrorCode.TRUNCATED, 'a cpio header runs past the data', { layer: 'guest', format: 'cpio', device: where, offset: pos });
      if (!isCpio(data, pos)) throw new DiskProbeError(ErrorCode.CORRUPT, 'no cpio header where one should be', { layer: 'guest', format: 'cpio', device: where, offset: pos });
      const mode = hex(data, pos + 14);
      const size = hex(data, pos + 54);
      const nameSize = hex(data, pos + 94);
      if (mode < 0 || size < 0 || nameSize <= 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'a cpio header field is not hexadecimal', { layer: 'guest', format: 'cpio', device: where, offset: pos });
      const nameEnd = pos + CPIO_HEADER + nameSize;
      if (nameEnd > data.length) throw new DiskProbeError(ErrorCode.TRUNCATED, 'a cpio name runs past the data', { layer: 'guest', format: 'cpio', device: where, offset: pos });
      const name = new TextDecoder().decode(data.subarray(pos + CPIO_HEADER, nameEnd - 1));
      const dataStart = align4(nameEnd);
      const next = align4(dataStart + size);
      if (name === 'TRAILER!!!') {
        pos = Math.min(next, data.length);
        break;
      }
      if (dataStart + size > data.length) throw new DiskProbeError(ErrorCode.TRUNCATED, `the data of ${name} runs past the archive`, { layer: 'guest', format: 'cpio', device: where, offset: pos });
      if (out.length >= MAX_ENTRIES) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_ENTRIES} entries`, { layer: 'guest', format: 'cpio', device: where, offset: pos });
      const clean = name.replace(/^(\.\/|\/)+/, '');
      if (clean !== '' && clean !== '.') out.push({ name: clean, type: fileTypeOfMode(mode), mode: mode & 0o7777, size });
      pos = next;
    }
  }
}

/**
 * The same listing as {@link listCpio}, over data that arrives in pieces (a zstd stream): only
 * a header and a name are ever kept, file contents are counted past. `end()` says whether the
 * data stopped inside an entry. @internal Exported for tests.
 */
export class CpioScanner {
  /** Where the scanner is: between archives (zeros), or reading an entry's header and name. */
  private mode: 'seek' | 'entry' | 'done' = 'seek';
  private carry = new Uint8Array(CPIO_HEADER + 4096);
  private have = 0;
  /** Bytes still to pass (a file's data and padding), of which `required` must be present. */
  private skip = 0;
  private required = 0;
  private skipping = '';
  /** Offset in the expanded data of the next byte, and of the entry being read. */
  private offset = 0;
  private entryAt = 0;
  private nameSize = -1;
  private mode0 = 0;
  private size0 = 0;

  constructor(
    private readonly out: InitramfsEntry[],
    private readonly where: string,
  ) {}

  private fail(code: ErrorCode, reason: string): never {
    throw new DiskProbeError(code, reason, { layer: 'guest', format: 'cpio', device: this.where, offset: this.entryAt });
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && this.mode !== 'done') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        this.required = Math.max(0, this.required - n);
        i += n;
        this.offset += n;
        continue;
      }
      if (this.mode === 'seek') {
        if (this.have === 0) {
          while (i < chunk.length && chunk[i] === 0) {
            i++;
            this.offset++;
          }
          if (i >= chunk.length) return;
          this.entryAt = this.offset;
        }
        // Six bytes tell whether an archive starts here.
        const n = Math.min(6 - this.have, chunk.length - i);
        this.carry.set(chunk.subarray(i, i + n), this.have);
        this.have += n;
        i += n;
        this.offset += n;
        if (this.have < 6) return;
        if (!isCpio(this.carry, 0)) {
          this.mode = 'done';
          return;
        }
        this.mode = 'entry';
        continue;
      }
      // 'entry': the header, then the name.
      const want = this.nameSize < 0 ? CPIO_HEADER : CPIO_HEADER + this.nameSize;
      const n = Math.min(want - this.have, chunk.length - i);
      this.carry.set(chunk.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      this.offset += n;
      if (this.have < want) continue;
      if (this.nameSize < 0) {
        if (!isCpio(this.carry, 0)) this.fail(ErrorCode.CORRUPT, 'no cpio header where one should be');
        this.mode0 = hex(this.carry, 14);
        this.size0 = hex(this.carry, 54);
        this.nameSize = hex(this.carry, 94);
        if (this.mode0 < 0 || this.size0 < 0 || this.nameSize <= 0) this.fail(ErrorCode.CORRUPT, 'a cpio header field is not hexadecimal');
        if (CPIO_HEADER + this.nameSize > this.carry.length) {
          // Names are short; a long one (PATH_MAX is 4096) gets a bigger buffer, once.
          if (this.nameSize > 65536) this.fail(ErrorCode.CORRUPT, `a cpio name of ${this.nameSize} bytes`);
          const bigger = new Uint8Array(CPIO_HEADER + this.nameSize);
          bigger.set(this.carry.subarray(0, this.have));
          this.carry = bigger;
        }
        continue;
      }
      const name = new TextDecoder().decode(this.carry.subarray(CPIO_HEADER, CPIO_HEADER + this.nameSize - 1));
      const nameEnd = this.entryAt + CPIO_HEADER + this.nameSize;
      const dataStart = align4(nameEnd);
      const next = align4(dataStart + this.size0);
      this.skip = next - nameEnd;
      this.skipping = name;
      this.have = 0;
      this.nameSize = -1;
      if (name === 'TRAILER!!!') {
        this.required = 0;
        this.mode = 'seek';
        continue;
      }
      this.required = dataStart + this.size0 - nameEnd;
      if (this.out.length >= MAX_ENTRIES) this.fail(ErrorCode.LIMIT, `more than ${MAX_ENTRIES} entries`);
      const clean = name.replace(/^(\.\/|\/)+/, '');
      if (clean !== '' && clean !== '.') this.out.push({ name: clean, type: fileTypeOfMode(this.mode0), mode: this.mode0 & 0o7777, size: this.size0 });
      // The next entry's header follows the data.
      this.entryAt = next;
    }
  }

  /** The data ended: an error if it ended inside an entry. */
  end(): void {
    if (this.mode === 'entry' && this.have > 0) this.fail(ErrorCode.TRUNCATED, this.nameSize < 0 ? 'a cpio header runs past the data' : 'a cpio name runs past the data');
    if (this.required > 0) this.fail(ErrorCode.TRUNCATED, `the data of ${this.skipping} runs past the archive`);
  }
}

/** Expands the data at the start of `input`, hands the output to `use`, and says its size and the input consumed. */
type Expand = (input: Uint8Array, limit: number, use: (output: Uint8Array) => void) => Promise<{ size: number; consumed: number }>;

/** An expander that returns its output, as an `Expand`. */
function handing(expand: (input: Uint8Array, limit: number) => { output: Uint8Array; consumed: number } | Promise<{ output: Uint8Array; consumed: number }>): Expand {
  return async (input, limit, use) => {
    const { output, consumed } = await expand(input, limit);
    use(output);
    return { size: output.length, consumed };
  };
}

const zstdInPlace: Expand = async (input, limit, use) => {
  const { size, consumed } = await zstdExpandWith(input, limit, use);
  return { size, consumed };
};

function compressionAt(u8: Uint8Array, at: number): [InitramfsSegment['compression'], Expand] | undefined {
  if (isGzip(u8, at)) return ['gzip', handing(gzipExpand)];
  if (isXz(u8, at)) return ['xz', handing(xzExpand)];
  if (isBzip2(u8, at)) return ['bzip2', handing(bzip2Expand)];
  const magic = u32le(u8, at);
  if (magic === 0xfd2fb528) return ['zstd', zstdInPlace];
  if (magic === LZ4_LEGACY_MAGIC || magic === LZ4_FRAME_MAGIC) return ['lz4', handing(lz4Expand)];
  // .lzma: a properties byte (0x5d for the defaults) and a dictionary size, little-endian.
  if (u8[at] === 0x5d && u8[at + 1] === 0 && u8[at + 2] === 0) return ['lzma', handing(lzmaAloneExpand)];
  return undefined;
}

/** Names the compression of data that is neither cpio nor one this reader expands. */
function unknownCompression(u8: Uint8Array, at: number): string {
  if (u8[at] === 0x89 && u8[at + 1] === 0x4c && u8[at + 2] === 0x5a && u8[at + 3] === 0x4f) return 'lzop';
  return `unknown data (${Array.from(u8.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`;
}

/** Lists an initramfs image's bytes. */
export async function listInitramfsBytes(bytes: Uint8Array, path: string, options: InitramfsOptions = {}): Promise<InitramfsListing> {
  const listing: InitramfsListing = { path, entries: [], segments: [], complete: true, findings: [] };
  let budget = options.maxExpandedBytes ?? DEFAULT_LIMITS.maxExpandedBytes;
  let pos = 0;
  const stop = (message: string, code = 'guest.initramfs-unreadable') => {
    listing.complete = false;
    listing.findings.push({ severity: 'warning', code, message: `${path}: ${message}; the listing holds what came before` });
  };
  while (pos < bytes.length) {
    while (pos < bytes.length && bytes[pos] === 0) pos++;
    if (pos >= bytes.length) break;
    const before = listing.entries.length;
    if (isCpio(bytes, pos)) {
      const segment: InitramfsSegment = { offset: pos, compression: 'none', entries: 0 };
      listing.segments.push(segment);
      try {
        pos = listCpio(bytes, pos, listing.entries, path);
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        segment.entries = listing.entries.length - before;
        stop(`the cpio archive at byte ${segment.offset} is damaged (${e.reason}, at byte ${e.offset})`, e.code === ErrorCode.TRUNCATED ? 'guest.initramfs-truncated' : 'guest.initramfs-unreadable');
        return listing;
      }
      segment.entries = listing.entries.length - before;
      continue;
    }
    const kind = compressionAt(bytes, pos);
    if (!kind) {
      stop(`at byte ${pos}, ${unknownCompression(bytes, pos)} is not read`);
      return listing;
    }
    const segment: InitramfsSegment = { offset: pos, compression: kind[0], entries: 0 };
    listing.segments.push(segment);
    if (kind[0] === 'zstd') {
      // zstd (Debian, Ubuntu, Fedora): expanded as a stream and listed as it comes, so the
      // expansion (often over 100 MiB) is never in memory whole.
      const scanner = new CpioScanner(listing.entries, `${path} (zstd at ${pos})`);
      let damagedStream: DiskProbeError | undefined;
      let streamed: { size: number; consumed: number };
      try {
        streamed = await zstdStream(bytes.subarray(pos), budget, (chunk) => {
          if (damagedStream) return;
          try {
            scanner.push(chunk);
          } catch (e) {
            if (!(e instanceof DiskProbeError)) throw e;
            damagedStream = e;
          }
        });
        if (!damagedStream) {
          try {
            scanner.end();
          } catch (e) {
            if (!(e instanceof DiskProbeError)) throw e;
            damagedStream = e;
          }
        }
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        segment.entries = listing.entries.length - before;
        stop(`the zstd data at byte ${pos} does not expand (${e.reason})`, e.code === ErrorCode.TRUNCATED ? 'guest.initramfs-truncated' : 'guest.initramfs-unreadable');
        return listing;
      }
      budget -= streamed.size;
      segment.entries = listing.entries.length - before;
      if (damagedStream) {
        stop(`the cpio archive inside the zstd data at byte ${pos} is damaged (${damagedStream.reason})`, damagedStream.code === ErrorCode.TRUNCATED ? 'guest.initramfs-truncated' : 'guest.initramfs-unreadable');
        return listing;
      }
      pos += streamed.consumed;
      continue;
    }
    // The cpio is listed inside `use`, on the expanded bytes where they lie (for zstd, in the
    // decoder's heap): its damage is reported apart from the compression's.
    let damaged: DiskProbeError | undefined;
    let expanded: { size: number; consumed: number };
    try {
      expanded = await kind[1](bytes.subarray(pos), budget, (output) => {
        try {
          listCpio(output, 0, listing.entries, `${path} (${kind[0]} at ${pos})`);
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
          damaged = e;
        }
      });
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      stop(`the ${kind[0]} data at byte ${pos} does not expand (${e.reason})`, e.code === ErrorCode.TRUNCATED ? 'guest.initramfs-truncated' : 'guest.initramfs-unreadable');
      return listing;
    }
    budget -= expanded.size;
    if (damaged) {
      segment.entries = listing.entries.length - before;
      stop(`the cpio archive inside the ${kind[0]} data at byte ${pos} is damaged (${damaged.reason})`, damaged.code === ErrorCode.TRUNCATED ? 'guest.initramfs-truncated' : 'guest.initramfs-unreadable');
      return listing;
    }
    segment.entries = listing.entries.length - before;
    pos += expanded.consumed;
  }
  return listing;
}

/** Lists the initramfs at `path` in a guest. */
export async function listInitramfs(fs: FileSystem, path: string, options: InitramfsOptions = {}): Promise<InitramfsListing> {
  const bytes = await fs.readFile(path, { maxBytes: options.maxFileBytes ?? 256 * 1024 * 1024 });
  return listInitramfsBytes(bytes, path, options);
}

/** The kernel module names (as modprobe spells them: `-` as `_`) an initramfs carries. */
export function modulesIn(entries: readonly InitramfsEntry[]): string[] {
  const names = new Set<string>();
  for (const e of entries) {
    const m = /(?:^|\/)([^/]+)\.ko(?:\.(?:xz|zst|gz))?$/.exec(e.name);
    if (m && e.type === 'file') names.add(m[1]!.replace(/-/g, '_'));
  }
  return [...names].sort();
}

/** The module names in a `modules.builtin` file (`kernel/drivers/block/virtio_blk.ko` lines). */
export function builtinModules(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => /([^/]+)\.ko$/.exec(l.trim())?.[1]?.replace(/-/g, '_'))
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** The module names in a `modules.dep` file (`kernel/…/virtio_blk.ko.xz: deps…` lines). */
export function depModules(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^:\s]+)\.ko(?:\.(?:xz|zst|gz))?:/.exec(line.trim());
    if (m) names.add(m[1]!.split('/').pop()!.replace(/-/g, '_'));
  }
  return [...names].sort();
}

/** CONFIG_ symbols that say which cloud drivers a kernel has: virtio, NVMe, Xen, Hyper-V, ENA, gVNIC. */
const CLOUD_CONFIG = /^CONFIG_(VIRTIO|NVME|XEN|HYPERV|ENA_ETHERNET|GVE|SCSI_VIRTIO|BLK_DEV_NVME|PCI_HYPERV|VMXNET3|MLX5)/;

/**
 * A kernel's `.config` (`/boot/config-<version>`): `CONFIG_NAME=value` lines (`y`, `m`, numbers,
 * strings) and `# CONFIG_NAME is not set`. With `cloudOnly`, only the symbols of the drivers
 * clouds need.
 */
export function parseKernelConfig(text: string, cloudOnly = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    const name = set?.[1] ?? unset?.[1];
    if (!name || (cloudOnly && !CLOUD_CONFIG.test(name))) continue;
    out[name] = set ? set[2]!.replace(/^"(.*)"$/, '$1') : 'n';
  }
  return out;
}
