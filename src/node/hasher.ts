import { createHash } from 'node:crypto';
import type { Hasher, ManifestEntry } from '../container/ova/index.js';

/** node:crypto's hashes as the `Hasher` an OVA manifest check takes (hex digests). */
export function nodeHasher(algorithm: ManifestEntry['algorithm']): Hasher {
  const h = createHash(algorithm.toLowerCase());
  return { update: (b) => h.update(b), digest: () => h.digest('hex') };
}
