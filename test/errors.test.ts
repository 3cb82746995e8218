import { describe, expect, it } from 'vitest';
import { bounded, DiskProbeError, exact, isDiskProbeError, u64 } from '../src/index.js';

describe('DiskProbeError', () => {
  it('says where: format, structure, field, offset, value, expected range and device', () => {
    const e = new DiskProbeError('E_CORRUPT', 'value out of range', {
      layer: 'container',
      format: 'qcow2',
      device: 'disk.qcow2',
      structure: 'QCowHeader',
      field: 'cluster_bits',
      offset: 0x14,
      value: 31,
      expected: '9..21',
    });
    expect(e.message).toBe('qcow2: QCowHeader.cluster_bits at 0x14 = 31 (expected 9..21): value out of range in disk.qcow2');
    expect(e.code).toBe('E_CORRUPT');
    expect(isDiskProbeError(e, 'E_CORRUPT')).toBe(true);
    expect(isDiskProbeError(e, 'E_IO')).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ code: 'E_CORRUPT', offset: 0x14, structure: 'QCowHeader' });
  });
  it('keeps its cause', () => {
    const cause = new Error('inner');
    expect(new DiskProbeError('E_IO', 'x', { layer: 'device', cause }).cause).toBe(cause);
  });
});

describe('bounded', () => {
  const where = { layer: 'container' as const, structure: 'S', field: 'f', offset: 8 };
  it('passes integers inside the inclusive range', () => {
    expect(bounded(9, 9, 21, where)).toBe(9);
    expect(bounded(21, 9, 21, where)).toBe(21);
  });
  it('rejects values outside it, fractions and NaN', () => {
    for (const v of [8, 22, 9.5, Number.NaN, Infinity]) {
      expect(() => bounded(v, 9, 21, where)).toThrow(DiskProbeError);
    }
    expect(() => bounded(1e9, 0, 10, where, 'E_LIMIT')).toThrow(expect.objectContaining({ code: 'E_LIMIT', offset: 8 }));
  });
});

describe('u64 and exact', () => {
  const where = { layer: 'container' as const, field: 'size', offset: 24 };
  it('reads 64-bit fields exactly below 2^53, both byte orders', () => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, 2n ** 53n - 1n, false);
    expect(u64(view, 0, false, where)).toBe(2 ** 53 - 1);
    view.setBigUint64(0, 0x0102030405n, true);
    expect(u64(view, 0, true, where)).toBe(0x0102030405);
  });
  it('refuses 2^53 and above with E_LIMIT', () => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, 2n ** 53n, false);
    expect(() => u64(view, 0, false, where)).toThrow(/does not fit/);
    view.setBigUint64(0, 2n ** 64n - 1n, true);
    expect(() => u64(view, 0, true, where)).toThrow(DiskProbeError);
  });
  it('checks derived sizes', () => {
    expect(exact(512 * 1024, where)).toBe(512 * 1024);
    expect(() => exact((2 ** 53 - 1) * 512, where)).toThrow(DiskProbeError);
  });
});
