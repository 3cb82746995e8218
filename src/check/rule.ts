/** What a rule is, and the small helpers rules build outcomes with. */
import type { CheckContext } from './context.js';
import type { CheckEvidence, NameSet, Outcome, Profile, Severity } from './types.js';

export interface Rule {
  /** `linux.virtio`: the catalogue's id (CHECKS.md, or a vendor-checks.md row for extras). */
  id: string;
  title: string;
  /** `linux` rules need a Linux guest, `windows` rules a Windows one; `image` and `disk` rules need only the image. */
  scope: 'image' | 'disk' | 'linux' | 'windows';
  /** The verdict when the requirement is not met, unless the profile says otherwise. */
  severity: Severity;
  /** The item's name in vendor vocabularies. */
  names: Partial<Record<NameSet, string>>;
  /**
   * Decides the item for one profile. `bad` is the verdict the profile gives an unmet
   * requirement. Reads go through the context's memoised helpers.
   */
  run(ctx: CheckContext, profile: Profile, bad: Severity): Promise<Outcome>;
}

export function ok(description: string, evidence: CheckEvidence[], value?: string | number): Outcome {
  return value === undefined ? { verdict: 'OK', description, evidence } : { verdict: 'OK', description, evidence, value };
}

export function notMet(verdict: Severity, description: string, evidence: CheckEvidence[], suggestion: string, value?: string | number): Outcome {
  const o: Outcome = { verdict, description, evidence, suggestion };
  if (value !== undefined) o.value = value;
  return o;
}

export function error(description: string, evidence: CheckEvidence[] = [], suggestion?: string): Outcome {
  return suggestion ? { verdict: 'ERROR', description, evidence, suggestion } : { verdict: 'ERROR', description, evidence };
}

export function skipped(description: string, evidence: CheckEvidence[] = []): Outcome {
  return { verdict: 'SKIPPED', description, evidence };
}

/** The ERROR of an item that needs the opened image. */
export function notOpened(ctx: CheckContext): Outcome {
  return error(`the image could not be opened: ${ctx.openError ?? 'unknown format'}`);
}

/** The ERROR of an item that needs the disk's volumes. */
export function noLayout(ctx: CheckContext): Outcome {
  return error(`the disk could not be read: ${ctx.openError ?? 'no layout'}`);
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** Bytes for people, in the unit vendors use (GiB with two decimals below 10). */
export function gib(bytes: number): string {
  const g = bytes / GiB;
  return g >= 10 ? `${g.toFixed(1)} GiB` : g >= 0.01 ? `${g.toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}
