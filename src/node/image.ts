import { openDisk } from '../container/open.js';
import type { Disk, OpenOptions, Resolver } from '../container/types.js';
import type { BlockDevice } from '../device/types.js';
import { nodeCodecs } from './codecs.js';
import { fileResolver, type FileResolverOptions } from './resolver.js';
import { openSource, type SourceOptions } from './source.js';

/** Options of {@link openImage}. */
export interface OpenImageOptions extends OpenOptions, SourceOptions {
  /** How references to other files are resolved (ignored when `resolver` is given). */
  files?: FileResolverOptions;
}

/** An opened image and everything it opened, closed together. */
export interface OpenedImage {
  disk: Disk;
  source: BlockDevice;
  /** Every device opened for the image: the source, backing files, data files. */
  devices: readonly BlockDevice[];
  close(): Promise<void>;
}

/**
 * Opens a path or URL as a Disk the way the CLI does: Node's codecs, and backing files and
 * extents resolved next to the image (see {@link fileResolver}). `close()` closes the image
 * and every file it referred to.
 */
export async function openImage(pathOrUrl: string, options: OpenImageOptions = {}): Promise<OpenedImage> {
  const source = await openSource(pathOrUrl, options);
  const opened: BlockDevice[] = [source];
  const inner = options.resolver ?? fileResolver(options.files);
  const resolver: Resolver = async (ref, signal) => {
    const dev = await inner(ref, signal);
    opened.push(dev);
    return dev;
  };
  const close = async () => {
    await Promise.all(opened.map((d) => d.close?.()));
  };
  try {
    const disk = await openDisk(source, { codecs: nodeCodecs, ...options, resolver });
    return { disk, source, devices: opened, close };
  } catch (e) {
    await close();
    throw e;
  }
}
