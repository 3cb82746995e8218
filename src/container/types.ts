import type { BlockDevice } from '../device/types.js';
import type { Codecs } from '../codec/types.js';

/** Every format `probe` can name. Only some can be opened (see {@link openDisk}). */
export type FormatName =
  | 'raw'
  | 'qcow2'
  | 'qcow'
  | 'vmdk'
  | 'vhd'
  | 'vhdx'
  | 'vdi'
  | 'qed'
  | 'parallels'
  | 'luks'
  | 'iso9660'
  | 'gzip'
  | 'xz'
  | 'zstd'
  | 'bzip2'
  | 'zip'
  | 'tar'
  | 'ova'
  | 'empty';

/**
 * What sort of thing a format is:
 * - `disk`: a disk image container (raw included);
 * - `encrypted`: an encrypted volume (LUKS) that diskprobe names but does not decrypt;
 * - `installer`: an optical-disc image (ISO 9660), not a disk;
 * - `compressed`: a compressed stream (gzip, xz, zstd, bzip2) that must be decompressed first;
 * - `archive`: an archive of files (zip, tar) — an OVA is a tar of a virtual appliance;
 * - `empty`: no bytes at all.
 */
export type FormatKind = 'disk' | 'encrypted' | 'installer' | 'compressed' | 'archive' | 'empty';

/** One observation a probe based its answer on. */
export interface Evidence {
  /** Absolute byte offset in the source. */
  offset: number;
  /** What was found, in words: `magic "QFI\xfb"`, `version = 3`. */
  what: string;
}

/** A format that did not match, and why. */
export interface Rejection {
  format: FormatName;
  reason: string;
}

/** What a format's probe says when the source is of its format. */
export interface ProbeMatch {
  format: FormatName;
  kind: FormatKind;
  /** The variant within the format: `v3`, `streamOptimized`, `fixed`, `hybrid`, … */
  subformat?: string;
  /** Guest-visible size in bytes, where the format's header says it. */
  virtualSize?: number;
  evidence: Evidence[];
  /**
   * Why this source is not a usable disk image as it stands (an ISO, a compressed file, an
   * encrypted or unsupported variant, an all-zero image), in words a user can act on.
   */
  problem?: string;
  /** Format-specific facts read on the way (backing file name, creator, volume id, …). */
  facts?: Record<string, unknown>;
}

/** The answer of {@link probe}. */
export interface ProbeResult extends ProbeMatch {
  /** Size of the source in bytes. */
  fileSize: number;
  /** The formats that did not match, each with its reason. */
  rejected: Rejection[];
  /**
   * Other non-raw formats that also matched. More than one match means the source is
   * ambiguous — a known trick against import pipelines — and `problem` says so.
   */
  alsoMatched: ProbeMatch[];
  /** Whether `openDisk` in this version can read the guest-visible bytes of this format. */
  readable: boolean;
}

/** What a format's probe returns: a match, or the reason it does not match. */
export type ProbeOutcome = ProbeMatch | { reject: string };

/**
 * What a probe is given: the source, and its first and last bytes read once for all probes.
 * Probes that need more call `read`, which is bounded in count.
 */
export interface ProbeContext {
  readonly dev: BlockDevice;
  readonly size: number;
  /** Bytes `[0, head.length)` of the source. */
  readonly head: Uint8Array;
  /** Bytes `[size - tail.length, size)` of the source. */
  readonly tail: Uint8Array;
  /**
   * Reads `[offset, offset + length)` clamped to the source's end; `undefined` when the range
   * starts past the end or the probe's read budget is spent.
   */
  read(offset: number, length: number): Promise<Uint8Array | undefined>;
  /** Bytes already in `head` or `tail`, without a read; `undefined` if not covered. */
  peek(offset: number, length: number): Uint8Array | undefined;
}

/** One entry of the probe registry. */
export interface FormatProbe {
  /** Formats this probe can return (a tar probe may say `tar` or `ova`). */
  formats: readonly FormatName[];
  probe(ctx: ProbeContext): ProbeOutcome | Promise<ProbeOutcome>;
}

/** A reference from one image to another file: a backing file, an extent, a parent. */
export interface Reference {
  /** The name as the image stores it (a relative or absolute path, or a URL). */
  name: string;
  kind: 'backing' | 'extent' | 'parent' | 'data-file';
  /** The label of the image that holds the reference. */
  from: string;
  /** The format the referring image declares for the target, if it does. */
  format?: FormatName;
  /** The device of the referring image (a Node resolver reads its `path`). */
  fromDevice?: BlockDevice;
}

/**
 * Supplies the devices that images refer to. diskprobe never follows a reference without one;
 * a resolver may refuse by throwing a `DiskProbeError` with code `E_REFUSED`.
 */
export type Resolver = (ref: Reference, signal?: AbortSignal) => Promise<BlockDevice>;

/** Something a reader noticed that a user should hear about: a dirty flag, a bad checksum. */
export interface Finding {
  severity: 'info' | 'warning' | 'error';
  /** Stable identifier, for example `qcow2.dirty`. */
  code: string;
  message: string;
  /** Absolute byte offset in the source, where there is one. */
  offset?: number;
}

/** A disk: the guest-visible bytes of an image, with what its format says of itself. */
export interface Disk extends BlockDevice {
  readonly format: FormatName;
  readonly subformat?: string;
  /** The device the image was read from. */
  readonly source: BlockDevice;
  /** Format-specific facts (header fields, backing chain, snapshots), for `info`. */
  readonly facts: Record<string, unknown>;
  /** What the reader noticed on opening (dirty flags, backup headers used, …). */
  readonly findings?: readonly Finding[];
  /** The disk this one reads unallocated ranges from (a backing file or parent), if any. */
  readonly backing?: Disk;
}

/** Options of {@link openDisk}. */
export interface OpenOptions {
  /**
   * Read the source as this format, without probing. Pass `'raw'` for images whose owner says
   * they are raw: a raw image crafted to look like qcow2 is a known attack on import pipelines.
   */
  format?: FormatName;
  /** Supplies referenced files. Without one, references are refused. */
  resolver?: Resolver;
  /** Decompressors. Default: the pure JS/wasm ones; `diskprobe/node` has faster ones. */
  codecs?: Codecs;
  /** Open this internal snapshot (qcow2: by id or name) instead of the active image. */
  snapshot?: string;
  /** Bytes of metadata tables (qcow2 L2 tables, …) each image may cache. Default 4 MiB. */
  metadataCacheBytes?: number;
  /**
   * Longest chain of backing files, parents or delta disks followed below this image
   * (16 by default, `DEFAULT_LIMITS.maxChainDepth`); a deeper chain is `E_LIMIT`.
   */
  maxChainDepth?: number;
  signal?: AbortSignal;
  /** @internal The chain being opened: depth and the sources already in it. */
  chain?: { depth: number; seen: ReadonlySet<string> };
}
