const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * The JSON text of an object without its top-level member `name` whose value is `null`, the rest
 * left byte for byte as it was; null when the object has no such member written plainly (a name
 * spelled with escapes, say, or given twice), so that the caller re-encodes instead. `json` must
 * be the text of one valid JSON object.
 */
export function withoutNullMember(json: string, name: string): string | null {
  const quoted = `"${name}"`;
  let depth = 0;
  let found = -1;
  let end = -1;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      if (depth === 1 && json.startsWith(quoted, i)) {
        // A name given twice is left to the parser's reading (the last wins): no cut.
        if (found !== -1) return null;
        found = i;
        end = nullMemberEnd(json, i + quoted.length);
        if (end === -1) return null;
      }
      // Skip the string (a key or a value), escapes included.
      for (i++; i < json.length; i++) {
        const s = json.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return found === -1 ? null : spliceMember(json, found, end);
}

/** Where `: null` ends after a member name ending at `from`, or -1 when the member is not that. */
function nullMemberEnd(json: string, from: number): number {
  let i = skipWhitespace(json, from);
  if (json.charCodeAt(i) !== COLON) return -1;
  i = skipWhitespace(json, i + 1);
  if (!json.startsWith('null', i)) return -1;
  return i + 4;
}

/** Removes the member [start, end) and the comma that separated it from its neighbour. */
function spliceMember(json: string, start: number, end: number): string {
  const after = skipWhitespace(json, end);
  if (json.charCodeAt(after) === COMMA) {
    return json.slice(0, start) + json.slice(skipWhitespace(json, after + 1));
  }
  // The last member: the comma before it goes instead (there is none if it was the only one).
  let before = start - 1;
  while (before >= 0 && isWhitespace(json.charCodeAt(before))) before--;
  if (json.charCodeAt(before) === COMMA) return json.slice(0, before) + json.slice(after);
  return json.slice(0, start) + json.slice(after);
}
