#!/usr/bin/env node
/** The `diskprobe` executable: runs the CLI and sets the exit code. */
import { EXIT } from './io.js';
import { main } from './main.js';

main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdout: process.stdout,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`diskprobe: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT.USAGE;
  },
);
