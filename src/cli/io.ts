import type { Writable } from 'node:stream';

/** Exit codes, as documented in the README and `--help`. */
export const EXIT = {
  OK: 0,
  /** The command ran and found a problem with an input. */
  PROBLEM: 1,
  /** Usage error, or an input could not be read. */
  USAGE: 2,
} as const;

/** Where a command writes: injected so tests can capture it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Binary output (`convert -`). */
  stdout: Writable;
}

/** A mistake in how the command was called. */
export class UsageError extends Error {}

/** JSON with bigints as strings and Uint8Arrays as hex, for `--json` output. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return `0x${v.toString(16)}`;
      if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
      return v;
    },
    2,
  );
}

/**
 * A byte count for people: `8 MiB` when it is a whole number of the unit, otherwise the exact
 * bytes with an approximation, `8390656 B (8.00 MiB)` — a checker must not round a size away.
 */
export function humanSize(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let unit = 0;
  while (unit < units.length - 1 && bytes >= 1024 ** (unit + 1)) unit++;
  if (unit === 0) return `${bytes} B`;
  const value = bytes / 1024 ** unit;
  if (Number.isInteger(value)) return `${value} ${units[unit]}`;
  return `${bytes} B (${value.toFixed(2)} ${units[unit]})`;
}
