/**
 * VMDK read throughput beside `qemu-img bench` (issue #9's targets: monolithicSparse at 0.5× qemu
 * or better, streamOptimized at 1.0× or better): the same 1 GiB of system-disk-like data
 * (bench/qcow2.ts's compressible image) converted by qemu-img to each subformat, read whole in
 * 64 KiB requests at queue depth 1 and 64 by both tools, in the same run.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDisk, streamVmdk } from '../src/index.js';
import { qemuBench, readAll } from './qcow2.js';
import { nodeCodecs, openFile } from '../src/node/index.js';
import { have, median } from './util.js';

/** Rows of the VMDK table; `raw` is the source image (made by bench/qcow2.ts). */
export async function benchVmdk(work: string, raw: string, size: number, runs: number): Promise<string[]> {
  if (!have('qemu-img') || !existsSync(raw)) return ['| (qemu-img or the source image missing) | | | | | |'];
  const rows: string[] = [];
  for (const subformat of ['monolithicSparse', 'streamOptimized']) {
    const image = join(work, `vmdk-${subformat}-${size}.vmdk`);
    if (!existsSync(image)) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, raw, image]);
    for (const depth of [1, 64]) {
      const ours: number[] = [];
      for (let i = 0; i < runs; i++) {
        const file = await openFile(image);
        const disk = await openDisk(file, { codecs: nodeCodecs });
        ours.push(await readAll(disk, depth));
        await file.close();
      }
      const theirs = Array.from({ length: runs }, () => qemuBench(image, size, depth, 'vmdk')).filter((x): x is number => x !== undefined);
      const a = median(ours);
      const b = theirs.length ? median(theirs) : undefined;
      rows.push(`| ${subformat} | ${depth} | ${a.toFixed(0)} MB/s | ${b === undefined ? 'failed' : `${b.toFixed(0)} MB/s`} | ${b === undefined ? '—' : `${(a / b).toFixed(2)}×`} | ${subformat === 'monolithicSparse' ? '0.5×' : '1.0×'} |`);
    }
  }
  return rows;
}

/**
 * The one-pass mode: the streamOptimized image read once from a file stream (as an upload or
 * an OVA member would arrive), guest bytes out in order; MB/s of guest bytes and the growth of
 * the resident set over the run (sampled every 10 ms), beside qemu-img bench at depth 1.
 */
export async function benchVmdkStream(work: string, size: number, runs: number): Promise<string[]> {
  const image = join(work, `vmdk-streamOptimized-${size}.vmdk`);
  if (!existsSync(image)) return ['| (the streamOptimized image was not made) | | | |'];
  const rates: number[] = [];
  const growth: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const started = performance.now();
    let bytes = 0;
    for await (const chunk of streamVmdk(createReadStream(image, { highWaterMark: 1 << 20 }), { codecs: nodeCodecs })) bytes += chunk.length;
    rates.push(bytes / 1e6 / ((performance.now() - started) / 1000));
    clearInterval(timer);
    growth.push((peak - before) / 2 ** 20);
  }
  const qemu = Array.from({ length: runs }, () => qemuBench(image, size, 1, 'vmdk')).filter((x): x is number => x !== undefined);
  const q = qemu.length ? median(qemu) : undefined;
  const a = median(rates);
  return [`| streamVmdk, one pass from a file stream | ${a.toFixed(0)} MB/s | ${q === undefined ? 'failed' : `${q.toFixed(0)} MB/s`} | ${q === undefined ? '—' : `${(a / q).toFixed(2)}×`} | ${Math.max(...growth).toFixed(1)} MiB |`];
}
