/**
 * Filesystems on file-backed raw images, beside each filesystem's own tools in the same run: a
 * walk of a tree of 100,000 files with a stat of each (diskprobe readdir + lstat), and a read
 * of a 1 GiB file (diskprobe's stream). ext4 beside debugfs (`ls -l` of every directory, which
 * reads every inode; `dump`) and sleuthkit (`fls -r -l`, `icat`); XFS beside xfs_db (`ls` of
 * every directory: entries only) and, as root, the kernel (a read-only loop mount: `find` with
 * a stat of each entry, `cat` of the file); NTFS beside sleuthkit (`fls -r -l`, `icat`) and,
 * as root, ntfs-3g (a read-only FUSE mount: `find` with a stat, `cat`). Images are made once
 * and kept in bench/.work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openDisk, openFileSystem } from '../src/index.js';
import { openFile } from '../src/node/index.js';
import { have, median } from './util.js';

/** 100 directories of 1,000 files (a quick run: 10 of 100). */
let DIRS = 100;
let PER_DIR = 1000;

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

/** The tree: DIRS directories of PER_DIR small files, and `big` of `fileBytes`. */
function makeTree(work: string, fileBytes: number): string {
  const tree = join(work, 'fs-walk-tree');
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
  return tree;
}

function extImage(work: string, fileBytes: number): string | undefined {
  const image = join(work, `ext4-walk-${DIRS * PER_DIR}-${fileBytes}.raw`);
  if (existsSync(image)) return image;
  if (!have('mkfs.ext4')) return undefined;
  const tree = makeTree(work, fileBytes);
  execFileSync('truncate', ['-s', String(fileBytes + (1 << 30)), image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-N', String(DIRS * PER_DIR + 1000), '-d', tree, image]);
  rmSync(tree, { recursive: true, force: true });
  return image;
}

/** XFS has no populate-from-directory option: the tree is copied in through a loop mount (root only). */
function xfsImage(work: string, fileBytes: number): string | undefined {
  const image = join(work, `xfs-walk-${DIRS * PER_DIR}-${fileBytes}.raw`);
  if (existsSync(image)) return image;
  if (!have('mkfs.xfs') || process.getuid?.() !== 0) return undefined;
  const tree = makeTree(work, fileBytes);
  execFileSync('truncate', ['-s', String(fileBytes + (1 << 30)), image]);
  execFileSync('mkfs.xfs', ['-q', '-f', image]);
  const mnt = mkdtempSync(join(work, 'mnt-'));
  try {
    execFileSync('mount', ['-o', 'loop', image, mnt]);
    try {
      execFileSync('cp', ['-a', `${tree}/.`, mnt]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  } catch (e) {
    rmSync(image, { force: true });
    throw e;
  } finally {
    rmSync(mnt, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
  }
  return image;
}

/** NTFS: mkntfs, then the tree copied in through an ntfs-3g mount (root only). */
function ntfsImage(work: string, fileBytes: number): string | undefined {
  const image = join(work, `ntfs-walk-${DIRS * PER_DIR}-${fileBytes}.raw`);
  if (existsSync(image)) return image;
  if (!have('mkntfs') || !have('ntfs-3g') || process.getuid?.() !== 0) return undefined;
  const tree = makeTree(work, fileBytes);
  const partial = `${image}.partial`;
  execFileSync('truncate', ['-s', String(fileBytes + (1 << 30)), partial]);
  execFileSync('mkntfs', ['-q', '-Q', '-F', partial], { stdio: 'ignore' });
  const mnt = mkdtempSync(join(work, 'mnt-'));
  try {
    execFileSync('ntfs-3g', [partial, mnt]);
    try {
      execFileSync('cp', ['-r', `${tree}/.`, mnt]);
    } finally {
      execFileSync('umount', [mnt]);
    }
    execFileSync('mv', [partial, image]);
  } finally {
    rmSync(partial, { force: true });
    rmSync(mnt, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
  }
  return image;
}

/** diskprobe's walk (seconds, entries) and read (GB/s), medians of `runs`. */
async function diskprobe(image: string, runs: number): Promise<{ walk: number; count: number; read: number }> {
  const walks: number[] = [];
  const reads: number[] = [];
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
  return { walk: median(walks), count, read: median(reads) };
}

const cell = (s: number | undefined) => (s === undefined ? 'n/a' : s.toFixed(2));

export async function benchFilesystems(work: string, fileBytes: number, runs: number, quick = false): Promise<string[]> {
  if (quick) [DIRS, PER_DIR] = [10, 100];
  const rows: string[] = [];
  const rate = (s: number | undefined) => (s === undefined ? 'n/a' : (fileBytes / 1e9 / s).toFixed(2));
  const size = `${(fileBytes / 2 ** 30).toFixed(fileBytes < 2 ** 30 ? 2 : 0)} GiB`;

  const ext = extImage(work, fileBytes);
  if (!ext) rows.push('| ext4 | (e2fsprogs not installed: the image cannot be made) | | |');
  else {
    const d = await diskprobe(ext, runs);
    const cmds = join(work, 'debugfs-walk.cmds');
    writeFileSync(cmds, ['ls -l /', ...Array.from({ length: DIRS }, (_, i) => `ls -l /d${String(i).padStart(3, '0')}`)].join('\n') + '\n');
    const debugfsWalk = have('debugfs') ? timeCommand('debugfs', ['-f', cmds, ext], runs) : undefined;
    const flsWalk = have('fls') ? timeCommand('fls', ['-r', '-l', ext], runs) : undefined;
    rows.push(`| ext4 | walk ${d.count} entries, lstat each | ${d.walk.toFixed(2)} s | debugfs ls -l: ${cell(debugfsWalk)} s; fls -r -l: ${cell(flsWalk)} s |`);
    const ino = have('debugfs') ? /Inode: (\d+)/.exec(execFileSync('debugfs', ['-R', 'stat /big', ext], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] : undefined;
    const dump = have('debugfs') ? timeCommand('debugfs', ['-R', 'dump /big /dev/null', ext], runs) : undefined;
    const icat = have('icat') && ino ? timeCommand('sh', ['-c', `icat '${ext}' ${ino} > /dev/null`], runs) : undefined;
    rows.push(`| ext4 | read a ${size} file | ${d.read.toFixed(2)} GB/s | debugfs dump: ${rate(dump)} GB/s; icat: ${rate(icat)} GB/s |`);
  }

  const xfs = xfsImage(work, fileBytes);
  if (!xfs) rows.push('| XFS | (needs xfsprogs and root for a loop mount to make the image) | | |');
  else {
    const d = await diskprobe(xfs, runs);
    const cmds = ['-r', '-c', 'ls /', ...Array.from({ length: DIRS }, (_, i) => ['-c', `ls /d${String(i).padStart(3, '0')}`]).flat(), xfs];
    const xfsDbWalk = have('xfs_db') ? timeCommand('xfs_db', cmds, runs) : undefined;
    let kernelWalk: number | undefined;
    let kernelRead: number | undefined;
    if (process.getuid?.() === 0) {
      const mnt = mkdtempSync(join(work, 'mnt-'));
      try {
        execFileSync('mount', ['-o', 'loop,ro,norecovery', xfs, mnt]);
        try {
          kernelWalk = timeCommand('sh', ['-c', `find '${mnt}' -printf '%s %i\\n' > /dev/null`], runs);
          kernelRead = timeCommand('sh', ['-c', `cat '${mnt}/big' > /dev/null`], runs);
        } finally {
          execFileSync('umount', [mnt]);
        }
      } catch {
        // no loop mounts here: the kernel's figures are n/a
      } finally {
        rmSync(mnt, { recursive: true, force: true });
      }
    }
    rows.push(`| XFS | walk ${d.count} entries, lstat each | ${d.walk.toFixed(2)} s | xfs_db ls (entries only): ${cell(xfsDbWalk)} s; kernel (loop mount, find with stat): ${cell(kernelWalk)} s |`);
    rows.push(`| XFS | read a ${size} file | ${d.read.toFixed(2)} GB/s | kernel (loop mount, cat): ${rate(kernelRead)} GB/s |`);
  }

  const ntfs = ntfsImage(work, fileBytes);
  if (!ntfs) rows.push('| NTFS | (needs ntfs-3g and root for a FUSE mount to make the image) | | |');
  else {
    const d = await diskprobe(ntfs, runs);
    const flsWalk = have('fls') ? timeCommand('fls', ['-r', '-l', ntfs], runs) : undefined;
    const ino = have('ifind') ? execFileSync('ifind', ['-n', '/big', ntfs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() : undefined;
    const icat = have('icat') && ino ? timeCommand('sh', ['-c', `icat '${ntfs}' ${ino} > /dev/null`], runs) : undefined;
    let fuseWalk: number | undefined;
    let fuseRead: number | undefined;
    const mnt = mkdtempSync(join(work, 'mnt-'));
    try {
      execFileSync('ntfs-3g', ['-o', 'ro', ntfs, mnt]);
      try {
        fuseWalk = timeCommand('sh', ['-c', `find '${mnt}' -printf '%s %i\\n' > /dev/null`], runs);
        fuseRead = timeCommand('sh', ['-c', `cat '${mnt}/big' > /dev/null`], runs);
      } finally {
        execFileSync('umount', [mnt]);
      }
    } catch {
      // no FUSE here: ntfs-3g's figures are n/a
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
    rows.push(`| NTFS | walk ${d.count} entries, lstat each | ${d.walk.toFixed(2)} s | fls -r -l: ${cell(flsWalk)} s; ntfs-3g (FUSE, find with stat): ${cell(fuseWalk)} s |`);
    rows.push(`| NTFS | read a ${size} file | ${d.read.toFixed(2)} GB/s | icat: ${rate(icat)} GB/s; ntfs-3g (FUSE, cat): ${rate(fuseRead)} GB/s |`);
  }
  return rows;
}
