/**
 * One qcow2 read pass in a process of its own, for resident memory measured from a cold
 * start (bench/qcow2.ts runs it): `tsx bench/qcow2-child.ts IMAGE node|node-read|browser|alloc DEPTH`.
 * `node` and `browser` read with `readInto`, each request slot reusing one buffer (as
 * qemu-img bench does); `node-read` reads with `read`, which returns a fresh buffer each time.
 * Prints `{ rate, peakGrowth, endGrowth, afterWarm }` as JSON: MB/s, and the resident set's
 * growth in MiB from just before the image is opened to its peak while reading (sampled every
 * 10 ms) and to the end, and from when the first 64 MiB had been read to the peak after it. `alloc` reads nothing: it allocates a 64 KiB buffer per request the way any reader
 * that returns fresh buffers does, as the floor the garbage collector alone puts under RSS.
 */
import { openDisk } from '../src/index.js';
import { browserCodecs } from '../src/codec/index.js';
import { nodeCodecs, openFile } from '../src/node/index.js';

const [path, mode, depthArg, limitArg] = process.argv.slice(2);
const depth = Number(depthArg ?? 64);
const REQUEST = 64 * 1024;

const rss0 = process.memoryUsage().rss;
let peak = rss0;
/** Resident set once the first 64 MiB are read (workers started, pools filled), and its peak after. */
const WARM = 64 * 1024 * 1024;
let warm: number | undefined;
let peakAfterWarm = 0;
const sample = () => {
  const rss = process.memoryUsage().rss;
  peak = Math.max(peak, rss);
  if (warm !== undefined) peakAfterWarm = Math.max(peakAfterWarm, rss);
};
const sampler = setInterval(sample, 10);

const dev = await openFile(path!);
const disk = mode === 'alloc' ? undefined : await openDisk(dev, { codecs: mode === 'browser' ? browserCodecs : nodeCodecs });
const size = Math.min(disk?.size ?? dev.size, Number(limitArg ?? Infinity));
const read = !disk
  ? async (_at: number, n: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      return new Uint8Array(n).length;
    }
  : mode === 'node-read'
    ? async (at: number, n: number) => (await disk.read(at, n)).length
    : async (at: number, n: number, buffer: Uint8Array) => {
        await disk.readInto!(at, n === buffer.length ? buffer : buffer.subarray(0, n));
        return n;
      };

const started = performance.now();
let next = 0;
let bytes = 0;
await Promise.all(
  Array.from({ length: depth }, async () => {
    const buffer = new Uint8Array(REQUEST);
    while (next < size) {
      const at = next;
      next += REQUEST;
      const n = await read(at, Math.min(REQUEST, size - at), buffer);
      bytes += n;
      if (warm === undefined && bytes >= WARM) warm = process.memoryUsage().rss;
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
sample();
const end = process.memoryUsage().rss;
await dev.close();
const afterWarm = warm === undefined ? null : Math.max(0, peakAfterWarm - warm) / 2 ** 20;
process.stdout.write(JSON.stringify({ rate: bytes / 1e6 / seconds, peakGrowth: (peak - rss0) / 2 ** 20, endGrowth: (end - rss0) / 2 ** 20, afterWarm }) + '\n');
