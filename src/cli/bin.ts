#!/usr/bin/env node
/** The `diskprobe` executable: runs the CLI and sets the exit code. */
import { EXIT } from './io.js';
import { main } from './main.js';

// A reader that stops early (`diskprobe ls … | head`) closes the pipe: that ends the output,
// not the process with an unhandled error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

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
