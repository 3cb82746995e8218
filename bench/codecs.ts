/**
 * `npx tsx bench/codecs.ts [--quick]`: throughput of the decompressors diskprobe could put
 * behind its codec interface, on 64 KiB clusters compressed the way qemu compresses them, and
 * qemu-img's own decompression speed on the same data as the reference.
 *
 * Corpus: the non-zero 64 KiB clusters of fixtures/images/raw/disk.raw, a few MiB of /usr/bin
 * binaries (hard to compress) and of /usr/include headers (text), read at bench time. Each
 * cluster is compressed with node:zlib `deflateRawSync` (level 6, windowBits 12, memLevel 9:
 * qemu's `deflateInit2(&strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, ...)`) and with the
 * `zstd` CLI at level 3 without checksum (what qemu's ZSTD_compressStream2 defaults give),
 * clusters that do not shrink below cluster_size - 1 are dropped (qemu stores those
 * uncompressed), and each stream is padded to whole sectors plus one more sector of random
 * bytes (qcow2 hands the decoder whole sectors: padding, or the next cluster's start).
 *
 * Candidates that are not dependencies of diskprobe are loaded from the project if present,
 * else from bench/.work/candidates (install them there with
 * `npm install --prefix bench/.work/candidates fflate pako fzstd zstddec @bokuweb/zstd-wasm @hpcc-js/wasm-zstd zstd-codec`);
 * missing ones are reported as such. Figures are printed, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { browserCodecs, zstdFrameLength } from '../src/codec/index.js';
import { nodeCodecs } from '../src/node/codecs.js';
import { prng } from '../test/codec/payload.js';
import { median } from './util.js';

const quick = process.argv.includes('--quick');
const ROOT = join(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench/.work/codecs');
const CANDIDATES = join(ROOT, 'bench/.work/candidates');
const CLUSTER = 64 * 1024;
const SECTOR = 512;
const MIN_SECONDS = quick ? 0.3 : 3;
const ROUNDS = quick ? 1 : 5;
const BIN_BYTES = (quick ? 2 : 6) << 20;
const TEXT_BYTES = (quick ? 1 : 3) << 20;

// ---------------------------------------------------------------------------------------------
// Corpus

/** Deterministic trailing bytes: the tests' PRNG, as a fraction in [0, 1). */
const next = prng(0x5eed);
const random = () => next() / 4294967296;

/** Reads regular files under `dir` (sorted, recursively) until `limit` bytes. */
function readTree(dir: string, limit: number, accept: (name: string) => boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (total >= limit) return;
      const path = join(d, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size > 0 && accept(name)) {
        try {
          const data = readFileSync(path);
          parts.push(data);
          total += data.length;
        } catch {
          // unreadable: skip
        }
      }
    }
  };
  walk(dir);
  const out = new Uint8Array(Math.min(total, limit));
  let at = 0;
  for (const p of parts) {
    const n = Math.min(p.length, out.length - at);
    out.set(p.subarray(0, n), at);
    at += n;
    if (at === out.length) break;
  }
  return out;
}

function clustersOf(data: Uint8Array, source: string): { source: string; data: Uint8Array }[] {
  const out = [];
  for (let at = 0; at + CLUSTER <= data.length; at += CLUSTER) {
    const c = data.subarray(at, at + CLUSTER);
    if (c.some((b) => b !== 0)) out.push({ source, data: c });
  }
  return out;
}

/** The stream padded to whole sectors, plus one sector of random bytes. */
function padded(stream: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(stream.length / SECTOR) * SECTOR + SECTOR);
  out.set(stream);
  for (let i = stream.length; i < out.length; i++) out[i] = (random() * 256) | 0;
  return out;
}

interface Item {
  source: string;
  data: Uint8Array;
  /** The stream alone. */
  stream: Uint8Array;
  /** The stream with trailing bytes, as qcow2 hands it over. */
  input: Uint8Array;
}

function zstdCli(clusters: { data: Uint8Array }[]): (Uint8Array | undefined)[] {
  if (spawnSync('zstd', ['--version']).status !== 0) return clusters.map(() => undefined);
  const dir = join(WORK, 'zstd-in');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = clusters.map((c, i) => {
    const f = join(dir, `c${String(i).padStart(5, '0')}`);
    writeFileSync(f, c.data);
    return f;
  });
  const r = spawnSync('zstd', ['-q', '-f', '-3', '--no-check', '--', ...files]);
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return files.map((f) => new Uint8Array(readFileSync(`${f}.zst`)));
}

function buildCorpus() {
  const sources: { source: string; data: Uint8Array }[] = [];
  const disk = readFileSync(join(ROOT, 'fixtures/images/raw/disk.raw'));
  sources.push(...clustersOf(disk, 'disk.raw'));
  sources.push(...clustersOf(readTree('/usr/bin', BIN_BYTES, () => true), '/usr/bin'));
  sources.push(...clustersOf(readTree('/usr/include', TEXT_BYTES, (n) => n.endsWith('.h')), '/usr/include'));

  const deflate: Item[] = [];
  for (const s of sources) {
    const stream = zlib.deflateRawSync(s.data, { level: 6, windowBits: 12, memLevel: 9 });
    if (stream.length < CLUSTER - 1) deflate.push({ ...s, stream, input: padded(stream) });
  }
  const zstd: Item[] = [];
  zstdCli(sources).forEach((stream, i) => {
    if (stream && stream.length < CLUSTER - 1) zstd.push({ ...sources[i]!, stream, input: padded(stream) });
  });
  return { sources, deflate, zstd };
}

// ---------------------------------------------------------------------------------------------
// Candidates

const requireFromCandidates = existsSync(join(CANDIDATES, 'package.json')) ? createRequire(join(CANDIDATES, 'package.json')) : undefined;

/** Imports a package from the project, else from bench/.work/candidates; undefined if neither has it. */
async function load(name: string): Promise<any> {
  try {
    return await import(name);
  } catch {
    if (!requireFromCandidates) return undefined;
    try {
      return await import(pathToFileURL(requireFromCandidates.resolve(name)).href);
    } catch {
      return undefined;
    }
  }
}

function packageVersion(name: string): string {
  for (const base of [ROOT, CANDIDATES]) {
    const p = join(base, 'node_modules', name, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return '';
}

type Decode = (input: Uint8Array, output: Uint8Array) => void | Promise<void>;
interface Candidate {
  name: string;
  note?: string;
  /** Set up once; returns the decoder, or a reason it is not available. */
  setup: () => Promise<Decode | string>;
  /** Give the decoder the stream without trailing bytes (it cannot stop at the stream's end by itself). */
  exactInput?: boolean;
  /** Decompressions in flight. */
  parallel?: number;
}

const inflateRawAsync = promisify(zlib.inflateRaw);

function copyInto(output: Uint8Array, result: Uint8Array): void {
  if (result.length !== output.length) throw new Error(`got ${result.length} bytes, expected ${output.length}`);
  output.set(result);
}

async function decompressionStream(input: Uint8Array, output: Uint8Array): Promise<void> {
  const reader = new Blob([input as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    output.set(value.subarray(0, output.length - at), at);
    at += value.length;
  }
  if (at !== output.length) throw new Error(`got ${at} bytes`);
}

const deflateCandidates: Candidate[] = [
  { name: 'diskprobe browserCodecs.deflateRaw', setup: async () => browserCodecs.deflateRaw },
  { name: 'diskprobe nodeCodecs.deflateRaw', setup: async () => nodeCodecs.deflateRaw },
  ...[2, 4, 8].map((parallel) => ({ name: `diskprobe nodeCodecs.deflateRaw, ${parallel} in flight`, parallel, setup: async () => nodeCodecs.deflateRaw })),
  {
    name: `fflate ${packageVersion('fflate')} inflateSync({ out })`,
    note: 'into the output; decodes on past its end, dropping bytes',
    setup: async () => {
      const m = await load('fflate');
      if (!m) return 'not installed';
      return (input, output) => {
        const r = m.inflateSync(input, { out: output }) as Uint8Array;
        if (r.length !== output.length) throw new Error('short');
      };
    },
  },
  {
    name: `pako ${packageVersion('pako')} inflateRaw`,
    setup: async () => {
      const m = await load('pako');
      if (!m) return 'not installed';
      return (input, output) => copyInto(output, m.inflateRaw(input) as Uint8Array);
    },
  },
  { name: 'node:zlib inflateRawSync', setup: async () => (input, output) => copyInto(output, zlib.inflateRawSync(input)) },
  {
    name: 'node:zlib inflateRawSync({ chunkSize: size + 1, maxOutputLength: size })',
    setup: async () => (input, output) => copyInto(output, zlib.inflateRawSync(input, { chunkSize: output.length + 1, maxOutputLength: output.length })),
  },
  ...[1, 2, 4, 8].map((parallel) => ({
    name: `node:zlib inflateRaw (async), ${parallel} in flight`,
    parallel,
    setup: async (): Promise<Decode> => async (input, output) => copyInto(output, await inflateRawAsync(input)),
  })),
  ...[1, 4].map((parallel) => ({
    name: `DecompressionStream('deflate-raw'), ${parallel} in flight`,
    note: 'Node ignores trailing bytes; browsers reject them',
    parallel,
    setup: async (): Promise<Decode | string> => (typeof DecompressionStream === 'function' ? decompressionStream : 'no DecompressionStream'),
  })),
];

const zstdCandidates: Candidate[] = [
  { name: 'diskprobe browserCodecs.zstd', setup: async () => browserCodecs.zstd },
  { name: 'diskprobe nodeCodecs.zstd', setup: async () => nodeCodecs.zstd },
  {
    name: `fzstd ${packageVersion('fzstd')} decompress(frame, out)`,
    exactInput: true,
    note: 'pure JS; no checksum check',
    setup: async () => {
      const m = await load('fzstd');
      if (!m) return 'not installed';
      return (input, output) => void m.decompress(input, output);
    },
  },
  {
    name: `zstddec ${packageVersion('zstddec')} decode(frame, size)`,
    exactInput: true,
    note: 'wasm, decoder only',
    setup: async () => {
      const m = await load('zstddec');
      if (!m) return 'not installed';
      const d = new m.ZSTDDecoder();
      await d.init();
      return (input, output) => copyInto(output, d.decode(input, output.length) as Uint8Array);
    },
  },
  {
    name: `@bokuweb/zstd-wasm ${packageVersion('@bokuweb/zstd-wasm')} decompress`,
    exactInput: true,
    note: 'wasm, encoder + decoder',
    setup: async () => {
      const m = await load('@bokuweb/zstd-wasm');
      if (!m) return 'not installed';
      await m.init();
      return (input, output) => copyInto(output, m.decompress(input) as Uint8Array);
    },
  },
  {
    name: `@hpcc-js/wasm-zstd ${packageVersion('@hpcc-js/wasm-zstd')} decompress`,
    exactInput: true,
    note: 'wasm, encoder + decoder',
    setup: async () => {
      const m = await load('@hpcc-js/wasm-zstd');
      if (!m) return 'not installed';
      const z = await m.Zstd.load();
      return (input, output) => copyInto(output, z.decompress(input) as Uint8Array);
    },
  },
  {
    name: `zstd-codec ${packageVersion('zstd-codec')} Simple.decompress`,
    exactInput: true,
    note: 'emscripten, encoder + decoder',
    setup: async () => {
      const m = await load('zstd-codec');
      if (!m) return 'not installed';
      const codec = m.ZstdCodec ?? m.default?.ZstdCodec;
      const simple = await new Promise<any>((resolve) => codec.run((zstd: any) => resolve(new zstd.Simple())));
      return (input, output) => copyInto(output, simple.decompress(input) as Uint8Array);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Measurement

interface Row {
  name: string;
  mbps?: number;
  note?: string;
}

async function measure(c: Candidate, items: Item[]): Promise<Row> {
  let decode: Decode | string;
  try {
    decode = await c.setup();
  } catch (e) {
    decode = `setup failed: ${(e as Error).message}`;
  }
  if (typeof decode === 'string') return { name: c.name, note: decode };
  const inputs = items.map((it) => (c.exactInput ? it.input.subarray(0, zstdFrameLength(it.input)) : it.input));
  const parallel = c.parallel ?? 1;
  const outputs = Array.from({ length: parallel }, () => new Uint8Array(CLUSTER));
  // Check every cluster once (this also warms the JIT and any lazy initialisation).
  try {
    for (let i = 0; i < items.length; i++) {
      const out = outputs[0]!;
      out.fill(0);
      await decode(inputs[i]!, out);
      if (!out.every((b, j) => b === items[i]!.data[j])) throw new Error(`cluster ${i} differs`);
    }
  } catch (e) {
    return { name: c.name, note: `fails: ${(e as Error).message.slice(0, 80)}` };
  }
  // ROUNDS rounds of at least MIN_SECONDS / ROUNDS each; the median round's rate.
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let bytes = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < (MIN_SECONDS * 1000) / ROUNDS) {
      if (parallel === 1) {
        const out = outputs[0]!;
        for (const input of inputs) {
          const r = decode(input, out);
          if (r) await r;
        }
      } else {
        let next = 0;
        await Promise.all(
          outputs.map(async (out) => {
            while (next < inputs.length) await decode(inputs[next++]!, out);
          }),
        );
      }
      bytes += inputs.length * CLUSTER;
      elapsed = performance.now() - started;
    }
    rates.push(bytes / 1e6 / (elapsed / 1000));
  }
  return { name: c.name, mbps: median(rates), note: c.note };
}

// ---------------------------------------------------------------------------------------------
// qemu-img reference

/**
 * qemu-img's decompression throughput on the same clusters, in a qcow2 (cluster_size 64 KiB)
 * made by `qemu-img convert -c` with zlib and with zstd, the corpus repeated to make the runs
 * long enough to time. Two ways of reading it:
 * - `qemu-img convert` to a `null-co` target (reads every cluster, writes nowhere), with one
 *   coroutine (`-m 1`) and with the default 8; qcow2 decompresses in a thread pool, so several
 *   coroutines decompress in parallel;
 * - `qemu-img bench`: 64 KiB reads stepping through the image, 1 and 4 in flight; its own
 *   timing ("Run completed in"), so process start-up is not counted.
 * An uncompressed qcow2 of the same data shows what is not decompression.
 */
function qemuReference(sources: { data: Uint8Array }[]): Row[] {
  if (spawnSync('qemu-img', ['--version']).status !== 0) return [{ name: 'qemu-img', note: 'not installed' }];
  const repeat = quick ? 2 : 20;
  const raw = join(WORK, 'corpus.raw');
  const all = new Uint8Array(sources.length * CLUSTER * repeat);
  sources.forEach((s, i) => {
    for (let r = 0; r < repeat; r++) all.set(s.data, (r * sources.length + i) * CLUSTER);
  });
  writeFileSync(raw, all);
  const rows: Row[] = [];
  const runs = quick ? 1 : 5;
  for (const type of ['zlib', 'zstd', 'none']) {
    const img = join(WORK, `corpus-${type}.qcow2`);
    const options = type === 'none' ? ['-o', `cluster_size=${CLUSTER}`] : ['-c', '-o', `cluster_size=${CLUSTER},compression_type=${type}`];
    const made = spawnSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', ...options, raw, img]);
    const label = type === 'none' ? 'uncompressed' : type;
    if (made.status !== 0) {
      rows.push({ name: `qemu-img (${label})`, note: `could not make the image: ${String(made.stderr).slice(0, 80)}` });
      continue;
    }
    for (const coroutines of [1, 8]) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const r = spawnSync('qemu-img', ['convert', '-n', '-m', String(coroutines), '-f', 'qcow2', '--target-image-opts', img, `driver=null-co,size=${all.length}`]);
        if (r.status !== 0) break;
        times.push(performance.now() - t);
      }
      const name = `qemu-img convert (${label}) to null-co, -m ${coroutines}`;
      rows.push(times.length ? { name, mbps: all.length / 1e6 / (median(times) / 1000), note: 'whole process' } : { name, note: 'failed' });
    }
    for (const depth of [1, 4]) {
      const times: number[] = [];
      const count = sources.length * repeat;
      for (let i = 0; i < runs; i++) {
        const r = spawnSync('qemu-img', ['bench', '-f', 'qcow2', '-t', 'writeback', '-i', 'threads', '-c', String(count), '-d', String(depth), '-s', String(CLUSTER), '-S', String(CLUSTER), img], { encoding: 'utf8' });
        const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout);
        if (r.status !== 0 || !m) break;
        times.push(Number(m[1]) * 1000);
      }
      const name = `qemu-img bench (${label}), ${depth} in flight`;
      rows.push(times.length ? { name, mbps: (count * CLUSTER) / 1e6 / (median(times) / 1000), note: 'its own timing' } : { name, note: 'failed' });
    }
    rmSync(img, { force: true });
  }
  rmSync(raw, { force: true });
  return rows;
}

// ---------------------------------------------------------------------------------------------

function table(title: string, rows: Row[]): string {
  const lines = [`### ${title}`, '', '| implementation | MB/s of output | note |', '| --- | ---: | --- |'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.mbps === undefined ? '—' : r.mbps.toFixed(0)} | ${r.note ?? ''} |`);
  return lines.join('\n');
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const { sources, deflate, zstd } = buildCorpus();
  const ratio = (items: Item[]) => (items.reduce((s, it) => s + it.stream.length, 0) / (items.length * CLUSTER)).toFixed(2);
  const bySource = (items: Item[]) => [...new Set(sources.map((s) => s.source))].map((src) => `${items.filter((i) => i.source === src).length} ${src}`).join(', ');
  const out: string[] = [];
  out.push(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${quick ? 'quick run' : `median of ${ROUNDS} rounds, ${MIN_SECONDS} s per row`}.`);
  out.push('');
  out.push(`Corpus: ${sources.length} non-zero 64 KiB clusters; deflate: ${deflate.length} compressible (${bySource(deflate)}), compressed/original ${ratio(deflate)}; zstd: ${zstd.length} (${bySource(zstd)}), ratio ${ratio(zstd)}.`);
  out.push('');
  console.log(out.join('\n'));
  const deflateRows: Row[] = [];
  for (const c of deflateCandidates) {
    const row = await measure(c, deflate);
    console.log(`  ${row.name}: ${row.mbps?.toFixed(0) ?? row.note}`);
    deflateRows.push(row);
  }
  const zstdRows: Row[] = [];
  if (zstd.length === 0) zstdRows.push({ name: 'zstd', note: 'no zstd CLI to make the corpus' });
  else
    for (const c of zstdCandidates) {
      const row = await measure(c, zstd);
      console.log(`  ${row.name}: ${row.mbps?.toFixed(0) ?? row.note}`);
      zstdRows.push(row);
    }
  const qemuRows = qemuReference(sources);
  const report = [
    out.join('\n'),
    table('deflate (raw, 64 KiB clusters, trailing bytes after each stream)', deflateRows),
    '',
    table('zstd (one frame per 64 KiB cluster, trailing bytes after each frame)', zstdRows),
    '',
    table('reference: qemu-img on a qcow2 of the same clusters (cluster_size 64 KiB, -c), repeated', qemuRows),
    '',
  ].join('\n');
  console.log(`\n${report}`);
  writeFileSync(join(ROOT, 'bench/.work', quick ? 'codecs-quick.md' : 'codecs.md'), report);
}

await main();
