import { open, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { openDisk, readChunks, type FormatName } from '../index.js';
import { isAllZero } from '../util/bytes.js';
import { isUrl, openSource } from '../node/source.js';
import { EXIT, UsageError, type Io } from './io.js';

export const CONVERT_HELP = `Usage: diskprobe convert [-f FORMAT] <image> -O raw <out|->

Writes the guest-visible bytes of <image> (a path or URL) as a raw image to <out>, or to
standard output with "-". The input is probed unless -f names its format; an input that is
not a disk image, or is ambiguous, is refused. The output file is written sparse: chunks of
zeros become holes. The input is never written, and <out> may not be the input itself.

Options:
  -f, --format FORMAT   read <image> as FORMAT (e.g. raw) instead of probing it
  -O FORMAT             output format; only "raw"
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
    },
  });
  if (positionals.length !== 2) throw new UsageError('expected <image> and <out|->');
  if ((values.O ?? 'raw') !== 'raw') throw new UsageError(`output format "${values.O}" is not supported; only raw`);
  const [input, output] = positionals as [string, string];
  const chunkSize = values['chunk-size'] === undefined ? 1024 * 1024 : Number(values['chunk-size']);
  if (!Number.isInteger(chunkSize) || chunkSize < 512 || chunkSize > 64 * 1024 * 1024) {
    throw new UsageError('--chunk-size must be an integer from 512 to 67108864');
  }

  if (output !== '-' && !isUrl(input)) {
    const [a, b] = await Promise.all([stat(input), stat(output).catch(() => undefined)]);
    if (b && a.dev === b.dev && a.ino === b.ino) throw new UsageError('the output is the input file; diskprobe never writes its input');
  }

  const source = await openSource(input);
  try {
    const disk = await openDisk(source, values.format ? { format: values.format as FormatName } : {});
    if (output === '-') {
      for await (const chunk of readChunks(disk, { chunkSize })) {
        if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
      }
      return EXIT.OK;
    }
    const out = await open(output, 'w');
    try {
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
      await out.truncate(disk.size);
    } finally {
      await out.close();
    }
    return EXIT.OK;
  } finally {
    await source.close?.();
  }
}
