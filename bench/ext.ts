/**
 * ext4 on a file-backed raw image, beside e2fsprogs' debugfs and sleuthkit in the same run:
 * a walk of a tree of 100,000 files with a stat of each (diskprobe readdir + lstat; debugfs
 * `ls -l` of every directory; `fls -r`), and a read of a 1 GiB file (diskprobe's stream;
 * `debugfs dump`; `icat`). The image is made once with `mkfs.ext4 -d` and kept in bench/.work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { openDisk, openFileSystem } from '../src/index.js';
import { openFile } from '../src/node/index.js';

/** 100 directories of 1,000 files (a quick run: 10 of 100). */
let DIRS = 100;
let PER_DIR = 1000;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Seconds a command takes (median of `runs`), its output discarded; undefined if it fails. */
function timeCommand(cmd: string, args: string[], runs: number): number | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
    if (r.status !== 0) return undefined;
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

function makeImage(work: string, fileBytes: number): string {
  const image = join(work, `ext4-walk-${DIRS * PER_DIR}-${fileBytes}.raw`);
  if (existsSync(image)) return image;
  const tree = join(work, 'ext4-walk-tree');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree);
  for (let d = 0; d < DIRS; d++) {
    const dir = join(tree, `d${String(d).padStart(3, '0')}`);
    mkdirSync(dir);
    for (let f = 0; f < PER_DIR; f++) writeFileSync(join(dir, `f${String(f).padStart(4, '0')}`), `${d}/${f}\n`);
  }
  // The large file: 1 MiB blocks of bytes that differ block to block.
  const fd = openSync(join(tree, 'big'), 'w');
  const block = new Uint8Array(1 << 20);
  for (let at = 0; at < fileBytes; at += block.length) {
    for (let i = 0; i < block.length; i += 4096) block[i] = (at / block.length + i) & 0xff;
    writeSync(fd, block, 0, Math.min(block.length, fileBytes - at));
  }
  closeSync(fd);
  execFileSync('truncate', ['-s', String(fileBytes + (1 << 30)), image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-N', String(DIRS * PER_DIR + 1000), '-d', tree, image]);
  rmSync(tree, { recursive: true, force: true });
  return image;
}

export async function benchExt(work: string, fileBytes: number, runs: number, quick = false): Promise<string[]> {
  if (quick) [DIRS, PER_DIR] = [10, 100];
  if (!have('mkfs.ext4')) return ['| (e2fsprogs not installed: the image cannot be made) | | | |'];
  const image = makeImage(work, fileBytes);
  const rows: string[] = [];

  // The walk: every directory listed, every entry stat'ed.
  const walks: number[] = [];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    const dev = await openFile(image);
    const t = performance.now();
    const fs = await openFileSystem(await openDisk(dev, { format: 'raw' }));
    const queue = ['/'];
    count = 0;
    while (queue.length > 0) {
      const dir = queue.pop()!;
      for (const e of await fs.readdir(dir)) {
        const path = `${dir === '/' ? '' : dir}/${e.name}`;
        const s = await fs.lstat(path);
        count++;
        if (s.type === 'directory') queue.push(path);
      }
    }
    walks.push((performance.now() - t) / 1000);
    await dev.close();
  }
  const walk = median(walks);
  const cmds = join(work, 'debugfs-walk.cmds');
  writeFileSync(cmds, ['ls -l /', ...Array.from({ length: DIRS }, (_, d) => `ls -l /d${String(d).padStart(3, '0')}`)].join('\n') + '\n');
  const debugfsWalk = have('debugfs') ? timeCommand('debugfs', ['-f', cmds, image], runs) : undefined;
  const flsWalk = have('fls') ? timeCommand('fls', ['-r', '-l', image], runs) : undefined;
  const cell = (s: number | undefined) => (s === undefined ? 'n/a' : s.toFixed(2));
  rows.push(`| walk ${count} entries, lstat each (target < 2 s for 100,000) | ${walk.toFixed(2)} s | debugfs ls -l: ${cell(debugfsWalk)} s; fls -r -l: ${cell(flsWalk)} s |`);

  // The large file, streamed in 8 MiB chunks.
  const reads: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dev = await openFile(image);
    const fs = await openFileSystem(await openDisk(dev, { format: 'raw' }));
    const t = performance.now();
    let bytes = 0;
    const reader = fs.createReadStream('/big', { chunkSize: 8 << 20 }).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    reads.push(bytes / 1e9 / ((performance.now() - t) / 1000));
    await dev.close();
  }
  const ino = have('debugfs') ? /Inode: (\d+)/.exec(execFileSync('debugfs', ['-R', 'stat /big', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] : undefined;
  const rate = (s: number | undefined) => (s === undefined ? 'n/a' : (fileBytes / 1e9 / s).toFixed(2));
  const dump = have('debugfs') ? timeCommand('debugfs', ['-R', 'dump /big /dev/null', image], runs) : undefined;
  const icat = have('icat') && ino ? timeCommand('sh', ['-c', `icat '${image}' ${ino} > /dev/null`], runs) : undefined;
  rows.push(`| read a ${(fileBytes / 2 ** 30).toFixed(0)} GiB file (target ≥ 1 GB/s) | ${median(reads).toFixed(2)} GB/s | debugfs dump: ${rate(dump)} GB/s; icat: ${rate(icat)} GB/s |`);
  return rows;
}
