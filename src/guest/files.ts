/** Small reads of a guest's files that inspection does everywhere. */
import { DiskProbeError } from '../errors.js';
import type { FileSystem } from '../fs/types.js';

/** Whether `path` exists (`follow`: through a final symlink). Read failures other than DiskProbeError throw. */
export async function exists(fs: FileSystem, path: string, follow = false): Promise<boolean> {
  try {
    await (follow ? fs.stat(path) : fs.lstat(path));
    return true;
  } catch (e) {
    if (e instanceof DiskProbeError) return false;
    throw e;
  }
}

/** Up to the first `n` bytes of a file (one chunk), or undefined when it is missing, empty or unreadable. */
export async function readHead(fs: FileSystem, path: string, n: number): Promise<Uint8Array | undefined> {
  try {
    const reader = fs.createReadStream(path, { end: n, chunkSize: n }).getReader();
    const chunk = await reader.read();
    await reader.cancel();
    return chunk.done ? undefined : chunk.value;
  } catch (e) {
    if (e instanceof DiskProbeError) return undefined;
    throw e;
  }
}
