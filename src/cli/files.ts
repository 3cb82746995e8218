import { parseArgs } from 'node:util';
import { DiskProbeError } from '../errors.js';
import { openFileSystem, READABLE_FILESYSTEMS, type DirEntry, type FileSystem, type Stats, type Timestamp } from '../fs/index.js';
import { openImage, type OpenedImage } from '../node/image.js';
import { readLayout, type Volume } from '../volume/index.js';
import { inspectLayout } from '../guest/index.js';
import { EXIT, toJson, UsageError, type Io } from './io.js';

const VOLUME_HELP = `  --volume V   one volume's filesystem: a partition number or id (1, p1), vg/lv, disk. Without
               it: the guest's own view (its root with its fstab's mounts) when the image holds
               one operating system, else the one filesystem diskprobe reads`;

export const LS_HELP = `Usage: diskprobe ls [-l] [-R] [--json] [--volume V] <image> [path]

Lists a directory of a filesystem inside an image, without mounting it (default path: /).

Options:
  -l           long format: mode, links, owner, group, size, modification time, name (-> target)
  -R           list subdirectories too
  --json       print JSON: one object per entry with its stat fields
${VOLUME_HELP}
  -h, --help   show this help

Exit codes: 0 listed; 1 the path or a part of it could not be read; 2 usage error, or the
image or its volume could not be opened.
`;

export const CAT_HELP = `Usage: diskprobe cat [--volume V] <image> <path>

Writes a file from a filesystem inside an image to standard output.

Options:
${VOLUME_HELP}
  -h, --help   show this help

Exit codes: 0 written; 1 the file could not be read; 2 usage error, or the image or its volume
could not be opened.
`;

export const STAT_HELP = `Usage: diskprobe stat [--json] [-L] [--volume V] <image> <path>...

Shows what a filesystem inside an image records of each path: type, mode, owner, size, times,
inode number and inode flags (immutable, append-only, …). Symbolic links are described, not
followed, unless -L is given. With a path of "-f", shows the filesystem's own state instead
(features, free space, clean or not, last mount).

Options:
  -L           follow symbolic links
  --json       print JSON
${VOLUME_HELP}
  -h, --help   show this help

Exit codes: 0 shown; 1 a path could not be read; 2 usage error, or the image or its volume
could not be opened.
`;

/** The volume the user named, else the one guest's view, else the one filesystem diskprobe reads, opened. */
async function openVolumeFs(image: string, volumeArg: string | undefined): Promise<{ fs: FileSystem; volume: Volume; opened: OpenedImage }> {
  const opened = await openImage(image);
  try {
    const layout = await readLayout(opened.disk);
    let volume: Volume | undefined;
    if (volumeArg !== undefined) {
      const id = /^\d+$/.test(volumeArg) ? `p${volumeArg}` : volumeArg;
      volume = layout.volumes.find((v) => v.id === id);
      if (!volume) throw new UsageError(`no volume "${volumeArg}" in ${image}; it has: ${layout.volumes.map((v) => v.id).join(', ')}`);
    } else {
      const { guests } = await inspectLayout(layout);
      if (guests.length === 1) return { fs: guests[0]!.fs, volume: layout.volumes.find((v) => v.id === guests[0]!.root)!, opened };
      if (guests.length > 1) throw new UsageError(`several operating systems (roots ${guests.map((g) => g.root).join(', ')}); choose one with --volume`);
      const readable = layout.volumes.filter((v) => READABLE_FILESYSTEMS.includes(v.content.type) && v.problem === undefined);
      if (readable.length !== 1) {
        throw new UsageError(`${readable.length === 0 ? 'no volume holds a filesystem diskprobe reads' : `several volumes hold filesystems (${readable.map((v) => v.id).join(', ')})`}; choose one with --volume`);
      }
      volume = readable[0]!;
    }
    return { fs: await openFileSystem(volume), volume, opened };
  } catch (e) {
    await opened.close();
    throw e;
  }
}

const TYPE_CHAR: Record<string, string> = { file: '-', directory: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's', unknown: '?' };

/** `drwxr-xr-x`, with setuid, setgid and sticky bits as ls shows them. */
export function modeString(s: Stats): string {
  const p = s.permissions;
  const rwx = (bits: number, special: boolean, on: string, off: string) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? on : off) : bits & 1 ? 'x' : '-'}`;
  return TYPE_CHAR[s.type] + rwx(p >> 6, (p & 0o4000) !== 0, 's', 'S') + rwx(p >> 3, (p & 0o2000) !== 0, 's', 'S') + rwx(p, (p & 0o1000) !== 0, 't', 'T');
}

function isoTime(t: Timestamp): string {
  return `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec).padStart(9, '0')}Z`;
}

function statJson(path: string, s: Stats, target?: string): Record<string, unknown> {
  return { path, ...s, ...(target === undefined ? {} : { target }), mtimeIso: isoTime(s.mtime) };
}

export async function lsCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { l: { type: 'boolean', short: 'l' }, R: { type: 'boolean', short: 'R' }, json: { type: 'boolean' }, volume: { type: 'string' } } });
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('expected an image and at most one path');
  const { fs, opened } = await openVolumeFs(positionals[0]!, values.volume);
  const json: Record<string, unknown>[] = [];
  let status: number = EXIT.OK;
  try {
    const start = positionals[1] ?? '/';
    const queue = [start];
    let first = true;
    while (queue.length > 0) {
      const dir = queue.shift()!;
      let entries: DirEntry[];
      try {
        const s = await fs.lstat(dir);
        if (s.type !== 'directory' && first) {
          // ls of a file lists the file.
          const target = s.type === 'symlink' ? await fs.readlink(dir) : undefined;
          if (values.json) json.push(statJson(dir, s, target));
          else io.out(values.l ? `${longLine(s, dir, target)}\n` : `${dir}\n`);
          break;
        }
        entries = await fs.readdir(dir);
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        io.err(`diskprobe ls: ${dir}: ${e.message}\n`);
        status = EXIT.PROBLEM;
        first = false;
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (values.R && !values.json) io.out(`${first ? '' : '\n'}${dir}:\n`);
      first = false;
      for (const e of entries) {
        const path = `${dir === '/' ? '' : dir.replace(/\/+$/, '')}/${e.name}`;
        if (values.l || values.json || values.R) {
          let s: Stats;
          try {
            s = await fs.lstat(path);
          } catch (err) {
            if (!(err instanceof DiskProbeError)) throw err;
            io.err(`diskprobe ls: ${path}: ${err.message}\n`);
            status = EXIT.PROBLEM;
            continue;
          }
          const target = s.type === 'symlink' ? await fs.readlink(path).catch(() => undefined) : undefined;
          if (values.json) json.push(statJson(path, s, target));
          else io.out(values.l ? `${longLine(s, e.name, target)}\n` : `${e.name}\n`);
          if (values.R && s.type === 'directory') queue.push(path);
        } else io.out(`${e.name}\n`);
      }
    }
    if (values.json) io.out(`${toJson(json)}\n`);
    return status;
  } finally {
    await opened.close();
  }
}

function longLine(s: Stats, name: string, target: string | undefined): string {
  const size = s.rdev ? `${s.rdev.major}, ${s.rdev.minor}` : String(s.size);
  return `${modeString(s)} ${String(s.nlink).padStart(3)} ${String(s.uid).padStart(5)} ${String(s.gid).padStart(5)} ${size.padStart(12)} ${isoTime(s.mtime).slice(0, 19).replace('T', ' ')} ${name}${target === undefined ? '' : ` -> ${target}`}`;
}

export async function catCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { volume: { type: 'string' } } });
  if (positionals.length !== 2) throw new UsageError('expected an image and a path');
  const { fs, opened } = await openVolumeFs(positionals[0]!, values.volume);
  try {
    const reader = fs.createReadStream(positionals[1]!).getReader();
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        io.err(`diskprobe cat: ${positionals[1]}: ${e.message}\n`);
        return EXIT.PROBLEM;
      }
      if (chunk.done) break;
      if (!io.stdout.write(chunk.value)) await new Promise((resolve) => io.stdout.once('drain', resolve));
    }
    return EXIT.OK;
  } finally {
    await opened.close();
  }
}

export async function statCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, L: { type: 'boolean', short: 'L' }, volume: { type: 'string' }, f: { type: 'boolean', short: 'f' } } });
  if (positionals.length < (values.f ? 1 : 2)) throw new UsageError(values.f ? 'expected an image' : 'expected an image and a path');
  const { fs, volume, opened } = await openVolumeFs(positionals[0]!, values.volume);
  const out: Record<string, unknown>[] = [];
  let status: number = EXIT.OK;
  try {
    if (values.f) {
      const st = await fs.statfs();
      if (values.json) io.out(`${toJson({ volume: volume.id, ...st, findings: fs.findings })}\n`);
      else {
        io.out(`volume ${volume.id}: ${st.type}, label ${st.label ?? '-'}, UUID ${st.uuid ?? '-'}\n`);
        io.out(`  blocks: ${st.blocks} of ${st.blockSize} bytes, ${st.freeBlocks} free, ${st.reservedBlocks} reserved; inodes: ${st.inodes}, ${st.freeInodes} free\n`);
        io.out(`  state: ${st.state.clean ? 'clean' : 'not clean'}${st.state.errors ? ', errors recorded' : ''}${st.state.needsRecovery ? ', journal needs recovery' : ''}${st.state.orphans ? ', orphans present' : ''}\n`);
        io.out(`  last mounted: ${st.lastMountPath ?? '-'}${st.lastMountTime ? ` at ${isoTime(st.lastMountTime).slice(0, 19)}Z` : ''}\n`);
        io.out(`  features: ${st.features.join(' ')}\n`);
        for (const f of fs.findings) io.out(`  ${f.severity}: ${f.code}: ${f.message}\n`);
      }
      return EXIT.OK;
    }
    for (const path of positionals.slice(1)) {
      try {
        const s = values.L ? await fs.stat(path) : await fs.lstat(path);
        const target = s.type === 'symlink' ? await fs.readlink(path) : undefined;
        if (values.json) out.push(statJson(path, s, target));
        else {
          io.out(`  File: ${path}${target === undefined ? '' : ` -> ${target}`}\n`);
          io.out(`  Size: ${s.size}\tAllocated: ${s.allocated ?? '-'}\t${s.type}${s.rdev ? `\tDevice: ${s.rdev.major},${s.rdev.minor}` : ''}\n`);
          io.out(`Inode: ${s.ino}\tLinks: ${s.nlink}\tAccess: (${s.permissions.toString(8).padStart(4, '0')}/${modeString(s)})  Uid: ${s.uid}  Gid: ${s.gid}\n`);
          io.out(`Access: ${isoTime(s.atime)}\nModify: ${isoTime(s.mtime)}\nChange: ${isoTime(s.ctime)}\n Birth: ${s.birthtime ? isoTime(s.birthtime) : '-'}\n`);
          io.out(` Flags: ${s.flags.join(', ') || '-'} (0x${s.rawFlags.toString(16)})\n`);
        }
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        io.err(`diskprobe stat: ${path}: ${e.message}\n`);
        status = EXIT.PROBLEM;
      }
    }
    if (values.json) io.out(`${toJson(out)}\n`);
    return status;
  } finally {
    await opened.close();
  }
}
