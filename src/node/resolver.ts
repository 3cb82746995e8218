import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { DiskProbeError, ErrorCode } from '../errors.js';
import type { Reference, Resolver } from '../container/types.js';
import { openFile } from './file.js';

/** Options of {@link fileResolver}. */
export interface FileResolverOptions {
  /**
   * The folder references must stay inside (after following symlinks). Default: the folder
   * of the first image that asks to resolve a reference.
   */
  root?: string;
  /** Further folders references may lead into. */
  allow?: string[];
  /** Accept absolute names (they must still lead into `root` or `allow`). Default false. */
  allowAbsolute?: boolean;
  /** Follow references anywhere on this machine: for images you trust. Default false. */
  anywhere?: boolean;
}

/**
 * A resolver for images on the local file system. A name is resolved relative to the folder
 * of the image that holds it, as qemu does; it is refused (E_REFUSED) when it is absolute
 * (unless allowed), names a protocol (`nbd:`, `json:`, `http:` …), or leads — through `..` or
 * a symlink — outside the allowed folders. Files are opened read-only. Loops and depth are
 * the reader's business: it sees every device's real path.
 */
export function fileResolver(options: FileResolverOptions = {}): Resolver {
  let roots: string[] | undefined;
  return async (ref: Reference) => {
    const where = { layer: 'container' as const, format: 'resolver', device: ref.from, field: ref.kind, value: ref.name };
    const from = ref.fromDevice?.path;
    if (from === undefined) {
      throw new DiskProbeError(ErrorCode.REFUSED, `cannot resolve "${ref.name}": the referring image is not a local file`, where);
    }
    if (/^[a-z][a-z0-9+.-]+:/i.test(ref.name)) {
      throw new DiskProbeError(ErrorCode.REFUSED, `refusing ${ref.kind} "${ref.name}": protocol names are never followed`, where);
    }
    if (isAbsolute(ref.name) && !options.allowAbsolute && !options.anywhere) {
      throw new DiskProbeError(ErrorCode.REFUSED, `refusing ${ref.kind} "${ref.name}": absolute paths are not followed unless allowed`, where);
    }
    try {
      roots ??= await Promise.all([options.root ?? dirname(from), ...(options.allow ?? [])].map((r) => realpath(r)));
    } catch (cause) {
      throw new DiskProbeError(ErrorCode.IO, `cannot resolve the allowed folders: ${(cause as Error).message}`, { ...where, cause });
    }
    // Relative to the referring image's folder as it was named, as qemu resolves them.
    const wanted = resolve(dirname(from), ref.name);
    let real: string;
    try {
      real = await realpath(wanted);
    } catch (cause) {
      throw new DiskProbeError(ErrorCode.IO, `${ref.kind} "${ref.name}" not found (looked for ${wanted})`, { ...where, cause });
    }
    if (!options.anywhere && !roots.some((root) => inside(root, real))) {
      throw new DiskProbeError(ErrorCode.REFUSED, `refusing ${ref.kind} "${ref.name}": it leads to ${real}, outside ${roots.join(', ')}`, where);
    }
    // The checked real file is what is opened; the name it was reached by is its path.
    return openFile(real, { label: wanted, path: wanted });
  };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
