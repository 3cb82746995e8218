/**
 * A parser of LVM2's configuration syntax, the text format of volume group metadata
 * (LVM2's libdm/libdm-config.c defines it; lvm.conf(5) describes it):
 *
 *   file    := item*
 *   item    := name '=' value | name '{' item* '}'
 *   value   := string | number | '[' (value (',' value)*)? ']'
 *   string  := '"' (any char but '"' and '\', or '\' any char)* '"'
 *   comment := '#' to the end of the line
 *
 * Names are runs of characters other than white space and the punctuation above (VG and LV
 * names use letters, digits and `+_.-`); a name may also be written as a quoted string.
 * Sections become `Map`s, so names such as `__proto__` are data, never object keys. Nesting
 * and input size are bounded; every fault is a `DiskProbeError` naming the byte offset in the
 * text (plus `base`, the text's offset on the device).
 */
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';

export type ConfigValue = string | number | ConfigValue[] | ConfigSection;
export type ConfigSection = Map<string, ConfigValue>;

/** Deepest nesting of sections and arrays accepted (VG metadata uses 5). */
export const MAX_CONFIG_DEPTH = 32;
/** Largest metadata text parsed (LVM's default metadata area is 1 MiB). */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

const enum C {
  Quote = 0x22,
  Hash = 0x23,
  Comma = 0x2c,
  Equals = 0x3d,
  LBracket = 0x5b,
  Backslash = 0x5c,
  RBracket = 0x5d,
  LBrace = 0x7b,
  RBrace = 0x7d,
  Newline = 0x0a,
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function isNameChar(c: number): boolean {
  return !isSpace(c) && c !== C.Quote && c !== C.Hash && c !== C.Comma && c !== C.Equals && c !== C.LBracket && c !== C.RBracket && c !== C.LBrace && c !== C.RBrace && c !== 0;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

class Parser {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly where: Where,
    private readonly base: number,
  ) {}

  private fail(reason: string, at = this.at): never {
    throw new DiskProbeError(ErrorCode.CORRUPT, reason, { ...this.where, offset: this.base + at });
  }

  private skip(): void {
    const t = this.text;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (isSpace(c)) this.at++;
      else if (c === C.Hash) {
        const nl = t.indexOf('\n', this.at);
        this.at = nl < 0 ? t.length : nl + 1;
      } else break;
    }
  }

  private peek(): number {
    this.skip();
    return this.at < this.text.length ? this.text.charCodeAt(this.at) : -1;
  }

  private string(): string {
    const t = this.text;
    const start = this.at;
    this.at++; // opening quote
    let out = '';
    let run = this.at;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (c === C.Quote) {
        out += t.slice(run, this.at);
        this.at++;
        return out;
      }
      if (c === C.Backslash) {
        out += t.slice(run, this.at);
        if (this.at + 1 >= t.length) break;
        out += t[this.at + 1];
        this.at += 2;
        run = this.at;
      } else this.at++;
    }
    return this.fail('string is not closed', start);
  }

  private name(): string {
    const c = this.peek();
    if (c === C.Quote) return this.string();
    const start = this.at;
    while (this.at < this.text.length && isNameChar(this.text.charCodeAt(this.at))) this.at++;
    if (this.at === start) this.fail(c < 0 ? 'unexpected end of text, expected a name' : `unexpected ${JSON.stringify(this.text[start])}, expected a name`);
    return this.text.slice(start, this.at);
  }

  private value(depth: number): ConfigValue {
    const c = this.peek();
    if (c === C.Quote) return this.string();
    if (c === C.LBracket) {
      if (depth >= MAX_CONFIG_DEPTH) this.fail(`arrays nested deeper than ${MAX_CONFIG_DEPTH}`);
      this.at++;
      const items: ConfigValue[] = [];
      if (this.peek() === C.RBracket) {
        this.at++;
        return items;
      }
      for (;;) {
        items.push(this.value(depth + 1));
        const next = this.peek();
        this.at++;
        if (next === C.RBracket) return items;
        if (next !== C.Comma) this.fail(next < 0 ? 'array is not closed' : `expected "," or "]" in an array`, this.at - 1);
      }
    }
    const start = this.at;
    while (this.at < this.text.length && isNameChar(this.text.charCodeAt(this.at))) this.at++;
    const word = this.text.slice(start, this.at);
    if (!NUMBER.test(word)) this.fail(word ? `${JSON.stringify(word.slice(0, 40))} is not a number, string or array` : 'expected a value', start);
    return Number(word);
  }

  /** Items until `}` (inside a section) or the end of the text (at the top). */
  section(depth: number, top: boolean): ConfigSection {
    const out: ConfigSection = new Map();
    for (;;) {
      const c = this.peek();
      if (c < 0) {
        if (!top) this.fail('section is not closed: more "{" than "}"');
        return out;
      }
      if (c === C.RBrace) {
        if (top) this.fail('"}" without a matching "{"');
        this.at++;
        return out;
      }
      const keyAt = this.at;
      const key = this.name();
      const op = this.peek();
      if (op === C.Equals) {
        this.at++;
        out.set(key, this.value(depth + 1));
      } else if (op === C.LBrace) {
        if (depth >= MAX_CONFIG_DEPTH) this.fail(`sections nested deeper than ${MAX_CONFIG_DEPTH}`);
        this.at++;
        out.set(key, this.section(depth + 1, false));
      } else this.fail(`expected "=" or "{" after ${JSON.stringify(key.slice(0, 40))}`, keyAt);
    }
  }
}

/**
 * Parses LVM configuration text. `where` names the structure for errors; `base` is the text's
 * byte offset on its device (so errors give absolute offsets).
 */
export function parseConfig(text: string, where: Where, base = 0): ConfigSection {
  if (text.length > MAX_CONFIG_BYTES) {
    throw new DiskProbeError(ErrorCode.LIMIT, 'metadata text is larger than diskprobe reads', { ...where, offset: base, value: text.length, expected: `<= ${MAX_CONFIG_BYTES}` });
  }
  return new Parser(text, where, base).section(0, true);
}

/** A section's child section, if it is one. */
export function sectionOf(s: ConfigSection, key: string): ConfigSection | undefined {
  const v = s.get(key);
  return v instanceof Map ? v : undefined;
}

export function stringOf(s: ConfigSection, key: string): string | undefined {
  const v = s.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function numberOf(s: ConfigSection, key: string): number | undefined {
  const v = s.get(key);
  return typeof v === 'number' ? v : undefined;
}

export function arrayOf(s: ConfigSection, key: string): ConfigValue[] | undefined {
  const v = s.get(key);
  return Array.isArray(v) ? v : undefined;
}
