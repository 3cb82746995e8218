import { open, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { readChunks, type FormatName } from '../index.js';
import { isAllZero } from '../util/bytes.js';
import { openImage, type OpenImageOptions } from '../node/image.js';
import { EXIT, UsageError, type Io } from './io.js';
import { fixedVhdFooter } from '../container/vhd/write.js';

export const CONVERT_HELP = `Usage: diskprobe convert [-f FORMAT] [--snapshot NAME] <image> -O raw|vpc [--subformat fixed] <out|->

Writes the guest-visible bytes of <image> (a path or URL) as a raw image to <out>, or to
standard output with "-". The input is probed unless -f names its format; an input that is
not a disk image, or is ambiguous, is refused. The output file is written sparse: chunks of
zeros become holes. Backing files are read next to the image (never outside its folder).
The input is never written, and <out> may not be the input itself.

Options:
  -f, --format FORMAT   read <image> as FORMAT (e.g. raw) instead of probing it
  --snapshot NAME       write an internal snapshot (qcow2) instead of the active image
  -O FORMAT             output format: raw, or vpc (alias vhd) with --subformat fixed: a
                        fixed VHD whose size is rounded up to a whole MiB, with a footer sized
                        by current_size (what Azure requires; qemu-img reads it the same way)
  --subformat fixed     the only VHD subformat written
  --chunk-size BYTES    bytes per read (default 1048576)
  -h, --help            show this help

Exit codes: 0 written; 2 usage error, or the input could not be read or converted.
`;

export async function convertCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f' },
      O: { type: 'string', short: 'O' },
      'chunk-size': { type: 'string' },
      snapshot: { type: 'string' },
      subformat: { type: 'string' },
    },
  });
  if (positionals.length !== 2) throw new UsageError('expected <image> and <out|->');
  const target = values.O ?? 'raw';
  if (target !== 'raw' && target !== 'vpc' && target !== 'vhd') throw new UsageError(`output format "${values.O}" is not supported; raw or vpc`);
  const vhd = target !== 'raw';
  if (vhd && (values.subformat ?? 'fixed') !== 'fixed') throw new UsageError('only --subformat fixed is written for VHD');
  if (!vhd && values.subformat !== undefined) throw new UsageError('--subformat goes with -O vpc');
  const [input, output] = positionals as [string, string];
  const chunkSize = values['chunk-size'] === undefined ? 1024 * 1024 : Number(values['chunk-size']);
  if (!Number.isInteger(chunkSize) || chunkSize < 512 || chunkSize > 64 * 1024 * 1024) {
    throw new UsageError('--chunk-size must be an integer from 512 to 67108864');
  }

  const options: OpenImageOptions = {};
  if (values.format) options.format = values.format as FormatName;
  if (values.snapshot !== undefined) options.snapshot = values.snapshot;
  const image = await openImage(input, options).catch((e: unknown) => {
    // The library's hint names its option; the CLI's user needs the flag.
    if (e instanceof Error) e.message = e.message.replace("pass { format: 'raw' }", 'use -f raw');
    throw e;
  });
  try {
    const disk = image.disk;
    // A fixed VHD: the data rounded up to a whole MiB, then the footer.
    const dataSize = vhd ? Math.ceil(disk.size / 1048576) * 1048576 : disk.size;
    const footer = vhd ? fixedVhdFooter(dataSize) : undefined;
    if (output === '-') {
      for await (const chunk of readChunks(disk, { chunkSize })) {
        if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
      }
      if (footer) {
        if (dataSize > disk.size && !io.stdout.write(new Uint8Array(dataSize - disk.size))) await once(io.stdout, 'drain');
        if (!io.stdout.write(footer)) await once(io.stdout, 'drain');
      }
      return EXIT.OK;
    }
    // The output may be none of the files the image reads: not the image, nor a backing file,
    // nor a data file. Checked before anything is truncated, and again on the opened handle.
    const inputs = (await Promise.all(image.devices.map((d) => (d.path === undefined ? undefined : stat(d.path).catch(() => undefined))))).filter(
      (s): s is Stats => s !== undefined,
    );
    const isInput = (s: Stats) => inputs.some((i) => i.dev === s.dev && i.ino === s.ino);
    const existing = await stat(output).catch(() => undefined);
    if (existing && isInput(existing)) throw new UsageError('the output is one of the files the image reads; diskprobe never writes its input');
    const out = await open(output, existing ? 'r+' : 'wx');
    const created = !existing;
    let complete = false;
    try {
      if (isInput(await out.stat())) throw new UsageError('the output is one of the files the image reads; diskprobe never writes its input');
      await out.truncate(0);
      let offset = 0;
      for await (const chunk of readChunks(disk, { chunkSize })) {
        if (!isAllZero(chunk)) {
          let written = 0;
          while (written < chunk.length) {
            const { bytesWritten } = await out.write(chunk, written, chunk.length - written, offset + written);
            written += bytesWritten;
          }
        }
        offset += chunk.length;
      }
      await out.truncate(dataSize);
      if (footer) await out.write(footer, 0, footer.length, dataSize);
      complete = true;
    } finally {
      await out.close();
      // A conversion this run started and could not finish leaves no half-written image.
      if (!complete && created) await unlink(output).catch(() => undefined);
    }
    return EXIT.OK;
  } finally {
    await image.close();
  }
}
