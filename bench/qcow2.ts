/**
 * qcow2 read throughput beside `qemu-img bench`, on 1 GiB images: one of incompressible data,
 * one compressed with zlib, one with zstd. Both tools read the whole image sequentially in
 * 64 KiB requests, at queue depth 1 and at qemu-img bench's default depth of 64 (diskprobe keeps
 * that many reads in flight). Images are made once with qemu-img and kept in bench/.work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, openSync, writeSync, closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Codecs } from '../src/codec/types.js';
import { openFile, nodeCodecs } from '../src/node/index.js';
import { openDisk, type Disk } from '../src/index.js';
import { browserCodecs } from '../src/codec/index.js';
import { have, median } from './util.js';

const REQUEST = 64 * 1024;

/**
 * Raw data that compresses like a real system disk: the machine's own binaries and libraries,
 * repeated, with every 4 KiB block's first bytes made unique so no two clusters are equal.
 */
function makeCompressible(path: string, size: number): void {
  if (existsSync(path) && statSync(path).size === size) return;
  const sources: Uint8Array[] = [];
  let total = 0;
  for (const dir of ['/usr/bin', '/usr/lib/x86_64-linux-gnu']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (total > 64 << 20) break;
      try {
        const p = join(dir, name);
        const st = statSync(p);
        if (!st.isFile() || st.size > 8 << 20) continue;
        const b = readFileSync(p);
        sources.push(b);
        total += b.length;
      } catch {
        // unreadable: skip
      }
    }
  }
  const pool = new Uint8Array(total);
  let at = 0;
  for (const s of sources) {
    pool.set(s, at);
    at += s.length;
  }
  const fd = openSync(path, 'w');
  const chunk = new Uint8Array(1 << 20);
  const view = new DataView(chunk.buffer);
  for (let off = 0; off < size; off += chunk.length) {
    const from = (off * 7) % Math.max(1, pool.length - chunk.length);
    chunk.set(pool.subarray(from, from + chunk.length));
    for (let i = 0; i < chunk.length; i += 4096) view.setFloat64(i, off + i);
    writeSync(fd, chunk, 0, chunk.length, off);
  }
  closeSync(fd);
}

function makeRandom(path: string, size: number): void {
  if (existsSync(path) && statSync(path).size === size) return;
  execFileSync('sh', ['-c', `head -c ${size} /dev/urandom > '${path}'`]);
}

function makeQcow2(raw: string, out: string, args: string[]): void {
  if (existsSync(out)) return;
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', ...args, raw, out], { stdio: 'inherit' });
}

/**
 * MB/s reading the whole disk in 64 KiB requests with `depth` of them in flight, each into a
 * buffer of its own that it reuses, as qemu-img bench does (`readInto`).
 */
export async function readAll(disk: Disk, depth: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    const buffer = new Uint8Array(REQUEST);
    while (next < disk.size) {
      const at = next;
      next += REQUEST;
      const n = Math.min(REQUEST, disk.size - at);
      await disk.readInto!(at, n === REQUEST ? buffer : buffer.subarray(0, n));
      bytes += n;
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

/** MB/s of `qemu-img bench` reading the same requests, from its own timing output. */
export function qemuBench(path: string, size: number, depth: number, format = 'qcow2'): number | undefined {
  const count = Math.floor(size / REQUEST);
  const r = spawnSync('qemu-img', ['bench', '-c', String(count), '-d', String(depth), '-s', String(REQUEST), '-S', String(REQUEST), '-f', format, path], { encoding: 'utf8' });
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout ?? '');
  return m ? (count * REQUEST) / 1e6 / Number(m[1]) : undefined;
}

/** What one pass of bench/qcow2-child.ts reports. */
interface ChildPass {
  rate: number;
  peakGrowth: number;
  endGrowth: number;
  /** Peak growth after the first 64 MiB were read, over the resident set at that point. */
  afterWarm: number | null;
}

/** One read pass in a fresh Node process (tsx), so that resident memory starts cold. */
function childPass(path: string, mode: 'node' | 'node-read' | 'browser' | 'alloc', depth: number, limit?: number): ChildPass | undefined {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'qcow2-child.ts'), path, mode, String(depth)];
  if (limit !== undefined) args.push(String(limit));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChildPass;
  } catch {
    return undefined;
  }
}

/**
 * Resident memory of one read pass from a cold start, in a process of its own: the whole image,
 * and its first 64 MiB (what a process pays before the image's size matters), medians of
 * `runs` passes, reading into reused buffers; the whole image again through `read` (a fresh
 * buffer per request); and the floor, a loop that only allocates a buffer per request.
 */
function coldRows(images: [string, string][], runs: number): string[] {
  const rows: string[] = [];
  const cell = (passes: (ChildPass | undefined)[], pick: (p: ChildPass) => number, digits: number) => {
    const ok = passes.filter((p): p is ChildPass => p !== undefined);
    return ok.length ? median(ok.map(pick)).toFixed(digits) : 'failed';
  };
  const floor = Array.from({ length: runs }, () => childPass(images[0]![1], 'alloc', 64));
  rows.push(`| (floor: a fresh 64 KiB buffer per request, nothing read) | 64 | — | — | — | — | ${cell(floor, (p) => p.peakGrowth, 1)} MiB |`);
  for (const [name, path] of images) {
    for (const depth of [1, 64]) {
      const head = Array.from({ length: runs }, () => childPass(path, 'node', depth, 64 << 20));
      const whole = Array.from({ length: runs }, () => childPass(path, 'node', depth));
      const fresh = Array.from({ length: runs }, () => childPass(path, 'node-read', depth));
      rows.push(
        `| ${name} | ${depth} | ${cell(whole, (p) => p.rate, 0)} | ${cell(head, (p) => p.peakGrowth, 1)} MiB | ${cell(whole, (p) => p.peakGrowth, 1)} MiB | ${cell(whole, (p) => p.afterWarm ?? NaN, 1)} MiB | ${cell(fresh, (p) => p.peakGrowth, 1)} MiB |`,
      );
    }
  }
  return rows;
}

export async function benchQcow2(work: string, size: number, runs: number): Promise<{ rows: string[]; cold: string[] }> {
  if (!have('qemu-img')) return { rows: ['| (qemu-img not installed: qcow2 images cannot be made) | | | | | |'], cold: [] };
  const random = join(work, `random-${size}.raw`);
  const text = join(work, `compressible-${size}.raw`);
  makeRandom(random, size);
  makeCompressible(text, size);
  const images: [string, string, Codecs | undefined][] = [
    ['uncompressed (random data)', join(work, `plain-${size}.qcow2`), undefined],
    ['zlib-compressed', join(work, `zlib-${size}.qcow2`), undefined],
    ['zstd-compressed', join(work, `zstd-${size}.qcow2`), undefined],
  ];
  makeQcow2(random, images[0]![1], []);
  makeQcow2(text, images[1]![1], ['-c']);
  makeQcow2(text, images[2]![1], ['-c', '-o', 'compression_type=zstd']);

  const rows: string[] = [];
  for (const [name, path] of images) {
    for (const [codecName, codecs] of [['node', nodeCodecs], ['browser', browserCodecs]] as const) {
      if (name.startsWith('uncompressed') && codecName === 'browser') continue;
      for (const depth of [1, 64]) {
        const rates: number[] = [];
        let rssGrowth = 0;
        for (let i = 0; i < runs; i++) {
          const dev = await openFile(path);
          const rss0 = process.memoryUsage().rss;
          const disk = await openDisk(dev, { codecs });
          rates.push(await readAll(disk, depth));
          rssGrowth = Math.max(rssGrowth, (process.memoryUsage().rss - rss0) / 2 ** 20);
          await dev.close();
        }
        const mine = median(rates);
        const qemuRates: number[] = [];
        if (codecName === 'node') for (let i = 0; i < runs; i++) {
          const q = qemuBench(path, size, depth);
          if (q !== undefined) qemuRates.push(q);
        }
        const qemu = qemuRates.length ? median(qemuRates) : undefined;
        rows.push(
          `| ${name} | ${codecName} codecs | ${depth} | ${mine.toFixed(0)} | ${qemu === undefined ? (codecName === 'node' ? 'n/a' : '—') : qemu.toFixed(0)} | ${qemu === undefined ? '—' : `${(mine / qemu).toFixed(2)}×`} | ${rssGrowth.toFixed(1)} MiB |`,
        );
      }
    }
  }
  return { rows, cold: coldRows(images.map(([name, path]) => [name, path]), runs) };
}
