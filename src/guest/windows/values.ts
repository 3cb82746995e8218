/**
 * Reading registry values the way they vary between Windows versions and tools: a number may be
 * a DWORD, a QWORD, a big-endian DWORD or (written by hand) a string of digits; a string may be
 * REG_SZ or REG_EXPAND_SZ, or a one-item REG_MULTI_SZ. Every read says where it came from, so
 * that a rule can cite `HKLM\SYSTEM\ControlSet001\Services\viostor\Start = 3`.
 */
import type { Hive, RegKey, RegValue } from '../../registry/hive.js';

/** A value read for evidence: the full key path, the value name, and what it held. */
export interface RegEvidence {
  /** `HKLM\SYSTEM\ControlSet001\Services\viostor` */
  key: string;
  value: string;
  /** As text: numbers in decimal, lists joined with `; `, bytes in hex. */
  data?: string;
  /** The value (or the key) is not there. */
  absent?: boolean;
}

/** `HKLM\SYSTEM\<path>`: where a key of a named hive lives in the running system. */
export function hklm(hiveName: string, key: RegKey | string): string {
  const path = typeof key === 'string' ? key : key.path;
  return path === '' ? `HKLM\\${hiveName}` : `HKLM\\${hiveName}\\${path}`;
}

/** A number from a DWORD, QWORD, big-endian DWORD or a decimal/hex string; undefined otherwise. */
export function numberOf(v: RegValue | undefined): number | undefined {
  if (!v) return undefined;
  const d = v.data;
  if (typeof d === 'number') return d;
  if (typeof d === 'bigint') return d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : undefined;
  if (typeof d === 'string') {
    const t = d.trim();
    if (/^\d+$/.test(t)) return Number(t);
    if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.slice(2), 16);
  }
  return undefined;
}

/** A string from REG_SZ, REG_EXPAND_SZ, REG_LINK, or the first item of a REG_MULTI_SZ. */
export function stringOf(v: RegValue | undefined): string | undefined {
  if (!v) return undefined;
  if (typeof v.data === 'string') return v.data;
  if (Array.isArray(v.data)) return v.data[0];
  return undefined;
}

/** Strings from a REG_MULTI_SZ, or a single string. */
export function stringsOf(v: RegValue | undefined): string[] | undefined {
  if (!v) return undefined;
  if (Array.isArray(v.data)) return v.data;
  if (typeof v.data === 'string') return v.data === '' ? [] : [v.data];
  return undefined;
}

/** A value as evidence text. */
export function dataText(v: RegValue): string {
  const d = v.data;
  if (typeof d === 'number' || typeof d === 'bigint') return String(d);
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.join('; ');
  return Array.from(d.subarray(0, 64), (b) => b.toString(16).padStart(2, '0')).join('') + (d.length > 64 ? '…' : '');
}

/** Evidence of a value (or of its absence) in a key of a named hive. */
export function evidenceOf(hiveName: string, key: RegKey | string, name: string, v: RegValue | undefined): RegEvidence {
  const e: RegEvidence = { key: hklm(hiveName, key), value: name === '' ? '(Default)' : name };
  if (v) e.data = dataText(v);
  else e.absent = true;
  return e;
}

/** The key at `path`, and the value `name` in it (undefined when either is missing). */
export function lookup(hive: Hive | undefined, path: string, name: string): { key?: RegKey; value?: RegValue } {
  const key = hive?.key(path);
  if (!key) return {};
  const value = key.value(name);
  return value ? { key, value } : { key };
}
