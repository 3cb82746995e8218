import { open as openFile, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DiskProbeError, ErrorCode } from '../errors.js';
import { openFileSystem, READABLE_FILESYSTEMS, type FileSystem } from '../fs/index.js';
import { openImage } from '../node/image.js';
import { exportReg, openHive, type Hive, type HiveLogs, type RegValue } from '../registry/index.js';
import { readLayout } from '../volume/index.js';
import { EXIT, toJson, UsageError, type Io } from './io.js';

export const REG_HELP = `Usage: diskprobe reg [--json] [--volume V] <image|hive> [key] [value]
       diskprobe reg --export [--volume V] <image|hive> [key]

Reads a Windows registry hive without Windows: a hive file given directly (its .LOG, .LOG1 and
.LOG2 beside it are replayed if the hive is dirty), or a hive of the Windows installation in a
disk image (Windows/System32/config; BCD from the EFI system partition or /Boot). For an image,
the key's first component names the hive: SYSTEM, SOFTWARE, SAM, SECURITY, DEFAULT, COMPONENTS,
DRIVERS, BCD (an HKLM\\ or HKEY_LOCAL_MACHINE\\ prefix is allowed).

Without a value name, lists the key's values and subkeys as \`reg query\` does; with one, prints
that value's data (strings as text, numbers in decimal, binary as hex), as hivexget does.
--export writes the key and everything below it in .reg format (REGEDIT5).

Options:
  --json       print JSON
  --export     write .reg text
  --volume V   in an image: the volume holding Windows (a partition number or id)
  -h, --help   show this help

Exit codes: 0 shown; 1 the key or value does not exist; 2 usage error, or the hive could not
be opened.
`;

const HIVE_FILES = ['SYSTEM', 'SOFTWARE', 'SAM', 'SECURITY', 'DEFAULT', 'COMPONENTS', 'DRIVERS', 'ELAM', 'BCD'];

/** Finds the logs beside a hive file, whatever their case. */
async function logsBeside(path: string): Promise<HiveLogs> {
  const dir = dirname(path);
  const base = basename(path).toLowerCase();
  const logs: HiveLogs = {};
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return logs;
  }
  for (const [k, ext] of [
    ['log', '.log'],
    ['log1', '.log1'],
    ['log2', '.log2'],
  ] as const) {
    const hit = names.find((n) => n.toLowerCase() === base + ext);
    if (hit) logs[k] = new Uint8Array(await readFile(join(dir, hit)));
  }
  return logs;
}

async function isHiveFile(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await openFile(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(4);
    await fh.read(b, 0, 4, 0);
    return b[0] === 0x72 && b[1] === 0x65 && b[2] === 0x67 && b[3] === 0x66;
  } finally {
    await fh.close();
  }
}

async function readOptional(fs: FileSystem, path: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(path, { maxBytes: 1024 * 1024 * 1024 });
  } catch (e) {
    if (e instanceof DiskProbeError && (e.code === ErrorCode.NOT_FOUND || e.code === ErrorCode.NOT_DIRECTORY)) return undefined;
    throw e;
  }
}

/** The hive a key path names inside an image's Windows installation, and the path within it. */
async function hiveInImage(image: string, keyPath: string, volumeArg: string | undefined): Promise<{ hive: Hive; inner: string; prefix: string; close: () => Promise<void> }> {
  const parts = keyPath.split(/[\\/]+/).filter((p) => p !== '');
  if (parts[0] && /^(HKLM|HKEY_LOCAL_MACHINE)$/i.test(parts[0])) parts.shift();
  const name = parts.shift()?.toUpperCase();
  if (!name || !HIVE_FILES.includes(name)) throw new UsageError(`in an image, the key must start with a hive name (${HIVE_FILES.join(', ')})`);
  const opened = await openImage(image);
  try {
    const layout = await readLayout(opened.disk);
    const candidates = layout.volumes.filter((v) => READABLE_FILESYSTEMS.includes(v.content.type) && v.problem === undefined && (volumeArg === undefined || v.id === (/^\d+$/.test(volumeArg) ? `p${volumeArg}` : volumeArg)));
    const paths = name === 'BCD' ? ['/EFI/Microsoft/Boot/BCD', '/Boot/BCD'] : [`/Windows/System32/config/${name}`];
    for (const v of candidates) {
      let fs: FileSystem;
      try {
        fs = await openFileSystem(v);
      } catch {
        continue;
      }
      for (const p of paths) {
        const bytes = await readOptional(fs, p);
        if (!bytes) continue;
        const logs: HiveLogs = {};
        for (const [k, ext] of [
          ['log', '.LOG'],
          ['log1', '.LOG1'],
          ['log2', '.LOG2'],
        ] as const) {
          const l = await readOptional(fs, p + ext);
          if (l) logs[k] = l;
        }
        const hive = await openHive(bytes, { logs, label: `${v.id}:${p}` });
        return { hive, inner: parts.join('\\'), prefix: `HKEY_LOCAL_MACHINE\\${name}`, close: () => opened.close() };
      }
    }
    throw new UsageError(`no volume of ${image} holds ${paths.join(' or ')}`);
  } catch (e) {
    await opened.close();
    throw e;
  }
}

/** A value's data as hivexget prints it. */
function show(v: RegValue): string {
  if (typeof v.data === 'string') return v.data;
  if (Array.isArray(v.data)) return v.data.join('\n');
  if (typeof v.data === 'number' || typeof v.data === 'bigint') return String(v.data);
  return Buffer.from(v.data).toString('hex');
}

/** A value as reg query lists it. */
function queryLine(v: RegValue): string {
  const name = v.name === '' ? '(Default)' : v.name;
  let data: string;
  if (typeof v.data === 'number') data = `0x${v.data.toString(16)}`;
  else if (typeof v.data === 'bigint') data = `0x${v.data.toString(16)}`;
  else if (typeof v.data === 'string') data = v.data;
  else if (Array.isArray(v.data)) data = v.data.join('\\0');
  else data = Buffer.from(v.data).toString('hex').toUpperCase();
  return `    ${name}    ${v.typeName}    ${data}`;
}

export async function regCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, export: { type: 'boolean' }, volume: { type: 'string' } } });
  if (positionals.length < 1 || positionals.length > 3 || (values.export && positionals.length > 2)) throw new UsageError('expected an image or hive file, a key path and at most one value name');
  const [input, keyPath = '', valueName] = positionals as [string, string?, string?];
  let hive: Hive;
  let inner: string;
  let prefix: string;
  let close = async (): Promise<void> => undefined;
  if (await isHiveFile(input)) {
    hive = await openHive(new Uint8Array(await readFile(input)), { logs: await logsBeside(input), label: basename(input) });
    inner = keyPath;
    // A hive file on its own has no place under HKLM: its root is shown as ROOT, as hivexregedit does.
    prefix = 'ROOT';
  } else {
    ({ hive, inner, prefix, close } = await hiveInImage(input, keyPath, values.volume));
  }
  try {
    for (const f of hive.findings) io.err(`diskprobe reg: ${f.severity}: ${f.code}: ${f.message}\n`);
    if (hive.replay) io.err(`diskprobe reg: the hive was dirty; replayed ${hive.replay.format}-format log ${hive.replay.logs.join(' and ')} in memory (${hive.replay.bytes} bytes)\n`);
    const key = hive.key(inner);
    if (!key) {
      io.err(`diskprobe reg: no key ${JSON.stringify(keyPath)}\n`);
      return EXIT.PROBLEM;
    }
    const full = key.path === '' ? prefix : `${prefix}\\${key.path}`;
    if (values.export) {
      exportReg(key, (s) => io.out(s), { root: prefix });
      return EXIT.OK;
    }
    if (valueName !== undefined) {
      const v = key.value(valueName);
      if (!v) {
        io.err(`diskprobe reg: ${full} has no value ${JSON.stringify(valueName)}\n`);
        return EXIT.PROBLEM;
      }
      io.out(values.json ? `${toJson({ key: full, ...v })}\n` : `${show(v)}\n`);
      return EXIT.OK;
    }
    const vals = key.values();
    const subs = key.subkeys();
    if (values.json) {
      io.out(`${toJson({ key: full, lastWritten: key.lastWritten, className: key.className, values: vals, subkeys: subs.map((s) => s.name), dirty: hive.dirty, replay: hive.replay, findings: hive.findings })}\n`);
      return EXIT.OK;
    }
    io.out(`${full}\n`);
    for (const v of vals) io.out(`${queryLine(v)}\n`);
    if (vals.length) io.out('\n');
    for (const s of subs) io.out(`${full}\\${s.name}\n`);
    return EXIT.OK;
  } finally {
    await close();
  }
}
