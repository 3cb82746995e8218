/**
 * Registry hives: a full export of a ~50 MiB hive (diskprobe's .reg export, every key and value
 * decoded) and 100,000 random key lookups, beside hivexml (hivex) and regfexport (libregf)
 * exporting the same hive, in the same run. The hive is written here from the regf layout: 1,000
 * keys of 50 subkeys each (index roots over hash leaves), every subkey with eight values
 * (strings, a DWORD, a QWORD, binary data of 64 to 1,600 bytes) — shaped like a SOFTWARE hive.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportReg, openHive } from '../src/index.js';

import { have, median } from './util.js';

const TOP = 1000;
const SUB = 50;

/** Writes a hive of TOP × SUB keys (TOP a parameter: fewer for --quick) with values: one hive bin, cells appended in order. */
function makeHive(path: string, TOP: number): void {
  const cap = 80 * 1024 * 1024;
  const bin = Buffer.alloc(cap);
  let end = 32; // after the hbin header
  const cell = (size: number): number => {
    const len = Math.ceil((size + 4) / 8) * 8;
    const at = end;
    bin.writeInt32LE(-len, at);
    end += len;
    return at;
  };
  const nk = (name: string, parent: number): number => {
    const at = cell(76 + name.length);
    const d = at + 4;
    bin.write('nk', d, 'latin1');
    bin.writeUInt16LE(0x20, d + 2); // KEY_COMP_NAME
    bin.writeBigUInt64LE(133485408000000000n, d + 4);
    bin.writeUInt32LE(parent, d + 16);
    for (const o of [28, 32, 40, 44, 48]) bin.writeUInt32LE(0xffffffff, d + o);
    bin.writeUInt16LE(name.length, d + 72);
    bin.write(name, d + 76, 'latin1');
    return at;
  };
  const hash = (name: string) => {
    let h = 0;
    for (const c of name.toUpperCase()) h = (Math.imul(h, 37) + c.charCodeAt(0)) >>> 0;
    return h;
  };
  /** Subkeys: hash leaves of at most 500, under an index root when more than one. */
  const list = (parent: number, kids: { at: number; name: string }[]): void => {
    const leaves: number[] = [];
    for (let i = 0; i < kids.length; i += 500) {
      const part = kids.slice(i, i + 500);
      const at = cell(4 + part.length * 8);
      bin.write('lh', at + 4, 'latin1');
      bin.writeUInt16LE(part.length, at + 6);
      part.forEach((k, j) => {
        bin.writeUInt32LE(k.at, at + 8 + j * 8);
        bin.writeUInt32LE(hash(k.name), at + 12 + j * 8);
      });
      leaves.push(at);
    }
    let top = leaves[0]!;
    if (leaves.length > 1) {
      top = cell(4 + leaves.length * 4);
      bin.write('ri', top + 4, 'latin1');
      bin.writeUInt16LE(leaves.length, top + 6);
      leaves.forEach((l, j) => bin.writeUInt32LE(l, top + 8 + j * 4));
    }
    bin.writeUInt32LE(kids.length, parent + 4 + 20);
    bin.writeUInt32LE(top, parent + 4 + 28);
  };
  const value = (name: string, type: number, data: Buffer): number => {
    const at = cell(20 + name.length);
    const d = at + 4;
    bin.write('vk', d, 'latin1');
    bin.writeUInt16LE(name.length, d + 2);
    if (data.length <= 4) {
      bin.writeUInt32LE((data.length | 0x80000000) >>> 0, d + 4);
      data.copy(bin, d + 8);
    } else {
      const c = cell(data.length);
      data.copy(bin, c + 4);
      bin.writeUInt32LE(data.length, d + 4);
      bin.writeUInt32LE(c, d + 8);
    }
    bin.writeUInt32LE(type, d + 12);
    bin.writeUInt16LE(1, d + 16); // ASCII name
    bin.write(name, d + 20, 'latin1');
    return at;
  };
  const root = nk('ROOT', 0xffffffff);
  bin.writeUInt16LE(0x2c, root + 4 + 2); // HIVE_ENTRY | NO_DELETE | COMP_NAME
  const tops: { at: number; name: string }[] = [];
  for (let t = 0; t < TOP; t++) {
    const name = `Key-${String(t).padStart(5, '0')}`;
    const k = nk(name, root);
    const subs: { at: number; name: string }[] = [];
    for (let s = 0; s < SUB; s++) {
      const sn = `Sub-${String(s).padStart(3, '0')}`;
      const sk = nk(sn, k);
      const vals = [
        value('DisplayName', 1, Buffer.from(`Component ${t}.${s} of a product\0`, 'utf16le')),
        value('InstallLocation', 2, Buffer.from(`%ProgramFiles%\\Vendor\\Product ${t}\\Part ${s}\0`, 'utf16le')),
        value('Version', 4, Buffer.from(Uint32Array.of(t * 100 + s).buffer)),
        value('Installed', 11, Buffer.from(BigUint64Array.of(BigInt(t) * 1_000_000n + BigInt(s)).buffer)),
        value('Blob', 3, Buffer.alloc(64 + ((t * 31 + s * 17) % 1537), (t + s) & 0xff)),
        value('Tags', 7, Buffer.from(`alpha\0beta-${s}\0gamma\0\0`, 'utf16le')),
        value('', 1, Buffer.from('default\0', 'utf16le')),
        value('Flags', 4, Buffer.from(Uint32Array.of(s & 7).buffer)),
      ];
      const vl = cell(vals.length * 4);
      vals.forEach((v, i) => bin.writeUInt32LE(v, vl + 4 + i * 4));
      bin.writeUInt32LE(vals.length, sk + 4 + 36);
      bin.writeUInt32LE(vl, sk + 4 + 40);
      subs.push({ at: sk, name: sn });
    }
    list(k, subs);
    tops.push({ at: k, name });
  }
  list(root, tops);
  // The rest of the bin is one free cell.
  const size = Math.ceil((end + 8) / 4096) * 4096;
  bin.writeInt32LE(size - end, end);
  bin.write('hbin', 0, 'latin1');
  bin.writeUInt32LE(0, 4);
  bin.writeUInt32LE(size, 8);
  const base = Buffer.alloc(4096);
  base.write('regf', 0, 'latin1');
  base.writeUInt32LE(1, 4);
  base.writeUInt32LE(1, 8);
  base.writeUInt32LE(1, 20);
  base.writeUInt32LE(5, 24);
  base.writeUInt32LE(1, 32);
  base.writeUInt32LE(root, 36);
  base.writeUInt32LE(size, 40);
  base.writeUInt32LE(1, 44);
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= base.readUInt32LE(i);
  base.writeUInt32LE(x >>> 0, 508);
  writeFileSync(path, Buffer.concat([base, bin.subarray(0, size)]));
}

/** Median seconds of `runs` runs of a command; undefined if it fails, 'timeout' past `limit` seconds. */
function timeCommand(cmd: string, args: string[], runs: number, limit = 120): number | 'timeout' | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: limit * 1000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return 'timeout';
    if (r.status !== 0) return undefined;
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

/** The same random paths for diskprobe and hivexsh: two levels, the second in lower case. */
function randomPaths(n: number, TOP: number): string[] {
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`Key-${String(Math.floor(rand() * TOP)).padStart(5, '0')}\\sub-${String(Math.floor(rand() * SUB)).padStart(3, '0')}`);
  return out;
}

export async function benchRegistry(work: string, runs: number, quick: boolean): Promise<string[]> {
  const top = quick ? 100 : TOP;
  const path = join(work, `hive-${top}x${SUB}.regf`);
  if (!existsSync(path)) makeHive(path, top);
  const bytes = new Uint8Array(readFileSync(path));
  const mib = (bytes.length / 2 ** 20).toFixed(1);
  const exports: number[] = [];
  let out = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const hive = await openHive(bytes, { label: 'bench' });
    out = 0;
    exportReg(hive.root(), (s) => (out += s.length));
    exports.push((performance.now() - t) / 1000);
  }
  const paths = randomPaths(100_000, top);
  const lookups: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const hive = await openHive(bytes, { label: 'bench' });
    for (const p of paths) if (!hive.key(p)) throw new Error(`lookup of ${p} failed`);
    lookups.push((performance.now() - t) / 1000);
  }
  const script = join(work, 'hivexsh-lookups.txt');
  writeFileSync(script, paths.map((p) => `cd \\${p}\n`).join(''));
  const hivexml = have('hivexml') ? timeCommand('hivexml', [path], runs) : undefined;
  // regfexport is very much slower on this hive (minutes): one run, stopped after two minutes; skipped in --quick.
  const regfexport = have('regfexport') && !quick ? timeCommand('regfexport', [path], 1, 120) : undefined;
  const hivexsh = have('hivexsh') ? timeCommand('hivexsh', ['-f', script, path], runs) : undefined;
  const cell = (s: number | 'timeout' | undefined) => (s === undefined ? 'n/a' : s === 'timeout' ? 'over 120 s (stopped)' : `${s.toFixed(2)} s`);
  return [
    `| export a ${mib} MiB hive (${top * SUB + top + 1} keys, ${top * SUB * 8} values; ${(out / 2 ** 20).toFixed(0)} M characters of .reg text) | ${median(exports).toFixed(2)} s | hivexml ${cell(hivexml)}; regfexport ${cell(regfexport)} |`,
    `| open it and look up 100,000 random keys (two levels, names in another case) | ${median(lookups).toFixed(2)} s | hivexsh \`cd\` ×100,000 ${cell(hivexsh)} |`,
  ];
}
