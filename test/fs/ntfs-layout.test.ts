/**
 * NTFS structures decoded from bytes written by hand from the documentation's worked examples
 * (runlists), MS-XCA's LZNT1 description and the update-sequence rules; the reader as a whole is
 * tested against ntfs-3g's images in ntfs.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DiskProbeError } from '../../src/index.js';
import { applyFixups, decodeRuns, filetime, lznt1, parseReparse, windowsTarget } from '../../src/fs/ntfs/layout.js';

const where = { layer: 'fs' as const, format: 'ntfs', device: 't' };
const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(DiskProbeError);
    return (e as DiskProbeError).code;
  }
};

describe('runlists', () => {
  it('decodes lengths, relative LCNs (negative too) and sparse runs', () => {
    // 0x21: 1-byte length, 2-byte offset — 0x18 clusters at 0x5634 (the documentation's example).
    expect(decodeRuns(new Uint8Array([0x21, 0x18, 0x34, 0x56, 0x00]), 0, 5, 0, 1 << 20, where)).toEqual([{ vcn: 0, lcn: 0x5634, count: 0x18 }]);
    // 0x30 at 0x60; 0x10 sparse; 8 at 0x60 - 0x10 (delta 0xF0 = -16).
    const b = new Uint8Array([0x11, 0x30, 0x60, 0x01, 0x10, 0x11, 0x08, 0xf0, 0x00]);
    expect(decodeRuns(b, 0, b.length, 0, 1 << 20, where)).toEqual([
      { vcn: 0, lcn: 0x60, count: 0x30 },
      { vcn: 0x30, lcn: -1, count: 0x10 },
      { vcn: 0x40, lcn: 0x50, count: 8 },
    ]);
    // A later extent starts at its own VCN.
    expect(decodeRuns(new Uint8Array([0x11, 0x04, 0x10, 0]), 0, 4, 100, 1000, where)).toEqual([{ vcn: 100, lcn: 0x10, count: 4 }]);
  });

  it('refuses runs outside the volume, bad headers, negative LCNs and runs cut by the attribute end', () => {
    expect(code(() => decodeRuns(new Uint8Array([0x11, 0x10, 0x7f, 0]), 0, 4, 0, 0x80, where))).toBe('E_CORRUPT');
    expect(code(() => decodeRuns(new Uint8Array([0x09, 0, 0, 0]), 0, 4, 0, 1000, where))).toBe('E_CORRUPT');
    expect(code(() => decodeRuns(new Uint8Array([0x11, 0x04, 0x10, 0x11, 0x04, 0xe0, 0]), 0, 7, 0, 1000, where))).toBe('E_CORRUPT');
    expect(code(() => decodeRuns(new Uint8Array([0x31, 0x04, 0x10]), 0, 3, 0, 1000, where))).toBe('E_CORRUPT');
    expect(code(() => decodeRuns(new Uint8Array([0x11, 0x00, 0x10, 0]), 0, 4, 0, 1000, where))).toBe('E_CORRUPT');
  });

  it('fast-check: any bytes decode to runs inside the volume or a DiskProbeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1 << 30 }), (b, clusters) => {
        try {
          for (const r of decodeRuns(b, 0, b.length, 0, clusters, where)) {
            expect(r.count).toBeGreaterThan(0);
            if (r.lcn >= 0) expect(r.lcn + r.count).toBeLessThanOrEqual(clusters);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(DiskProbeError);
        }
      }),
    );
  });
});

describe('LZNT1', () => {
  it('decodes literals and back-references, and copies uncompressed chunks', () => {
    // "abc" then a reference 3 back, 9 long (offset bits 4 at position 3): token (2 << 12) | 6.
    const src = new Uint8Array([0x05, 0xb0, 0x08, 0x61, 0x62, 0x63, 0x06, 0x20, 0x00, 0x00]);
    const dst = new Uint8Array(32);
    expect(lznt1(src, dst, 0, 32, where)).toBe(12);
    expect(new TextDecoder().decode(dst.subarray(0, 12))).toBe('abcabcabcabc');
    // An uncompressed chunk (flag bit clear): its bytes as they are.
    const raw = new Uint8Array([0x02, 0x30, 0x78, 0x79, 0x7a]);
    const out = new Uint8Array(3);
    expect(lznt1(raw, out, 0, 3, where)).toBe(3);
    expect(new TextDecoder().decode(out)).toBe('xyz');
  });

  it('a reference before the chunk start, or a chunk past the data, is E_CORRUPT', () => {
    expect(code(() => lznt1(new Uint8Array([0x03, 0xb0, 0x02, 0x61, 0x10, 0x20]), new Uint8Array(64), 0, 64, where))).toBe('E_CORRUPT');
    expect(code(() => lznt1(new Uint8Array([0xff, 0xbf, 0x00]), new Uint8Array(64), 0, 64, where))).toBe('E_CORRUPT');
  });

  it('fast-check: any bytes decode within the limit or give a DiskProbeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 9000 }), (src, limit) => {
        const dst = new Uint8Array(limit + 16);
        try {
          expect(lznt1(src, dst, 8, limit, where)).toBeLessThanOrEqual(limit);
          expect(dst.subarray(limit + 8).every((x) => x === 0)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(DiskProbeError);
        }
      }),
    );
  });
});

describe('update sequences', () => {
  const record = () => {
    const r = new Uint8Array(1024);
    r.set([0x46, 0x49, 0x4c, 0x45, 0x30, 0x00, 0x03, 0x00]); // FILE, usa at 0x30, 3 entries
    r.set([0x07, 0x00, 0xaa, 0xbb, 0xcc, 0xdd], 0x30); // USN 7; saved AA BB, CC DD
    r.set([0x07, 0x00], 510);
    r.set([0x07, 0x00], 1022);
    return r;
  };

  it('restores the saved bytes at each stride end, in a copy', () => {
    const r = record();
    const fixed = applyFixups(r, 'FILE', where);
    expect([...fixed.subarray(510, 512), ...fixed.subarray(1022, 1024)]).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
    expect([...r.subarray(510, 512)]).toEqual([7, 0]);
  });

  it('a torn stride, a wrong count, BAAD and other magics are errors naming the place', () => {
    const torn = record();
    torn[1022] = 8;
    const e = (() => {
      try {
        applyFixups(torn, 'FILE', { ...where, offset: 4096 });
      } catch (x) {
        return x as DiskProbeError;
      }
    })()!;
    expect(e.code).toBe('E_CORRUPT');
    expect(e.offset).toBe(4096 + 1022);
    const count = record();
    count[6] = 9;
    expect(code(() => applyFixups(count, 'FILE', where))).toBe('E_CORRUPT');
    const baad = record();
    baad.set([0x42, 0x41, 0x41, 0x44]);
    expect(code(() => applyFixups(baad, 'FILE', where))).toBe('E_BAD_MAGIC');
    expect(code(() => applyFixups(record(), 'INDX', where))).toBe('E_BAD_MAGIC');
  });
});

describe('reparse points', () => {
  const utf16 = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'));
  function symlink(tag: number, subst: string, print: string, flags?: number): Uint8Array {
    const header = flags === undefined ? 8 : 12;
    const s = utf16(subst);
    const p = utf16(print);
    const b = new Uint8Array(8 + header + s.length + p.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, tag, true);
    v.setUint16(4, header + s.length + p.length, true);
    v.setUint16(8, 0, true);
    v.setUint16(10, s.length, true);
    v.setUint16(12, s.length, true);
    v.setUint16(14, p.length, true);
    if (flags !== undefined) v.setUint32(16, flags, true);
    b.set(s, 8 + header);
    b.set(p, 8 + header + s.length);
    return b;
  }

  it('symlinks (relative and absolute) and junctions become paths inside the volume', () => {
    expect(parseReparse(symlink(0xa000000c, '..\\sizes\\f1', '..\\sizes\\f1', 1), where)).toMatchObject({ tagName: 'symlink', relative: true, target: '../sizes/f1' });
    expect(parseReparse(symlink(0xa000000c, '\\??\\C:\\Windows\\System32', 'C:\\Windows\\System32', 0), where)).toMatchObject({ relative: false, target: '/Windows/System32' });
    expect(parseReparse(symlink(0xa0000003, '\\??\\C:\\Users', 'C:\\Users'), where)).toMatchObject({ tagName: 'mount-point', target: '/Users' });
    expect(parseReparse(symlink(0xa0000003, '\\??\\Volume{0b1e}\\', ''), where).target).toBe('\\??\\Volume{0b1e}\\');
    expect(windowsTarget('C:\\', false)).toBe('/');
  });

  it('names lying outside the data are E_CORRUPT; unknown tags are named by number', () => {
    const b = symlink(0xa000000c, 'a', 'a', 1);
    new DataView(b.buffer).setUint16(10, 200, true);
    expect(code(() => parseReparse(b, where))).toBe('E_CORRUPT');
    expect(parseReparse(new Uint8Array([0x99, 0, 0, 0x80, 0, 0, 0, 0]), where).tagName).toBe('0x80000099');
  });
});

describe('FILETIME', () => {
  it('fast-check: seconds and nanoseconds equal exact 64-bit division, across the whole range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (ticks) => {
        const v = new DataView(new ArrayBuffer(8));
        v.setBigUint64(0, ticks, true);
        const sec = ticks / 10_000_000n;
        expect(filetime(v, 0)).toEqual({ sec: Number(sec - 11_644_473_600n), nsec: Number(ticks - sec * 10_000_000n) * 100 });
      }),
      { numRuns: 2000 },
    );
    const v = new DataView(new ArrayBuffer(8));
    v.setBigUint64(0, 133_485_408_001_234_567n, true); // 2024-01-01T00:00:00.1234567Z
    expect(filetime(v, 0)).toEqual({ sec: 1_704_067_200, nsec: 123_456_700 });
  });
});
