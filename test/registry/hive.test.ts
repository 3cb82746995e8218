/**
 * The regf reader against hives built with hivex and a writer of the specification
 * (fixtures/registry.sh), with hivex's and libregf's readings as the facts: every key's
 * subkeys, values, types, data, class names and times; the current control set; a BCD store's
 * objects and elements as written; dirty hives replayed from new- and old-format logs to the
 * state hivex reads in the hive the changes were made to; hostile cells, lists and logs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DiskProbeError, marvin32, openHive, readBcd, resolveControlSet, type Hive, type HiveLogs, type RegKey } from '../../src/index.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = join(FIXTURES, 'registry');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface KeyFact {
  class?: string;
  lastWritten: string;
  subkeys: number;
  values: Record<string, { type: number; size: number; data?: string; sha256?: string }>;
}
interface HiveFacts {
  keys: Record<string, KeyFact>;
  summaries?: Record<string, { count: number; first: string; last: string; namesSha256: string }>;
  dirty?: { expected: { keys: Record<string, KeyFact>; hiveBinsSha256: string; hiveBinsDataSize: number } };
  bcd?: { objects: { object: string; type: string; elements: Record<string, Record<string, unknown> & { meaning: string; value?: unknown }> }[] };
}
const facts = (n: string) => JSON.parse(readFileSync(join(DIR, `${n}.facts.json`), 'utf8')) as HiveFacts;
const file = (n: string) => new Uint8Array(readFileSync(join(DIR, n)));

function logsOf(n: string): HiveLogs {
  const logs: HiveLogs = {};
  for (const [k, ext] of [
    ['log', 'LOG'],
    ['log1', 'LOG1'],
    ['log2', 'LOG2'],
  ] as const) {
    if (existsSync(join(DIR, `${n}.hive.${ext}`))) logs[k] = file(`${n}.hive.${ext}`);
  }
  return logs;
}
const open = (n: string) => openHive(file(`${n}.hive`), { logs: logsOf(n), label: n });

/** FILETIME text as the facts write it: 2024-01-01T00:00:00.1234567Z. */
function timeText(t: { sec: number; nsec: number }): string {
  return `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec / 100).padStart(7, '0')}Z`;
}

function checkKeys(hive: Hive, keys: Record<string, KeyFact>): void {
  for (const [path, k] of Object.entries(keys)) {
    const key = hive.key(path);
    expect(key, path).toBeDefined();
    expect(key!.subkeys().length, path).toBe(k.subkeys);
    expect(timeText(key!.lastWritten), path).toBe(k.lastWritten);
    expect(key!.className, path).toBe(k.class);
    const values = key!.values();
    expect(values.map((v) => v.name).sort(), path).toEqual(Object.keys(k.values).sort());
    for (const [name, v] of Object.entries(k.values)) {
      const got = key!.value(name)!;
      expect(got.type, `${path} ${name}`).toBe(v.type);
      expect(got.bytes.length, `${path} ${name}`).toBe(v.size);
      if (v.data !== undefined) expect(hex(got.bytes), `${path} ${name}`).toBe(v.data);
      else expect(sha256(got.bytes), `${path} ${name}`).toBe(v.sha256);
    }
  }
}

describe('regf: keys, values and data as hivex and libregf read them', () => {
  for (const n of ['values', 'subkeys', 'system', 'bcd', 'clean-with-log']) {
    it(`${n}: every key's subkeys, values, types, data, class and time`, async () => {
      const hive = await open(n);
      expect(hive.dirty).toBe(false);
      expect(hive.replay).toBeUndefined();
      checkKeys(hive, facts(n).keys);
    });
  }

  it('values: strings, lists and numbers decoded by type; names compared without regard to case', async () => {
    const hive = await open('values');
    const t = hive.key('\\types')!;
    for (const v of t.values()) {
      if (v.type === 4 && v.bytes.length === 4) expect(v.data).toBe(new DataView(v.bytes.buffer, v.bytes.byteOffset).getUint32(0, true));
      if (v.type === 11 && v.bytes.length === 8) expect(v.data).toBe(new DataView(v.bytes.buffer, v.bytes.byteOffset).getBigUint64(0, true));
      if (v.type === 1) expect(typeof v.data).toBe('string');
      if (v.type === 7) expect(Array.isArray(v.data)).toBe(true);
      expect(t.value(v.name.toUpperCase())?.name).toBe(v.name);
    }
  });

  it('subkeys: 5,000 keys under an index root, found by name in any case', async () => {
    const hive = await open('subkeys');
    const s = facts('subkeys').summaries!['\\Big']!;
    const big = hive.key('Big')!;
    const names = big.subkeys().map((k) => k.name);
    expect(names.length).toBe(s.count);
    expect([names[0], names.at(-1)]).toEqual([s.first, s.last]);
    expect(sha256(new TextEncoder().encode([...names].sort().join('\n')))).toBe(s.namesSha256);
    expect(big.subkey(s.last.toLowerCase())?.name).toBe(s.last);
    expect(hive.key(`big/${s.first.toUpperCase()}`)?.path).toBe(`Big\\${s.first}`);
    expect(big.subkey('Sub-99999')).toBeUndefined();
    // Every one of them, through the name index the first lookup builds.
    for (const n of names) expect(big.subkey(n.toLowerCase())?.name).toBe(n);
  });

  it('checkHashes: hash leaves as Windows hashes names give no finding; a wrong hash is a regf.hash warning', async () => {
    const walk = (k: RegKey): void => k.subkeys().forEach(walk);
    for (const n of ['subkeys', 'system', 'values']) {
      const hive = await openHive(file(`${n}.hive`), { label: n, checkHashes: true });
      walk(hive.root());
      expect(hive.findings.filter((f) => f.code === 'regf.hash'), n).toEqual([]);
    }
    // The root of system.hive lists its subkeys in a hash leaf (hivex writes lh); break its first hash.
    const bytes = Buffer.from(file('system.hive'));
    const data = bytes.subarray(4096);
    const list = data.readUInt32LE(bytes.readUInt32LE(36) + 4 + 28); // the root cell's nk, its subkey list
    expect(data.toString('latin1', list + 4, list + 6)).toBe('lh');
    data.writeUInt32LE((data.readUInt32LE(list + 12) ^ 1) >>> 0, list + 12);
    const hive = await openHive(bytes, { checkHashes: true });
    const first = hive.root().subkeys()[0]!.name;
    expect(hive.findings.filter((f) => f.code === 'regf.hash')).toEqual([expect.objectContaining({ severity: 'warning', offset: 4096 + list + 12, message: expect.stringContaining(JSON.stringify(first)) })]);
    // Without the option the hash is not looked at, and the key is still found by name.
    const plain = await openHive(bytes);
    expect(plain.key(first)?.name).toBe(first);
    expect(plain.findings.filter((f) => f.code === 'regf.hash')).toEqual([]);
  });

  it('system: the control set Select\\Current names, not another', async () => {
    const hive = await open('system');
    const cs = resolveControlSet(hive);
    const k = facts('system').keys;
    expect(cs.path).toBe(`ControlSet00${(k['\\Select']!.values.Current!.data ?? '').slice(0, 2) === '01' ? 1 : 2}`);
    const name = cs.key.subkey('Control')?.subkey('ComputerName')?.subkey('ComputerName')?.value('ComputerName')?.bytes;
    expect(hex(name!)).toBe(k[`\\${cs.path}\\Control\\ComputerName\\ComputerName`]!.values.ComputerName!.data);
    expect(resolveControlSet(hive, 'LastKnownGood').path).toBe('ControlSet002');
  });
});

describe('BCD', () => {
  it('every object and element as written: types, strings, object lists, integers, booleans, partitions', async () => {
    const store = readBcd(await open('bcd'));
    const want = facts('bcd').bcd!.objects;
    expect(store.objects.length).toBe(want.length);
    for (const o of want) {
      const got = store.objects.find((x) => x.id === o.object.toLowerCase())!;
      expect(got, o.object).toBeDefined();
      expect(got.type, o.object).toBe(Number(o.type));
      for (const [type, e] of Object.entries(o.elements)) {
        const el = got.element(type)!;
        expect(el, `${o.object} ${type}`).toBeDefined();
        expect(el.name, `${o.object} ${type}`).toBe(e.meaning);
        if (e.kind === 'partition') {
          const d = el.value as unknown as Record<string, unknown>;
          expect(d.partitionStyle).toBe(e.partitionStyle);
          if (e.partitionStyle === 'gpt') expect([d.diskGuid, d.partitionGuid]).toEqual([e.diskGuid, e.partitionGuid]);
          else expect([`0x${(d.mbrSignature as number).toString(16).padStart(8, '0')}`, d.partitionOffset]).toEqual([e.mbrSignature, e.partitionOffset]);
        } else if (Array.isArray(e.value)) expect(el.value).toEqual((e.value as unknown[]).map((x) => (typeof x === 'string' ? x.toLowerCase() : x)));
        else if (typeof e.value === 'string' && /^\{/.test(e.value)) expect(el.value).toBe(e.value.toLowerCase());
        else if (e.value !== undefined) expect(el.value, `${o.object} ${type}`).toEqual(e.value);
      }
    }
    expect(store.bootmgr?.alias).toBe('bootmgr');
    const def = want[0]!.elements['0x23000003']!.value as string;
    expect(store.defaultEntry?.id).toBe(def.toLowerCase());
    expect(store.displayOrder.map((o) => o.id)).toEqual((want[0]!.elements['0x24000001']!.value as string[]).map((g) => g.toLowerCase()));
  });
});

describe('transaction logs', () => {
  for (const [n, format, logs] of [
    ['dirty-new', 'new', ['LOG1']],
    ['dirty-new-split', 'new', ['LOG2', 'LOG1']],
    ['dirty-old', 'old', ['LOG']],
  ] as const) {
    it(`${n}: replayed from ${logs.join(' and ')} (${format} format) to the state the changes made`, async () => {
      const f = facts(n);
      const primary = file(`${n}.hive`);
      const before = sha256(primary);
      const hive = await open(n);
      expect(sha256(primary)).toBe(before); // the input is never written
      expect(hive.dirty).toBe(true);
      expect(hive.replay?.format).toBe(format);
      expect(hive.replay?.logs).toEqual(logs);
      expect(hive.data.length).toBe(f.dirty!.expected.hiveBinsDataSize);
      expect(sha256(hive.data)).toBe(f.dirty!.expected.hiveBinsSha256);
      checkKeys(hive, f.dirty!.expected.keys);
      // Without the logs: the stale primary, said to be so.
      const alone = await openHive(primary, { label: n });
      expect(alone.replay).toBeUndefined();
      expect(alone.findings.map((x) => x.code)).toContain('regf.dirty');
    });
  }

  it('dirty-stale: a hive marked dirty whose log entries are all older applies none; a clean hive ignores its log', async () => {
    const stale = await open('dirty-stale');
    expect([stale.dirty, stale.replay]).toEqual([true, undefined]);
    checkKeys(stale, facts('dirty-stale').dirty!.expected.keys);
    const clean = await open('clean-with-log');
    expect([clean.dirty, clean.replay]).toEqual([false, undefined]);
  });

  it('a log entry with a bad hash, or a page past the hive, stops replay before it', async () => {
    const log = file('dirty-new.hive.LOG1');
    // The second entry starts after the first; damage one byte of its page data.
    const v = new DataView(log.buffer, log.byteOffset);
    const second = 512 + v.getUint32(512 + 4, true);
    const bad = log.slice();
    bad[second + 40 + v.getUint32(second + 20, true) * 8 + 100]! ^= 0xff;
    const hive = await openHive(file('dirty-new.hive'), { logs: { log1: bad } });
    expect(hive.replay?.sequences).toEqual([v.getUint32(512 + 12, true)]);
    expect(hive.findings.map((f) => f.code)).toContain('regf.log-entry');
    const past = log.slice();
    new DataView(past.buffer).setUint32(512 + 40, 0x7fff0000, true); // the first page's offset
    const none = await openHive(file('dirty-new.hive'), { logs: { log1: past } });
    expect(none.replay).toBeUndefined();
    expect(none.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['regf.log-entry', 'regf.dirty']));
  });

  it("Marvin32 gives .NET's published test vectors", () => {
    // (seed, data, 64-bit result) from the .NET runtime's Marvin tests; result = high << 32 | low.
    const seed = 0x004fb61a001bdbccn;
    const cases: [string, bigint][] = [
      ['', 0x30ed35c100cd3c7dn],
      ['af', 0x48e73fc77d75ddc1n],
      ['e70f', 0xb5f6e1fc485dbff8n],
      ['37f495', 0xf0b07c789b8cf7e8n],
      ['8642dc59', 0x7008f2e87e9cf556n],
      ['153fb79826', 0xe6c08c6da2afa997n],
      ['0932e6246c47', 0x6f04bf1a5ea24060n],
      ['ab427ea8d10fc7', 0xe11847e4f0678c41n],
    ];
    for (const [data, want] of cases) {
      const [lo, hi] = marvin32(new Uint8Array(Buffer.from(data, 'hex')), Number(seed & 0xffffffffn), Number(seed >> 32n));
      expect((BigInt(hi) << 32n) | BigInt(lo), data).toBe(want);
    }
  });
});

describe('hostile hives', () => {
  const base = () => file('system.hive');
  const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const walk = (k: RegKey, seen = new Set<number>(), depth = 0): number => {
    if (seen.has(k.cell) || depth > 64) return 0;
    seen.add(k.cell);
    let n = 1;
    for (const v of k.values()) void v.data;
    for (const s of k.subkeys()) n += walk(s, seen, depth + 1);
    return n;
  };
  const outcome = async (b: Uint8Array, logs?: HiveLogs): Promise<string> => {
    const t = performance.now();
    try {
      walk((await openHive(b, logs ? { logs } : {})).root());
      return 'ok';
    } catch (e) {
      expect(e).toBeInstanceOf(DiskProbeError);
      return (e as DiskProbeError).code;
    } finally {
      expect(performance.now() - t).toBeLessThan(100);
    }
  };
  /** The hive-bins offset of the key node at `path`. */
  const cellOf = async (b: Uint8Array, path: string) => (await openHive(b)).key(path)!.cell;

  it('cells with a positive (free), huge or misaligned size, and a wrong signature, are E_CORRUPT', async () => {
    const cell = await cellOf(base(), 'Select');
    for (const size of [0x10, -0x7ffffff8, -12, 0]) {
      const b = base();
      le(b).setInt32(4096 + cell, size, true);
      expect(await outcome(b), String(size)).toBe('E_CORRUPT');
    }
    const b = base();
    b[4096 + cell + 4] = 0x78; // "xk"
    expect(await outcome(b)).toBe('E_CORRUPT');
  });

  it('an index root pointing at itself, value counts in the millions, and big data past the hive are E_CORRUPT', async () => {
    const sub = file('subkeys.hive');
    const hive = await openHive(sub);
    const big = hive.key('Big')!;
    const nk = 4096 + big.cell + 4;
    const list = le(sub).getUint32(nk + 28, true);
    const loop = sub.slice();
    le(loop).setUint32(4096 + list + 4 + 4, list, true); // the ri's first leaf: the ri itself
    expect(await outcome(loop)).toBe('E_CORRUPT');
    const many = base();
    const sel = 4096 + (await cellOf(many, 'Select')) + 4;
    le(many).setUint32(sel + 36, 5_000_000, true);
    expect(await outcome(many)).toBe('E_CORRUPT');
    const values = file('values.hive');
    const vh = await openHive(values);
    const types = vh.key('Types')!;
    const cells = vh.valueCells(4096 + types.cell + 4 - 4096, 'Types');
    const bigValue = cells.find((c) => vh.value(c).name === 'Bin100K')!;
    const vk = 4096 + bigValue + 4;
    const db = le(values).getUint32(vk + 8, true);
    const segList = le(values).getUint32(4096 + db + 4 + 4, true);
    le(values).setUint32(4096 + segList + 4, 0x7ffffff8, true); // the first segment, far past the hive
    expect(await outcome(values)).toBe('E_CORRUPT');
  });

  it('fast-check: bytes of the base block and hive bins changed at random end in values or DiskProbeErrors, within 100 ms', async () => {
    const b = base();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(b.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }), async (flips) => {
        const m = b.slice();
        for (const [at, value] of flips) m[at < 4096 ? at % 512 : at] = value;
        await outcome(m);
      }),
      { numRuns: 300 },
    );
  });

  it('fast-check: logs changed at random never break replay: values or DiskProbeErrors, within 100 ms', async () => {
    const log = file('dirty-new.hive.LOG1');
    const primary = file('dirty-new.hive');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(log.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (flips) => {
        const m = log.slice();
        for (const [at, value] of flips) m[at % 2048] = value;
        await outcome(primary, { log1: m });
      }),
      { numRuns: 150 },
    );
  });
});
