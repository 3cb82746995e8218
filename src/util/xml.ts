/**
 * A small, strict XML reader for descriptors diskprobe reads (OVF): elements, attributes, text,
 * CDATA, comments and processing instructions; the five predefined entities and character
 * references. No DTDs and no entity definitions (a DOCTYPE is refused: entity expansion is a
 * known attack), no external anything. Names keep their prefixes (`ovf:id`); `local()` strips
 * them for lookups that should not depend on the prefix a writer chose. Reference: XML 1.0
 * (Fifth Edition), sections 2 and 3.
 */

export interface XmlElement {
  /** The qualified name as written (`rasd:ResourceType`). */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its children's), entities expanded, trimmed. */
  text: string;
  /** Byte offset (in characters) of the start tag. */
  offset: number;
}

export class XmlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
  }
}

export interface XmlLimits {
  maxDepth?: number;
  maxElements?: number;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.\u00b7\u00c0-\uffff]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescape(text: string, at: number): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|&/g, (all, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError('a bare "&"', at);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code >= 0x9 && code <= 0x10ffff)) throw new XmlError(`character reference ${all} out of range`, at);
      return String.fromCodePoint(code);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new XmlError(`entity &${ref}; is not defined`, at);
    return v;
  });
}

/** The name without its namespace prefix. */
export function local(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

/** Children whose local name is `name`. */
export function childrenNamed(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => local(c.name) === name);
}

export function childNamed(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => local(c.name) === name);
}

/** An attribute by local name (`ovf:id` and `id` both answer `id`). */
export function attr(e: XmlElement, name: string): string | undefined {
  if (e.attrs[name] !== undefined) return e.attrs[name];
  for (const [k, v] of Object.entries(e.attrs)) if (local(k) === name) return v;
  return undefined;
}

/** Parses a document and returns its root element. Throws `XmlError` with the offset on bad input. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  const maxDepth = limits.maxDepth ?? 256;
  const maxElements = limits.maxElements ?? 200_000;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let count = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const texts: string[][] = [];

  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m) throw new XmlError('a name was expected', pos);
    pos += m[0].length;
    return m[0];
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const expectText = (s: string) => {
    if (!text.startsWith(s, pos)) throw new XmlError(`"${s}" was expected`, pos);
    pos += s.length;
  };

  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    const chunk = text.slice(pos, lt < 0 ? text.length : lt);
    if (chunk.length) {
      if (stack.length) texts[texts.length - 1]!.push(unescape(chunk, pos));
      else if (chunk.trim()) throw new XmlError('text outside the root element', pos);
    }
    if (lt < 0) break;
    pos = lt;
    if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('-->', pos + 4);
      if (end < 0) throw new XmlError('an unterminated comment', pos);
      pos = end + 3;
    } else if (text.startsWith('<?', pos)) {
      const end = text.indexOf('?>', pos + 2);
      if (end < 0) throw new XmlError('an unterminated processing instruction', pos);
      pos = end + 2;
    } else if (text.startsWith('<![CDATA[', pos)) {
      const end = text.indexOf(']]>', pos + 9);
      if (end < 0) throw new XmlError('an unterminated CDATA section', pos);
      if (!stack.length) throw new XmlError('CDATA outside the root element', pos);
      texts[texts.length - 1]!.push(text.slice(pos + 9, end));
      pos = end + 3;
    } else if (text.startsWith('<!', pos)) {
      throw new XmlError('a DOCTYPE or other declaration, which this reader refuses', pos);
    } else if (text.startsWith('</', pos)) {
      const at = pos;
      pos += 2;
      const name = readName();
      skipSpace();
      expectText('>');
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlError(`</${name}> closes ${open ? `<${open.name}>` : 'nothing'}`, at);
      open.text = texts.pop()!.join('').trim();
    } else {
      const at = pos;
      pos++;
      const name = readName();
      const e: XmlElement = { name, attrs: {}, children: [], text: '', offset: at };
      if (++count > maxElements) throw new XmlError(`more than ${maxElements} elements`, at);
      for (;;) {
        skipSpace();
        if (text.startsWith('/>', pos) || text.startsWith('>', pos)) break;
        const an = readName();
        skipSpace();
        expectText('=');
        skipSpace();
        const q = text[pos];
        if (q !== '"' && q !== "'") throw new XmlError(`the value of ${an} is not quoted`, pos);
        const end = text.indexOf(q, pos + 1);
        if (end < 0) throw new XmlError(`the value of ${an} is not closed`, pos);
        const raw = text.slice(pos + 1, end);
        if (raw.includes('<')) throw new XmlError(`"<" in the value of ${an}`, pos);
        if (Object.prototype.hasOwnProperty.call(e.attrs, an)) throw new XmlError(`attribute ${an} given twice`, pos);
        e.attrs[an] = unescape(raw, pos);
        pos = end + 1;
      }
      const selfClosing = text.startsWith('/>', pos);
      pos += selfClosing ? 2 : 1;
      if (stack.length) stack[stack.length - 1]!.children.push(e);
      else if (root) throw new XmlError('a second root element', at);
      else root = e;
      if (!selfClosing) {
        if (stack.length >= maxDepth) throw new XmlError(`elements nested deeper than ${maxDepth}`, at);
        stack.push(e);
        texts.push([]);
      }
    }
  }
  if (stack.length) throw new XmlError(`<${stack[stack.length - 1]!.name}> is not closed`, text.length);
  if (!root) throw new XmlError('no root element', 0);
  return root;
}
