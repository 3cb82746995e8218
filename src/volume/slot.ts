/**
 * A partition as a table describes it, before it becomes a `Volume`: the part MBR and GPT
 * readers share, with the checks that apply to both (inside the disk, no overlaps).
 */
import type { Finding } from '../container/types.js';

/** Overlaps reported per table: a crafted table of thousands of copies of one entry says enough after these. */
export const MAX_OVERLAP_FINDINGS = 64;

export interface PartitionSlot {
  id: string;
  index: number;
  /** Byte offset and length on the disk, as the table says (not yet clamped). */
  start: number;
  size: number;
  type: string;
  typeName: string;
  name?: string;
  uuid?: string;
  facts: Record<string, unknown>;
  findings: Finding[];
  /** An MBR extended partition: it holds other partitions, not data of its own. */
  container?: boolean;
}

/**
 * Adds findings for partitions that run past `diskSize` or overlap each other (extended
 * partitions contain their logical ones and are left out of the overlap check).
 */
export function checkSlots(slots: PartitionSlot[], diskSize: number, scheme: string, findings: Finding[]): void {
  for (const s of slots) {
    if (s.start >= diskSize) {
      const f: Finding = { severity: 'error', code: `${scheme}.partition-past-end`, message: `partition ${s.id} starts at byte ${s.start}, past the end of the ${diskSize}-byte disk` };
      s.findings.push(f);
      findings.push(f);
    } else if (s.start + s.size > diskSize) {
      const f: Finding = {
        severity: 'error',
        code: `${scheme}.partition-past-end`,
        message: `partition ${s.id} ends at byte ${s.start + s.size}, past the end of the ${diskSize}-byte disk (${s.start + s.size - diskSize} bytes missing: a truncated image?)`,
      };
      s.findings.push(f);
      findings.push(f);
    }
  }
  const data = slots.filter((s) => !s.container && s.size > 0).sort((a, b) => a.start - b.start);
  // Sorted by start: each partition can only overlap those after it that start before it ends.
  let reported = 0;
  for (let i = 0; i < data.length && reported < MAX_OVERLAP_FINDINGS; i++) {
    const a = data[i]!;
    for (let j = i + 1; j < data.length && data[j]!.start < a.start + a.size && reported < MAX_OVERLAP_FINDINGS; j++, reported++) {
      const b = data[j]!;
      const f: Finding = { severity: 'error', code: `${scheme}.overlap`, message: `partitions ${a.id} and ${b.id} overlap (bytes ${b.start}..${Math.min(a.start + a.size, b.start + b.size) - 1})` };
      a.findings.push(f);
      b.findings.push(f);
      findings.push(f);
    }
  }
}
