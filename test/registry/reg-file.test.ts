/**
 * .reg export details the hivexregedit comparison (test/cli) cannot show, because hivexregedit
 * does not wrap: hex data wrapped as regedit wraps it (continuations of 25 bytes, no line past
 * 80 columns) and read back to the same bytes; names and strings quoted with their escapes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { regLine, type RegValue } from '../../src/index.js';

const value = (name: string, type: number, bytes: Uint8Array, data: RegValue['data'] = bytes): RegValue => ({ name, type, typeName: '', bytes, data });

/** Joins continuation lines and reads the hex back. */
function unwrap(line: string): { head: string; bytes: number[] } {
  const joined = line.replace(/\\\r\n {2}/g, '');
  const m = /^(.*?=hex(?:\([0-9a-f]+\))?:)(.*)$/.exec(joined)!;
  return { head: m[1]!, bytes: m[2] === '' ? [] : m[2]!.split(',').map((h) => Number.parseInt(h, 16)) };
}

describe('regLine', () => {
  it('wraps hex at regedit\'s column and reads back to the same bytes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 600 }), fc.constantFrom(0, 3, 7, 8, 0x12345), (name, bytes, type) => {
        const line = regLine(value(name, type, bytes));
        const lines = line.split('\r\n');
        for (const l of lines.slice(1)) expect(l.startsWith('  ')).toBe(true);
        // Continuation lines hold 25 bytes each, all but the last.
        for (const l of lines.slice(1, -1)) expect(l).toMatch(/^ {2}(?:[0-9a-f]{2},){25}\\$/);
        const head = name.length + 20;
        if (head < 70) for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
        const r = unwrap(line);
        expect(r.bytes).toEqual([...bytes]);
        expect(r.head.endsWith(type === 3 ? '=hex:' : `=hex(${type.toString(16)}):`)).toBe(true);
      }),
    );
  });

  it('strings and DWORDs as text; the default value as @; quotes and backslashes escaped', () => {
    const sz = new Uint8Array(Buffer.from('C:\\"x"\0', 'utf16le'));
    expect(regLine(value('', 1, sz, 'C:\\"x"'))).toBe('@="C:\\\\\\"x\\""');
    expect(regLine(value('A\\B', 4, Uint8Array.of(0x78, 0x56, 0x34, 0x12), 0x12345678))).toBe('"A\\\\B"=dword:12345678');
    // A REG_SZ whose bytes are not exactly the string and one NUL is kept as bytes.
    const noNul = new Uint8Array(Buffer.from('ab', 'utf16le'));
    expect(regLine(value('s', 1, noNul, 'ab'))).toBe('"s"=hex(1):61,00,62,00');
    expect(regLine(value('d', 4, Uint8Array.of(1, 2), Uint8Array.of(1, 2)))).toBe('"d"=hex(4):01,02');
  });
});
