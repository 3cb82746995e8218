import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process and captures what it writes. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string; bytes: Uint8Array }> {
  let out = '';
  let err = '';
  const chunks: Uint8Array[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (c: Uint8Array) => chunks.push(c));
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s), stdout });
  stdout.end();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { code, out, err, bytes };
}
