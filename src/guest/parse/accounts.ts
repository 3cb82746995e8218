/**
 * Account and system files: /etc/passwd (name:x:uid:gid:gecos:home:shell), /etc/shadow (only
 * whether a password is set, locked or empty — never the hash), /etc/adjtime's clock mode.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  line: number;
}

export function parsePasswd(text: string): { entries: PasswdEntry[]; bad: number[] } {
  const entries: PasswdEntry[] = [];
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim() || raw.startsWith('#')) return;
    const f = raw.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) {
      // NIS lines (+, -) are not accounts.
      if (!raw.startsWith('+') && !raw.startsWith('-')) bad.push(i + 1);
      return;
    }
    entries.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]!, line: i + 1 });
  });
  return { entries, bad };
}

/** What a shadow password field says, without the hash. */
export type PasswordState = 'set' | 'empty' | 'locked' | 'no-password';

export interface ShadowEntry {
  name: string;
  password: PasswordState;
  /** Days since 1970-01-01 of the last change; 0 forces a change at next login. */
  lastChange?: number;
  line: number;
}

export function passwordState(field: string): PasswordState {
  if (field === '') return 'empty';
  if (field.startsWith('!') || field.startsWith('*!')) return 'locked';
  if (field === '*' || field === 'x' || !field.startsWith('$') && field.length < 13) return 'no-password';
  return 'set';
}

export function parseShadow(text: string): { entries: ShadowEntry[]; bad: number[] } {
  const entries: ShadowEntry[] = [];
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    const f = raw.split(':');
    if (f.length < 9) {
      bad.push(i + 1);
      return;
    }
    const e: ShadowEntry = { name: f[0]!, password: passwordState(f[1]!), line: i + 1 };
    if (/^\d+$/.test(f[2]!)) e.lastChange = Number(f[2]);
    entries.push(e);
  });
  return { entries, bad };
}

/** /etc/adjtime's third line: `UTC` or `LOCAL` (absent means UTC, as hwclock reads it). */
export function parseAdjtime(text: string): 'UTC' | 'LOCAL' | undefined {
  const third = text.split(/\r?\n/)[2]?.trim();
  return third === 'UTC' || third === 'LOCAL' ? third : undefined;
}
