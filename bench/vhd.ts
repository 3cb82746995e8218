/**
 * Dynamic VHD and VHDX read throughput beside `qemu-img bench` (issue #10's target: 0.5× qemu or
 * better): the compressible 1 GiB image converted by qemu-img, read whole in 64 KiB requests at
 * depth 1 and 64 by both tools, in the same run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDisk } from '../src/index.js';
import { nodeCodecs, openFile } from '../src/node/index.js';
import { qemuBench, readAll } from './qcow2.js';
import { have, median } from './util.js';

export async function benchVhd(work: string, raw: string, size: number, runs: number): Promise<string[]> {
  if (!have('qemu-img') || !existsSync(raw)) return ['| (qemu-img or the source image missing) | | | | | |'];
  const rows: string[] = [];
  for (const [name, format, ext] of [
    ['dynamic VHD', 'vpc', 'vhd'],
    ['dynamic VHDX', 'vhdx', 'vhdx'],
  ] as const) {
    const image = join(work, `dynamic-${size}.${ext}`);
    if (!existsSync(image)) execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', format, '-o', 'subformat=dynamic', raw, image]);
    for (const depth of [1, 64]) {
      const ours: number[] = [];
      for (let i = 0; i < runs; i++) {
        const file = await openFile(image);
        ours.push(await readAll(await openDisk(file, { codecs: nodeCodecs }), depth));
        await file.close();
      }
      const theirs = Array.from({ length: runs }, () => qemuBench(image, size, depth, format)).filter((x): x is number => x !== undefined);
      const a = median(ours);
      const b = theirs.length ? median(theirs) : undefined;
      rows.push(`| ${name} | ${depth} | ${a.toFixed(0)} MB/s | ${b === undefined ? 'failed' : `${b.toFixed(0)} MB/s`} | ${b === undefined ? '—' : `${(a / b).toFixed(2)}×`} | 0.5× |`);
    }
  }
  return rows;
}
