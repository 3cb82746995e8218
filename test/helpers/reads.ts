/** Shared read checks for container readers: the whole disk, and random reads against it. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import { readChunks, type BlockDevice } from '../../src/index.js';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every byte of a device, read in 1 MiB chunks. */
export async function whole(dev: BlockDevice): Promise<Uint8Array> {
  const out = new Uint8Array(dev.size);
  let at = 0;
  for await (const chunk of readChunks(dev, { chunkSize: 1 << 20 })) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Random `read`s and `readInto`s (into a buffer holding other bytes: zeros must be written, not
 * assumed) agree with `bytes`, the whole disk already matched against the oracle.
 */
export async function randomReadsAgree(disk: BlockDevice, bytes: Uint8Array, runs: number, maxLength = 300_000): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: disk.size }), fc.integer({ min: 0, max: maxLength }), fc.boolean(), async (offset, n, into) => {
      const length = Math.min(n, disk.size - offset);
      let got: Uint8Array;
      if (into) {
        got = new Uint8Array(length).fill(0xa5);
        await disk.readInto!(offset, got);
      } else got = await disk.read(offset, length);
      if (sha256(got) !== sha256(bytes.subarray(offset, offset + length))) expect.fail(`${into ? 'readInto' : 'read'}(${offset}, ${length}) differs`);
    }),
    { numRuns: runs },
  );
}
