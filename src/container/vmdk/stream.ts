/**
 * streamOptimized VMDK in one pass, for input that cannot seek (an upload, a member of an OVA
 * read once, a pipe). Reference: VMware "Virtual Disk Format 5.0" technote, "Stream-Optimized
 * Compressed Sparse Extents": after the header and `overHead` sectors of metadata, the file is
 * a sequence of markers, each at a sector boundary — a grain (`lba`, compressed `size`, zlib
 * data) or a metadata marker (`numSectors`, size 0, type: grain table, grain directory, footer,
 * end of stream) followed by its sectors. Grains come in increasing LBA order; the guest's bytes
 * come out in order, the gaps as zeros. Memory: one compressed and one decoded grain at a time.
 */
import { browserCodecs } from '../../codec/index.js';
import type { Codecs } from '../../codec/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { viewOf } from '../../util/bytes.js';
import { Marker, MarkerType, SparseExtentHeader as S, SparseFlags } from './layout.js';
import { decodeSparseHeader } from './sparse.js';

const SECTOR = 512;
/** Zeros handed out for gaps, in chunks of this size. */
const ZERO_CHUNK = 1024 * 1024;

/** Pulls exact byte counts from chunks of any size. */
class Pull {
  private buffer: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** Bytes of the input consumed so far. */
  position = 0;
  private readonly it: AsyncIterator<Uint8Array>;
  constructor(input: AsyncIterable<Uint8Array>) {
    this.it = input[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or fewer at the end of the input. */
  async take(n: number): Promise<Uint8Array> {
    if (this.buffer.length - this.at >= n) {
      const out = this.buffer.subarray(this.at, this.at + n);
      this.at += n;
      this.position += n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.at >= this.buffer.length) {
        const r = await this.it.next();
        if (r.done) break;
        this.buffer = r.value;
        this.at = 0;
        continue;
      }
      const k = Math.min(n - filled, this.buffer.length - this.at);
      out.set(this.buffer.subarray(this.at, this.at + k), filled);
      this.at += k;
      filled += k;
    }
    this.position += filled;
    return filled === n ? out : out.subarray(0, filled);
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const got = await this.take(Math.min(left, 1 << 20));
      if (!got.length) break;
      left -= got.length;
    }
    return n - left;
  }
}

export interface StreamOptions {
  codecs?: Codecs;
  label?: string;
  signal?: AbortSignal;
}

/**
 * The guest bytes of a streamOptimized VMDK read once from `input`, in order, as chunks
 * (`capacity` bytes in all). Throws a `DiskProbeError` on a marker out of order, a grain that
 * does not expand to a grain, or input that ends before the end-of-stream marker.
 */
export async function* streamVmdk(input: AsyncIterable<Uint8Array>, options: StreamOptions = {}): AsyncGenerator<Uint8Array> {
  const where: Where = { layer: 'container', format: 'vmdk', device: options.label ?? 'stream', structure: 'stream' };
  const decode = (options.codecs ?? browserCodecs).deflateRaw;
  const src = new Pull(input);
  const head = await src.take(S.LENGTH);
  const h = decodeSparseHeader(head, 0, where);
  if (!(h.flags & SparseFlags.compressedGrains) || !(h.flags & SparseFlags.markers)) {
    throw new DiskProbeError(ErrorCode.UNSUPPORTED, 'only streamOptimized extents (compressed grains with markers) can be read in one pass', { ...where, structure: 'SparseExtentHeader', field: 'flags', value: h.flags });
  }
  if (h.grainSize < 1 || h.grainSize > 65536 || (h.grainSize & (h.grainSize - 1)) !== 0) throw new DiskProbeError(ErrorCode.CORRUPT, `grainSize ${h.grainSize} is not a power of two up to 65536`, { ...where, structure: 'SparseExtentHeader', field: 'grainSize', offset: S.grainSize });
  const capacity = h.capacity * SECTOR;
  const grainBytes = h.grainSize * SECTOR;
  if (h.overHead * SECTOR < S.LENGTH) throw new DiskProbeError(ErrorCode.CORRUPT, `overHead ${h.overHead} sectors leaves no room for the header`, { ...where, structure: 'SparseExtentHeader', field: 'overHead', offset: S.overHead });
  await src.skip(h.overHead * SECTOR - S.LENGTH);

  let emitted = 0;
  const zeros = new Uint8Array(Math.min(ZERO_CHUNK, Math.max(grainBytes, SECTOR)));
  async function* gapTo(end: number): AsyncGenerator<Uint8Array> {
    while (emitted < end) {
      const n = Math.min(zeros.length, end - emitted);
      emitted += n;
      yield zeros.subarray(0, n);
    }
  }
  const grain = new Uint8Array(grainBytes);
  for (;;) {
    if (options.signal?.aborted) throw new DiskProbeError(ErrorCode.ABORTED, 'the stream was aborted', where);
    const at = src.position;
    const m = await src.take(SECTOR);
    if (m.length < Marker.data + 4) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the stream ends before its end-of-stream marker', { ...where, offset: at });
    const v = viewOf(m);
    const val = Number(v.getBigUint64(Marker.val, true));
    const size = v.getUint32(Marker.size, true);
    if (size === 0) {
      const type = v.getUint32(Marker.type, true);
      if (type === MarkerType.EOS) break;
      if (type !== MarkerType.GT && type !== MarkerType.GD && type !== MarkerType.FOOTER) throw new DiskProbeError(ErrorCode.CORRUPT, `unknown marker type ${type}`, { ...where, structure: 'marker', field: 'type', offset: at, value: type });
      if (val > 1 << 20) throw new DiskProbeError(ErrorCode.CORRUPT, `a metadata marker of ${val} sectors`, { ...where, structure: 'marker', field: 'val', offset: at, value: val });
      if ((await src.skip(val * SECTOR)) < val * SECTOR) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the stream ends inside a metadata block', { ...where, offset: at });
      continue;
    }
    if (size > 2 * grainBytes + 1024) throw new DiskProbeError(ErrorCode.CORRUPT, `a grain marker with ${size} compressed bytes`, { ...where, structure: 'grain marker', field: 'size', offset: at, value: size });
    const lbaBytes = val * SECTOR;
    if (val % h.grainSize !== 0 || lbaBytes >= capacity) throw new DiskProbeError(ErrorCode.CORRUPT, `a grain at LBA ${val}, not a grain boundary inside the disk`, { ...where, structure: 'grain marker', field: 'val', offset: at, value: val });
    if (lbaBytes < emitted) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `grain at LBA ${val} comes after the stream has passed it: grains out of order cannot be read in one pass`, { ...where, structure: 'grain marker', field: 'val', offset: at, value: val });
    // The marker's sector holds the first bytes of data; the rest follows, padded to a sector.
    const total = Math.ceil((Marker.data + size) / SECTOR) * SECTOR;
    const rest = await src.take(total - SECTOR);
    if (rest.length < total - SECTOR - (total - Marker.data - size)) throw new DiskProbeError(ErrorCode.TRUNCATED, `the stream ends inside grain ${val / h.grainSize}`, { ...where, offset: at });
    const data = new Uint8Array(size);
    data.set(m.subarray(Marker.data, Math.min(SECTOR, Marker.data + size)));
    if (Marker.data + size > SECTOR) data.set(rest.subarray(0, Marker.data + size - SECTOR), SECTOR - Marker.data);
    if (data.length < 2 || (data[0]! & 0x0f) !== 8) throw new DiskProbeError(ErrorCode.CORRUPT, `grain at LBA ${val} does not start with a zlib header`, { ...where, structure: 'compressed grain', offset: at + Marker.data });
    try {
      await decode(data.subarray(2), grain);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      throw new DiskProbeError(ErrorCode.CORRUPT, `grain at LBA ${val}: Uncompressed data has invalid length, or does not decompress (${e.reason})`, { ...where, structure: 'compressed grain', offset: at + Marker.data, cause: e });
    }
    yield* gapTo(lbaBytes);
    const n = Math.min(grainBytes, capacity - lbaBytes);
    emitted += n;
    yield grain.slice(0, n);
  }
  yield* gapTo(capacity);
}
