/**
 * Zstandard frame layout, walked without decompressing: finds where the first frame ends so
 * that the bytes after it (qcow2 pads a compressed cluster to whole sectors with arbitrary
 * bytes) are never handed to the decoder. Reference: RFC 8878 "Zstandard Compression and the
 * 'application/zstd' Media Type", §3.1.1 (Zstandard frames) and §3.1.2 (skippable frames).
 * All fields are little-endian.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';
import { codecError } from './types.js';
import { u32le } from '../util/bytes.js';

/** RFC 8878 §3.1.1: Magic_Number of a Zstandard frame. */
export const ZSTD_MAGIC = 0xfd2fb528;
/** RFC 8878 §3.1.2: skippable frames use the 16 magic numbers 0x184D2A50..0x184D2A5F. */
export const SKIPPABLE_MAGIC = 0x184d2a50;
export const SKIPPABLE_MAGIC_MASK = 0xfffffff0;

/** RFC 8878 §3.1.1: byte offsets within a frame, and the fixed sizes. */
export const ZstdFrame = {
  Magic_Number: 0,
  Frame_Header_Descriptor: 4,
  /** Window_Descriptor, when Single_Segment_Flag is 0; otherwise the Dictionary_ID starts here. */
  Window_Descriptor: 5,
  BLOCK_HEADER_SIZE: 3,
  CONTENT_CHECKSUM_SIZE: 4,
} as const;

/** RFC 8878 §3.1.2: Magic_Number (4 bytes) then Frame_Size (4 bytes), then the user data. */
export const SkippableFrame = { Magic_Number: 0, Frame_Size: 4, HEADER_SIZE: 8 } as const;

/** RFC 8878 §3.1.1.1.1: bits of Frame_Header_Descriptor. */
export const FrameHeaderDescriptor = {
  /** Bits 7-6. */
  frameContentSizeFlag: (fhd: number) => fhd >>> 6,
  /** Bit 5. */
  singleSegmentFlag: (fhd: number) => (fhd >>> 5) & 1,
  /** Bit 3: must be 0. */
  reservedBit: (fhd: number) => (fhd >>> 3) & 1,
  /** Bit 2. */
  contentChecksumFlag: (fhd: number) => (fhd >>> 2) & 1,
  /** Bits 1-0. */
  dictionaryIdFlag: (fhd: number) => fhd & 3,
} as const;

/** RFC 8878 §3.1.1.1.4 (FCS_Field_Size by Frame_Content_Size_Flag; flag 0 means 1 byte if Single_Segment_Flag). */
const FCS_FIELD_SIZE = [0, 2, 4, 8] as const;
/** RFC 8878 §3.1.1.1.3 (DID_Field_Size by Dictionary_ID_Flag). */
const DID_FIELD_SIZE = [0, 1, 2, 4] as const;

/** RFC 8878 §3.1.1.2.1: Block_Type values. */
export const BlockType = { Raw_Block: 0, RLE_Block: 1, Compressed_Block: 2, Reserved: 3 } as const;

/** RFC 8878 §3.1.1.2.3: no block regenerates more than 128 KiB (Block_Maximum_Size is at most this). */
export const MAX_BLOCK_SIZE = 128 * 1024;

/** What the frame header says and where the frame ends. */
export interface ZstdFrameInfo {
  /** The frame's length in bytes (header, blocks and checksum, or a skippable frame's whole length). */
  length: number;
  /** A skippable frame (§3.1.2) carries no data for the decoder. */
  skippable: boolean;
  /** Frame_Content_Size when present and below 2^53; otherwise `undefined`. */
  contentSize: number | undefined;
  /** Whether the header has a Frame_Content_Size field at all. */
  hasContentSize: boolean;
  /** Window_Size (§3.1.1.1.2), or the content size for single-segment frames. */
  windowSize: number;
  /** Dictionary_ID (0 when absent). */
  dictionaryId: number;
  /** Whether a 4-byte Content_Checksum follows the last block. */
  hasChecksum: boolean;
}

function truncated(structure: string, offset: number, end: number, have: number): DiskProbeError {
  return codecError('zstd', 'frame runs past the end of the input', { structure, offset, value: have, expected: `at least ${end} bytes` }, ErrorCode.TRUNCATED);
}


/** An unsigned little-endian field of 1, 2, 4 or 8 bytes; `undefined` if it is 2^53 or more. */
function uintLE(u8: Uint8Array, at: number, size: number): number | undefined {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + u8[at + i]!;
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Reads the frame that starts at `start` in `input` (§3.1.1, or a skippable frame §3.1.2) and
 * walks its block headers to where it ends, without decompressing. Offsets in errors are
 * offsets in `input`. Throws `E_BAD_MAGIC` if no frame starts there, `E_TRUNCATED` if the
 * frame runs past the end of `input`, and `E_CORRUPT` for a reserved bit or block type, or a
 * block larger than Block_Maximum_Size.
 */
export function readZstdFrame(input: Uint8Array, start = 0): ZstdFrameInfo {
  const end = input.length;
  if (start + 4 > end) throw truncated('Magic_Number', start, start + 4, end);
  const magic = u32le(input, start + ZstdFrame.Magic_Number);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    if (start + SkippableFrame.HEADER_SIZE > end) throw truncated('SkippableFrame', start, start + SkippableFrame.HEADER_SIZE, end);
    const length = SkippableFrame.HEADER_SIZE + u32le(input, start + SkippableFrame.Frame_Size);
    if (start + length > end) throw truncated('SkippableFrame', start, start + length, end);
    return { length, skippable: true, contentSize: undefined, hasContentSize: false, windowSize: 0, dictionaryId: 0, hasChecksum: false };
  }
  if (magic !== ZSTD_MAGIC) {
    throw codecError('zstd', 'not a Zstandard frame', { structure: 'Magic_Number', offset: start, value: `0x${magic.toString(16)}`, expected: '0xfd2fb528' }, ErrorCode.BAD_MAGIC);
  }

  // §3.1.1.1 Frame_Header: descriptor, optional window descriptor, dictionary id, content size.
  const fhdAt = start + ZstdFrame.Frame_Header_Descriptor;
  if (fhdAt + 1 > end) throw truncated('Frame_Header_Descriptor', fhdAt, fhdAt + 1, end);
  const fhd = input[fhdAt]!;
  if (FrameHeaderDescriptor.reservedBit(fhd)) {
    throw codecError('zstd', 'reserved bit is set', { structure: 'Frame_Header_Descriptor', field: 'Reserved_Bit', offset: fhdAt, value: fhd, expected: 'bit 3 clear' });
  }
  const singleSegment = FrameHeaderDescriptor.singleSegmentFlag(fhd) === 1;
  const fcsFlag = FrameHeaderDescriptor.frameContentSizeFlag(fhd);
  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : FCS_FIELD_SIZE[fcsFlag]!;
  const didSize = DID_FIELD_SIZE[FrameHeaderDescriptor.dictionaryIdFlag(fhd)]!;
  const headerEnd = fhdAt + 1 + (singleSegment ? 0 : 1) + didSize + fcsSize;
  if (headerEnd > end) throw truncated('Frame_Header', start, headerEnd, end);

  let at = start + ZstdFrame.Window_Descriptor;
  let windowSize = 0;
  if (!singleSegment) {
    // §3.1.1.1.2: Window_Log = 10 + Exponent; Window_Size = Window_Base + Window_Base / 8 * Mantissa.
    const wd = input[at++]!;
    const windowBase = 2 ** (10 + (wd >>> 3));
    windowSize = windowBase + (windowBase / 8) * (wd & 7);
  }
  const dictionaryId = didSize ? uintLE(input, at, didSize)! : 0;
  at += didSize;
  let contentSize: number | undefined;
  if (fcsSize) {
    contentSize = uintLE(input, at, fcsSize);
    // §3.1.1.1.4: the 2-byte field holds the size minus 256.
    if (fcsSize === 2 && contentSize !== undefined) contentSize += 256;
    at += fcsSize;
  }
  // §3.1.1.1.2: a single-segment frame's window is its content.
  if (singleSegment) windowSize = contentSize ?? Number.MAX_SAFE_INTEGER;
  // §3.1.1.2.3: Block_Maximum_Size is the smaller of Window_Size and 128 KiB.
  const blockMaximumSize = Math.min(windowSize, MAX_BLOCK_SIZE);

  // §3.1.1.2 Blocks: a 3-byte Block_Header each (bit 0 Last_Block, bits 1-2 Block_Type, bits
  // 3-23 Block_Size); an RLE block's content is 1 byte, a raw or compressed block's Block_Size
  // bytes. Every block takes at least 3 bytes, so the walk ends within input.length / 3 steps.
  for (;;) {
    const blockAt = at;
    if (blockAt + ZstdFrame.BLOCK_HEADER_SIZE > end) throw truncated('Block_Header', blockAt, blockAt + ZstdFrame.BLOCK_HEADER_SIZE, end);
    const header = input[blockAt]! | (input[blockAt + 1]! << 8) | (input[blockAt + 2]! << 16);
    const last = header & 1;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === BlockType.Reserved) {
      throw codecError('zstd', 'reserved block type', { structure: 'Block_Header', field: 'Block_Type', offset: blockAt, value: type, expected: '0..2' });
    }
    if (size > blockMaximumSize) {
      throw codecError('zstd', 'block is larger than Block_Maximum_Size', { structure: 'Block_Header', field: 'Block_Size', offset: blockAt, value: size, expected: `0..${blockMaximumSize}` });
    }
    at = blockAt + ZstdFrame.BLOCK_HEADER_SIZE + (type === BlockType.RLE_Block ? 1 : size);
    if (at > end) throw truncated('Block_Content', blockAt, at, end);
    if (last) break;
  }
  const hasChecksum = FrameHeaderDescriptor.contentChecksumFlag(fhd) === 1;
  if (hasChecksum) {
    if (at + ZstdFrame.CONTENT_CHECKSUM_SIZE > end) throw truncated('Content_Checksum', at, at + ZstdFrame.CONTENT_CHECKSUM_SIZE, end);
    at += ZstdFrame.CONTENT_CHECKSUM_SIZE;
  }
  return { length: at - start, skippable: false, contentSize, hasContentSize: fcsSize > 0, windowSize, dictionaryId, hasChecksum };
}

/**
 * The exact length in bytes of the first frame of `input` (a Zstandard frame, or a skippable
 * frame), found by walking the frame header and the block headers (RFC 8878 §3.1.1) without
 * decompressing; bytes after it are not looked at. Throws a `DiskProbeError` (layer
 * `container`, format `zstd`) when `input` does not start with a frame (`E_BAD_MAGIC`), the
 * frame runs past its end (`E_TRUNCATED`), or a header field is invalid (`E_CORRUPT`).
 */
export function zstdFrameLength(input: Uint8Array): number {
  return readZstdFrame(input, 0).length;
}
