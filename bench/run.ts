/**
 * `npm run bench`: measures diskprobe against the reference tools in one run and writes
 * docs/benchmarks.md. `npm run bench -- --quick` is a short smoke run (a 64 MiB image, few
 * iterations) that writes to bench/.work/benchmarks-quick.md instead.
 *
 * Figures are recorded, never asserted: timing belongs here, not in tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync, openSync, writeSync, closeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { cached, fromBytes, fromUrl, probe, readChunks, type BlockDevice } from '../src/index.js';
import { openFile } from '../src/node/index.js';
import { startStaticServer } from '../test/helpers/static-server.js';
import { benchQcow2 } from './qcow2.js';
import { benchFilesystems } from './fs.js';
import { benchInspect } from './inspect.js';
import { benchCheck, benchCheckWindows, benchDigest, benchPipeline } from './check.js';
import { benchVmdk, benchVmdkStream } from './vmdk.js';
import { benchVhd } from './vhd.js';
import { benchRegistry } from './registry.js';
import { median } from './util.js';
import { fileTypeFromBuffer } from 'file-type';

const quick = process.argv.includes('--quick');
const ROOT = join(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench/.work');
const FIXTURES = join(ROOT, 'fixtures');
const IMAGE_BYTES = quick ? 64 << 20 : 1 << 30;
const PROBE_ITERATIONS = quick ? 50 : 2000;
const TOOL_RUNS = quick ? 1 : 7;
const READ_RUNS = quick ? 1 : 5;

mkdirSync(WORK, { recursive: true });

function tool(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Median wall time of running a command, in milliseconds; undefined if it is not installed. */
function timeCommand(cmd: string, args: string[], runs: number): number | undefined {
  if (tool('sh', ['-c', `command -v ${cmd}`]) === undefined) return undefined;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    times.push(performance.now() - t);
    if (r.status !== 0) return undefined;
  }
  return median(times);
}

interface Fixture {
  file: string;
  kind: string;
}

/** Probe latency: in-process through the memory device (µs), and through the file device. */
async function benchProbe(): Promise<string[]> {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as Fixture[];
  const rows: string[] = [];
  for (const { file } of index) {
    const path = join(FIXTURES, file);
    const mem = fromBytes(new Uint8Array(readFileSync(path)), file);
    const result = await probe(mem);
    for (let i = 0; i < 20; i++) await probe(mem); // warm up
    const memTimes: number[] = [];
    for (let i = 0; i < PROBE_ITERATIONS; i++) {
      const t = performance.now();
      await probe(mem);
      memTimes.push(performance.now() - t);
    }
    const fileDev = await openFile(path);
    const fileTimes: number[] = [];
    for (let i = 0; i < Math.min(PROBE_ITERATIONS, 500); i++) {
      const t = performance.now();
      await probe(fileDev);
      fileTimes.push(performance.now() - t);
    }
    await fileDev.close();
    const qemu = timeCommand('qemu-img', ['info', '--output=json', path], TOOL_RUNS);
    const fileCmd = timeCommand('file', ['-b', path], TOOL_RUNS);
    // The JS peer: file-type (npm), on the same bytes in memory (the first 1 MiB, which it reads from).
    const head = new Uint8Array(readFileSync(path).subarray(0, 1 << 20));
    const peer = await fileTypeFromBuffer(head);
    const peerTimes: number[] = [];
    for (let i = 0; i < Math.min(PROBE_ITERATIONS, 500); i++) {
      const t = performance.now();
      await fileTypeFromBuffer(head);
      peerTimes.push(performance.now() - t);
    }
    probeMedians.push(median(memTimes));
    rows.push(
      `| ${file} | ${result.format}${result.subformat ? ` ${result.subformat}` : ''} | ${(median(memTimes) * 1000).toFixed(1)} | ` +
        `${(median(fileTimes) * 1000).toFixed(1)} | ${qemu === undefined ? 'n/a' : (qemu * 1000).toFixed(0)} | ${fileCmd === undefined ? 'n/a' : (fileCmd * 1000).toFixed(0)} | ${(median(peerTimes) * 1000).toFixed(1)} ${peer ? peer.ext : '(none)'} |`,
    );
  }
  return rows;
}

/** file-type's version, for the table's heading. */
const FILE_TYPE_VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../node_modules/file-type/package.json'), 'utf8')) as { version: string }).version;

/** Medians of the in-memory probes, for the corpus throughput line. */
const probeMedians: number[] = [];

/** A non-sparse image of patterned bytes, made once and kept in bench/.work. */
function makeImage(path: string, size: number): void {
  if (existsSync(path) && statSync(path).size === size) return;
  const fd = openSync(path, 'w');
  const chunk = new Uint8Array(1 << 20);
  const view = new DataView(chunk.buffer);
  for (let at = 0; at < size; at += chunk.length) {
    for (let i = 0; i < chunk.length; i += 8) view.setFloat64(i, at + i);
    writeSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
  }
  closeSync(fd);
}

function slower(base: number, rate: number): string {
  const pct = ((base - rate) / base) * 100;
  return pct >= 0 ? `${pct.toFixed(1)} % slower` : `${(-pct).toFixed(1)} % faster`;
}

/** Sequential read throughput in MB/s (10^6 bytes per second), median of runs. */
async function throughput(dev: BlockDevice, chunkSize: number): Promise<number> {
  const rates: number[] = [];
  for (let run = 0; run < READ_RUNS; run++) {
    const t = performance.now();
    let n = 0;
    for await (const c of readChunks(dev, { chunkSize })) n += c.length;
    rates.push(n / 1e6 / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

async function benchRead(): Promise<string[]> {
  const path = join(WORK, `seq-${IMAGE_BYTES}.raw`);
  makeImage(path, IMAGE_BYTES);
  const rows: string[] = [];
  const MiB = 1 << 20;

  const file = await openFile(path);
  for await (const _ of readChunks(file, { chunkSize: MiB })); // bring it into the page cache
  const rss0 = process.memoryUsage().rss;
  const fileRate = await throughput(file, MiB);
  rows.push(`| file device, 1 MiB reads | ${fileRate.toFixed(0)} | — |`);
  const cachedRate = await throughput(cached(file, { blockSize: 64 * 1024, maxBytes: 32 * MiB }), MiB);
  rows.push(`| cached(file), 64 KiB blocks, 1 MiB reads | ${cachedRate.toFixed(0)} | ${slower(fileRate, cachedRate)} than the file device (large reads bypass the cache) |`);
  const fileSmall = await throughput(file, 64 * 1024);
  rows.push(`| file device, 64 KiB reads | ${fileSmall.toFixed(0)} | — |`);
  const cachedSmall = await throughput(cached(file, { blockSize: 64 * 1024, maxBytes: 32 * MiB }), 64 * 1024);
  rows.push(`| cached(file), 64 KiB blocks, 64 KiB reads | ${cachedSmall.toFixed(0)} | ${slower(fileSmall, cachedSmall)} than the file device (every block cached) |`);
  const rssGrowth = (process.memoryUsage().rss - rss0) / MiB;
  await file.close();

  const server = await startStaticServer(WORK);
  try {
    const http = await fromUrl(`${server.url}/seq-${IMAGE_BYTES}.raw`);
    const httpRate = await throughput(http, MiB);
    rows.push(`| HTTP device (127.0.0.1), 1 MiB reads | ${httpRate.toFixed(0)} | ${http.stats.requests} requests |`);
    const httpCached = cached(await fromUrl(`${server.url}/seq-${IMAGE_BYTES}.raw`), { blockSize: 256 * 1024 });
    const httpCachedRate = await throughput(httpCached, 64 * 1024);
    rows.push(`| cached(HTTP), 256 KiB blocks, 64 KiB reads | ${httpCachedRate.toFixed(0)} | ${httpCached.stats.reads} device reads |`);
  } finally {
    await server.close();
  }

  // A reference for the page cache's own speed: dd with 1 MiB blocks.
  const ddTimes: number[] = [];
  for (let i = 0; i < READ_RUNS; i++) {
    const t = performance.now();
    const r = spawnSync('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' });
    if (r.status !== 0) break;
    ddTimes.push(performance.now() - t);
  }
  if (ddTimes.length) rows.push(`| reference: dd bs=1M to /dev/null | ${(IMAGE_BYTES / 1e6 / (median(ddTimes) / 1000)).toFixed(0)} | process start included |`);
  rows.push(`| resident memory growth while reading (file + cached) | ${rssGrowth.toFixed(1)} MiB | — |`);
  return rows;
}

function machine(): string[] {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const qemu = tool('qemu-img', ['--version'])?.split('\n')[0] ?? 'not installed';
  const fileVersion = tool('file', ['--version'])?.split('\n')[0] ?? 'not installed';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  return [
    `- Date: ${new Date().toISOString().slice(0, 10)}; diskprobe commit ${commit}`,
    `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}`,
    `- Reference tools: ${qemu}; ${fileVersion}`,
  ];
}

const probeRows = await benchProbe();
const readRows = await benchRead();
const { rows: qcow2Rows, cold: qcow2Cold } = await benchQcow2(WORK, IMAGE_BYTES, quick ? 1 : 3);
const vmdkRows = await benchVmdk(WORK, join(WORK, `compressible-${IMAGE_BYTES}.raw`), IMAGE_BYTES, quick ? 1 : 3);
const vmdkStreamRows = await benchVmdkStream(WORK, IMAGE_BYTES, quick ? 1 : 3);
const vhdRows = await benchVhd(WORK, join(WORK, `compressible-${IMAGE_BYTES}.raw`), IMAGE_BYTES, quick ? 1 : 3);
const fsRows = await benchFilesystems(WORK, IMAGE_BYTES, quick ? 1 : 3, quick);
const inspectRows = await benchInspect(WORK, quick, quick ? 1 : 5);
const checkRows = await benchCheck(WORK, ROOT, quick, quick ? 1 : 5);
const digestRows = await benchDigest(join(WORK, `compressible-${IMAGE_BYTES}.raw`), quick ? 1 : 3);
const registryRows = await benchRegistry(WORK, quick ? 1 : 3, quick);
const windowsRows = await benchCheckWindows(ROOT, quick, quick ? 1 : 5);
const pipelineRows = await benchPipeline(WORK, ROOT, quick, quick ? 1 : 3);
const doc = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); the figures below are from the last full run.
Medians of repeated runs. Probe times are for one \`probe()\` call in-process, on a warm
process; \`qemu-img info\` and \`file\` are timed as processes (start-up included), which is how
pipelines call them. Throughput is in MB/s (10^6 bytes per second) from the page cache.

${machine().join('\n')}

## Probe latency (${PROBE_ITERATIONS} iterations)

Targets: 50 µs median or less in-process (issue #2); 20,000 images per second in-process on one
core across the corpus (issue #15). The last column is the JavaScript peer, \`file-type\` from
npm (${FILE_TYPE_VERSION}), on the first MiB of each file in memory, and what it names: it knows
ISO and the archive formats, and no virtual disk format.

| fixture | format | diskprobe, memory (µs) | diskprobe, file (µs) | qemu-img info (µs) | file -b (µs) | file-type (µs), found |
|---|---|---:|---:|---:|---:|---|
${probeRows.join('\n')}

Across the corpus (${probeMedians.length} images), one in-memory probe of each takes
${(probeMedians.reduce((a, b) => a + b, 0) * 1000).toFixed(0)} µs in all: ${(probeMedians.length / (probeMedians.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)} images per second on one core.

## Sequential reads of a ${IMAGE_BYTES >= 1 << 30 ? `${IMAGE_BYTES / 2 ** 30} GiB` : `${IMAGE_BYTES / 2 ** 20} MiB`} raw image

Targets (issue #2): the file device at 2 GB/s or more with 1 MiB reads; the cached device adds
under 10 % on sequential reads.

| path | MB/s | note |
|---|---:|---|
${readRows.join('\n')}

## qcow2: sequential 64 KiB reads beside qemu-img bench

Targets (issue #3): uncompressed at 0.5× qemu or better; zlib-compressed at 1.0× or better;
zstd at 0.5× or better; resident memory growth under 64 MiB while reading the whole image.
\`qemu-img bench -c N -d DEPTH -s 65536 -S 65536 -f qcow2\` reads the same requests; at depth 64
both tools keep 64 requests in flight (qemu decompresses in its thread pool, diskprobe's Node
codecs in worker threads, one per core), and each request slot reads into one buffer it reuses
(qemu-img bench's way; diskprobe's \`readInto\`). "browser codecs" are the pure JS/wasm decoders
the core uses by default.

| image | decoders | depth | diskprobe MB/s | qemu-img bench MB/s | ratio | RSS growth |
|---|---|---:|---:|---:|---:|---:|
${qcow2Rows.join('\n')}

RSS growth above is measured inside this long-running bench process, from just before each
image is opened to just after it was read, largest of the runs: the steady state of a process
that reads images one after another. The same passes from a cold start, each in a Node process
of its own (\`bench/qcow2-child.ts\`, Node codecs), peak growth sampled every 10 ms from just
before the image is opened, so it includes starting the decoder workers and compiling libzstd;
"after 64 MiB" is the peak over the resident set once the first 64 MiB were read (what reading
the other 960 MiB added); the last column reads with \`read\`, which returns a fresh buffer per
request:

| image | depth | MB/s | peak RSS growth, first 64 MiB | peak RSS growth, whole image | of which after 64 MiB | whole image with \`read\` |
|---|---:|---:|---:|---:|---:|---:|
${qcow2Cold.join('\n')}

## VMDK: sequential 64 KiB reads beside qemu-img bench

Targets (issue #9): monolithicSparse at 0.5× qemu or better, streamOptimized at 1.0× or
better. The same data as the qcow2 table (the compressible image), converted by qemu-img;
both tools read it whole in 64 KiB requests at depth 1 and 64 (\`qemu-img bench -f vmdk\`),
Node codecs, ${quick ? 1 : 3} runs each, medians.

| subformat | depth | diskprobe | qemu-img bench | ratio | target |
|---|---:|---:|---:|---:|---:|
${vmdkRows.join('\n')}

The one-pass mode (\`streamVmdk\`, target 1.0× qemu or better with under 64 MiB resident
growth): the streamOptimized image read once from a Node file stream, guest bytes out in
order, Node codecs; qemu-img bench reads the same image at depth 1 (it cannot read a stream).

| mode | diskprobe | qemu-img bench, depth 1 | ratio | peak RSS growth |
|---|---:|---:|---:|---:|
${vmdkStreamRows.join('\n')}

## VHD and VHDX: sequential 64 KiB reads beside qemu-img bench

Target (issue #10): dynamic VHD and dynamic VHDX at 0.5× qemu or better. The compressible
image converted by qemu-img (\`-O vpc\` and \`-O vhdx\`, subformat dynamic), read whole at depth 1
and 64 by both tools (\`qemu-img bench -f vpc\`, \`-f vhdx\`), ${quick ? 1 : 3} runs each, medians.

| image | depth | diskprobe | qemu-img bench | ratio | target |
|---|---:|---:|---:|---:|---:|
${vhdRows.join('\n')}

## Filesystems: a 100,000-file walk and a ${IMAGE_BYTES >= 1 << 30 ? `${IMAGE_BYTES / 2 ** 30} GiB` : `${IMAGE_BYTES / 2 ** 20} MiB`} file, beside each filesystem's tools

Targets (issues #5 and #6): the walk in under 2 s; the large file at 1 GB/s or more. Raw
images of 100 directories of 1,000 small files and the large file (ext4 made with
\`mkfs.ext4 -d\`, XFS filled through a loop mount), read through the file device. diskprobe
opens the filesystem, lists every directory and \`lstat\`s every entry, then streams the file
in 8 MiB chunks. ext4: \`debugfs -f\` runs \`ls -l\` on every directory (which reads every
inode), \`fls -r -l\` walks the tree, \`debugfs dump\` and \`icat\` write the file to
/dev/null. XFS: \`xfs_db\` lists every directory (entries only; it cannot read files), and the
kernel, through a read-only loop mount, walks with \`find\` (a stat of each entry) and reads the
file with \`cat\`. Each tool is one process per run; medians of ${quick ? 1 : 3} runs.

| filesystem | task | diskprobe | reference tools, same run |
|---|---|---:|---|
${fsRows.join('\n')}

## Guest inspection: a ${quick ? '512 MiB' : '2 GiB'} guest in a qcow2 file

Target (issue #7): \`inspect\` under 300 ms and under 32 MiB read from the image. The guest
(bench/inspect.ts) is a GPT disk with /boot (this machine's own kernel, initramfs and config)
and / on ext4, filled from this machine's /etc and part of /usr, an fstab by UUID and a
grub.cfg; an uncompressed qcow2 read through the file device. diskprobe opens the image and
inspects it (roots, identity, mounts, kernels, boot default, services, configuration), medians
of ${quick ? 1 : 5} runs, counting the bytes read from the file. With \`--initramfs\` it also reads,
expands and lists the default kernel's initramfs. virt-inspector boots libguestfs's appliance
(here with qemu's TCG, LIBGUESTFS_BACKEND_SETTINGS=force_tcg, which is how libguestfs runs on this machine) and reads the same.

| tool | time | read from the image | found |
|---|---:|---:|---|
${inspectRows.join('\n')}

## Cloud checks: a ${quick ? '1 GiB' : '20 GiB'} guest in a qcow2 file, every profile

Target (issue #8): \`diskprobe check --profile all --no-md5\` under 1 s for the whole CLI
process, at least 20× faster than virt-inspector, and under 64 MiB read from the image. The
guest is the one above on a ${quick ? '1 GiB' : '20 GiB'} disk. In process, \`check()\` opens the image, inspects
it and runs every item of every profile (the initramfs is expanded because this kernel's virtio
drivers are modules), counting the bytes read from the file; the CLI row is the whole process
(\`node dist/cli/bin.js\`), start-up included. virt-inspector only inspects (it has no checks).

| tool | time | read from the image | found |
|---|---:|---:|---|
${checkRows.join('\n')}

### Windows guests

Target (issue #13): \`diskprobe check --profile all --no-md5\` on a Windows fixture image under
1 s for the whole CLI process. The images are fixtures/windows.sh's (64 MiB disks: an MBR/BIOS
Windows Server 2019 and a GPT/UEFI Windows 10 with a dirty SYSTEM hive replayed from its log);
their hives are small, so hive size is not what this measures — the registry rows below give
what a 71 MiB hive costs. Inspection opens all five hives with their logs, reads the BCD, the
PE headers of ntoskrnl.exe and seven drivers, and lists System32\\drivers and the driver store.

| run | time | read from the image | found |
|---|---:|---:|---|
${windowsRows.join('\n')}

### Memory, batches, HTTP (issue #15)

Targets (issue #15): resident memory under 200 MiB for any single check; over HTTP, a full check
of a 20 GiB-virtual image reads under 1 % of its allocated bytes. Peak RSS is GNU time's
maximum resident set of the whole CLI process. The batch rows check every check and Windows
fixture (and the VMDK of the browser test) in one process, one or two at a time. The HTTP row
serves the guest's qcow2 file above from a local range server and checks it with \`fromUrl\`.

| run | time or size | fetched | note |
|---|---:|---:|---|
${pipelineRows.join('\n')}

### The image's MD5 and SHA-256

Target (issue #8): the digest within 10 % of \`md5sum\`'s throughput on the same file (from the
page cache). diskprobe hashes MD5 on the main thread and SHA-256 in a worker reading the file on
its own, so asking for both costs about the time of MD5 alone.

| tool | time | throughput | |
|---|---:|---:|---|
${digestRows.join('\n')}

## Registry hives: export and lookups

Target (issue #12): a full export of a hive of 50 MiB or more at least as fast as \`hivexml\`.
The hive (bench/registry.ts) is written from the regf layout: ${quick ? 100 : 1000} keys of 50 subkeys each
(index roots over hash leaves), each subkey with eight values (strings, DWORDs, a QWORD, a
REG_MULTI_SZ, binary data of 64 to 1,600 bytes) — the shape of a SOFTWARE hive. diskprobe opens
it from memory and exports every key and value as .reg text (\`exportReg\`, the text counted,
not written); hivexml and regfexport read the same file and write to /dev/null. The lookups
open the hive and find 100,000 random subkeys by path, the second component in another case;
hivexsh runs the same 100,000 \`cd\` commands from a script. ${quick ? 1 : 3} runs, medians.

| job | diskprobe | reference tools |
|---|---:|---|
${registryRows.join('\n')}

## Notes

- **The block cache and the garbage collector.** A cache that keeps the 1 MiB buffers of a
  sequential scan made that scan about 45 % slower than the bare file device: the buffers it
  retains survive scavenges, get promoted, and their external memory then forces mark-compact
  collections (\`--trace-gc\`: 61 mark-compacts in four 1 GiB passes, against none for the file
  device; a cache of one block ran at file speed). \`cached()\` is therefore scan-resistant:
  a read of \`directBytes\` or more (default 4 blocks, at least 256 KiB) that is not wholly
  cached goes straight to the device. Small reads — what the cache is for: metadata, probes,
  HTTP — are cached, and still pay that collection cost when they stream gigabytes, as the
  64 KiB-read row shows.
- **HTTP.** Against the in-process Node server on 127.0.0.1 the HTTP device is bounded by
  Node's fetch and by the server sharing its event loop: a bare \`fetch\` + \`arrayBuffer()\`
  loop of 1 MiB ranges measured 159 MB/s and curl against the same server 381 MB/s when this
  was investigated, the HTTP device 200 MB/s. Real object stores are further away; the number
  that matters there is requests, which the cache keeps down.
- **qcow2 reads: what was slow, and what changed.** (1) The file device zero-filled every
  buffer and went through \`FileHandle.read\`; reading into an unzeroed buffer with the
  callback \`fs.read\` on the descriptor raised uncompressed 64 KiB reads at depth 64 from
  1680 to 2562 MB/s in the table above (about 4700 MB/s in a standalone loop over an image
  whose L2 tables were already cached). (2) Cached L2 tables are now looked up synchronously (a resolved
  promise still cost an await per request). (3) A request that maps to one contiguous host run
  is handed the device's buffer, without a second allocation and copy. (4) zstd: libzstd in
  WebAssembly decodes about 550 MB/s on one core (\`npm run bench:codecs\`), qemu's native
  libzstd faster; with many reads in flight the Node decoder sends frames to worker threads
  (one per core), which lifted depth 64 from about 300 to about 350-380 MB/s. Profiles show the
  remaining gap is not decoding: the main thread is about 28 % idle and the process uses 1.6 of
  2 cores; per-frame messaging and the competition of workers, libuv's thread pool and the
  main thread for two cores cost the rest. Joining adjacent concurrent reads into one pread
  (tried) gained under 5 %, within noise, and was not kept. (5) What did pay: compressed
  clusters are a few KiB each and lie one after another, so the reader fetches them through a
  512 KiB-block \`cached()\` device: one pread for many clusters. zstd went from 242 to 369
  MB/s at depth 1 and from 353 to 444 MB/s at depth 64 (a standalone loop, before this run).
- **zstd on two cores, and the memory it took (issue #3).** The worker pool first sent each
  frame to a worker and each result back as transferred ArrayBuffers: two allocations per
  64 KiB cluster. Profiles showed the main thread spending 23 % of its time in the garbage
  collector and the process growing 160 MiB (arrayBuffers: 105 MB of dead buffers at the end
  of a 1 GiB read); workers also loaded zstddec's JavaScript, which fetches its embedded module
  through a data: URL and so pulled Node's fetch implementation into each worker (about 15 MiB
  each). Now each worker has a mailbox of slots in one SharedArrayBuffer: the main thread copies
  a frame into a free slot and posts the slot's number, the worker decodes into the same slot
  and posts it back, and nothing is allocated per frame on either side; workers instantiate
  the module the main thread compiled (the compiled code is shared) without any of zstddec's
  JavaScript. Depth 64 went from 420-460 to 480-590 MB/s in standalone loops (0.51× qemu in the
  table above), the two workers' start-up from 31 to 3 MiB, and growth inside the bench process
  from 82.5 to 15 MiB. Measured from a cold start (the second table), a process grows 35-110 MiB:
  most of it is reached within the first 64 MiB read (V8 sizing its young generation to the
  allocation rate, compiled code, and up to about 64 MB of dead external buffers the collector
  leaves before it runs), a loop that only allocates the buffers it returns already grows
  about 45 MiB, and the growth does not follow the image size. The next item removed the
  allocations.
- **A scan that allocates nothing per cluster (issue #3).** Three sources of dead buffers were
  left: the buffer \`read\` returns for each request, node:zlib's result for each cluster (its
  public calls allocate it; the asynchronous call also kept up to 64 MiB of them alive until a
  collection, 66 MiB of growth in one recorded run), and the cache's 512 KiB blocks of
  compressed data. Now (1) devices and qcow2 disks have \`readInto(offset, buffer)\`, and the
  bench reads into one reused buffer per request slot, as qemu-img bench does; (2) deflate runs
  in worker threads like zstd, through the same shared-memory mailboxes, with node:zlib's handle
  (\`writeSync\`, which takes an output buffer and offset) writing straight into the slot, and
  inline on the main thread for a lone request the same way; (3) compressed runs are read into
  pooled buffers, through a cache that reuses evicted blocks (pinned while a reader still
  copies out of them: a read into a reused buffer lands on another thread at any moment). In
  this process the growth went from 66.2 / 15 MiB (zlib / zstd at depth 64) to 17-18 / 21 MiB,
  and throughput rose with it: zlib at depth 64 from 458 to 490-570 MB/s and at depth 1 from
  188 to about 320 (native zlib inline instead of a thread-pool hop), zstd at depth 64 from 556
  to 675-700. From a cold start a process still grows 64-93 MiB at depth 64: most of it is
  fixed cost paid in the first 64 MiB (two worker threads, libzstd compiled and instantiated
  three times, pooled buffers) and V8 growing the main thread's young generation to its
  allocation rate (with \`--max-semi-space-size=2\` the zlib figure is about 55 MiB); reading
  the remaining 960 MiB adds 20-43 MiB, the column "of which after 64 MiB".
- **The large-file rows vary, and the whole library costs collections (open, for #15).** The
  1 GiB file reads of the table above went from about 5.8 GB/s (a run earlier the same day) to
  1.6-2.5 GB/s in this one, with no change to the read path: the page cache here holds about
  the size of the file, so what earlier stages left in it decides much. A standalone loop shows a
  second, smaller effect: with \`src/index.ts\` imported (as the bench does) a 1 GiB ext4 read
  runs about 37 mark-compact collections ("GC in old space requested": the external-memory limit
  of the 8 MiB result buffers) and 0.25 s of user time, against none and 0.03 s when only
  src/fs is imported; 2.2-2.9 against 3.1-3.7 GB/s. The read path allocates a buffer per
  request; reading into reused buffers, as the qcow2 scan now can, would remove both.
- **Checks: the initramfs is most of the time (issue #8).** Every profile runs over one
  inspection, and all items read through one memoised context, so ten profiles cost little more
  than one (the items themselves take about 60 ms). What costs is the default kernel's
  initramfs: this machine's is 34 MiB of zstd expanding to 141 MiB, which libzstd (WebAssembly)
  decodes in about 300 ms. The first version copied the output out of the wasm heap into a new
  array: 0.9 s and 460 MB for the whole process. The cpio is now listed where libzstd wrote it
  (\`zstdExpandWith\`), with no copy: 0.7 s and 330 MB. The gap between the in-process figure and
  the whole process (about 0.4 s) is Node's start, loading the bundle, compiling the wasm module
  and cold code; a streaming decoder that stops holding the 141 MiB would take the memory
  further down (zstddec exports no streaming API; for #15). The whole-process row varies
  between runs of this bench (783 ms in one, 978 ms in the next, with other rows' 1 GiB files
  passing through a page cache of about 1 GiB); run by hand right after, five times: 0.97 s with
  the image cold, then 0.79-0.82 s. Node's start is 0.09 s of it.
- **VHD and VHDX at depth 1 vary (issue #10).** Runs the same afternoon gave dynamic VHD
  0.54-0.83× qemu-img bench and dynamic VHDX 0.61-1.08× at depth 1 (both tools read the same
  1 GiB from the page cache, which the other rows' files compete for); depth 64 stays at or
  above 0.86×. Sector bitmaps are now used without an await once loaded (after the run above):
  a run by hand right after gave 0.67× for VHD at depth 1.
- **A cache that moved every hit to the back (issue #5).** The first ext walk took 2.2 s, a
  third of it in the inode cache. Its LRU did what the block cache did: on a hit, delete the
  key and set it again, and on overflow take \`keys().next()\` after each deletion. In V8 both
  are slow: deleting and re-setting one key over and over costs about 5 µs a time (300,000
  hits of one key: 1.6 s, against 3 ms for marking it), and the first key after many deletions
  is found by walking the deleted slots. Both caches (\`cached()\` and src/util/lru.ts) now mark
  a hit and evict in batches, oldest first with a second chance for marked entries (CLOCK):
  the walk went to 0.9 s. Reading metadata in 64 KiB blocks instead of 4 KiB (inode tables lie
  in long runs), checking a group descriptor's checksum once, and handing a contiguous file
  read the device's buffer uncopied did the rest; the 1 GiB read went from 0.56 to 3 GB/s.
- **Page cache on this machine.** \`free\` shows about 1 GiB of page cache kept while 21 GiB
  are free, so after the benchmark writes its images (several GiB) the first passes over a
  1 GiB image read partly from disk: a standalone loop measured the file device at 439 MB/s on
  its first 1 MiB-read pass and 3.5-3.7 GB/s on the next three. Rows measured first in a run
  (the file device's) vary from run to run between about 1.5 and 4.6 GB/s for that reason.
- **A measurement trap.** \`n += await read()\` reads \`n\` before the await, so concurrent
  workers lose updates; an early draft of these measurements "found" depth-64 reads ten times
  slower than they were. The bench adds after the await.
- **Registry export: 3.6 s to 0.7 s (issue #12).** The first .reg export of the hive above took
  3.57 s beside hivexml's 0.81 s; a profile put two thirds of it in formatting hex (a string per
  byte from \`toString(16).padStart\`, an array of them per value, then a regex pass turning
  \`\\n\` into \`\\r\\n\`). A table of the 256 \`"xx,"\` strings, the line ending written in place,
  text handed out in 64 K-character chunks and value bytes as views of the hive (no copy) made
  it 0.62-0.71 s. Lookups went from 8.1 s to 0.17-0.19 s for 100,000: the first lookup in a key
  with many subkeys builds a map of its upper-cased names, instead of decoding and upper-casing
  up to 1,000 names per step. regfexport (libregf 20201007) ran 587 s on this hive in a first,
  unbounded run; the bench now stops it at two minutes.
- **A check's memory: 325 MiB to 158 MiB (issue #15).** The Linux check's peak RSS was 325 MiB
  (GNU time, whole process) against a 200 MiB target, and its time 0.8 s: the default kernel's
  zstd initramfs (36 MiB compressed, 141 MiB expanded) was expanded whole into libzstd's wasm
  heap, which never shrinks, to list its cpio. zstd segments are now expanded as a stream
  (ZSTD_decompressStream from zstddec's stream build, 128 KiB of output at a time, every libzstd
  result checked) and the cpio is listed as it arrives, keeping only a header and a name: 158 MiB
  and 0.54 s for the same check, the same verdicts. Other compressions (gzip, xz, lz4, bzip2)
  still expand whole; Debian, Ubuntu and Fedora use zstd.
- **Probe through the file device** costs two reads (64 KiB head, 1 KiB tail) through libuv's
  thread pool, plus a few for VHDX, VMDK and tar; in-process probing of bytes already read is
  the figure the target is about.
`;

const out = quick ? join(WORK, 'benchmarks-quick.md') : join(ROOT, 'docs/benchmarks.md');
writeFileSync(out, doc);
process.stdout.write(doc);
process.stdout.write(`\nwritten to ${out}\n`);
