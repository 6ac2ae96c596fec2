/** Deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 128;

/** What a scan of a JSON text found that JSON.parse would let through. */
export interface JsonShapeProblem {
  kind: 'too-deep' | 'duplicate-key';
  /** The repeated top-level key, for `duplicate-key`. */
  key?: string;
}

/** Index of the quote closing the string whose opening quote is at `open` (-1 if none). */
function closingQuote(text: string, open: number): number {
  let at = text.indexOf('"', open + 1);
  while (at !== -1) {
    let backslashes = 0;
    for (let i = at - 1; text.charCodeAt(i) === 92; i--) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return -1;
}

const QUOTE = 34;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COLON = 58;

/**
 * Scans a JSON text (before it is parsed) for nesting deeper than `maxDepth` — which would let a
 * small body overflow the stack of code that walks it — and for a key repeated at the top level,
 * where JSON.parse keeps the last value but the raw bytes sent upstream would carry both. One
 * pass; string contents are skipped with indexOf. Returns null for a body of sane shape (or one
 * JSON.parse will refuse anyway).
 */
export function findJsonShapeProblem(
  text: string,
  maxDepth: number = MAX_JSON_DEPTH,
): JsonShapeProblem | null {
  let depth = 0;
  let topLevelIsObject = false;
  let keys: Set<string> | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const end = closingQuote(text, i);
      if (end === -1) return null;
      if (depth === 1 && topLevelIsObject) {
        let next = end + 1;
        while (next < text.length && text.charCodeAt(next) <= 32) next++;
        if (text.charCodeAt(next) === COLON) {
          const key = text.slice(i, end + 1);
          keys ??= new Set();
          if (keys.has(key)) {
            let name = key;
            try {
              name = JSON.parse(key) as string;
            } catch {}
            return { kind: 'duplicate-key', key: name };
          }
          keys.add(key);
        }
      }
      i = end;
    } else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
      if (depth === 0) topLevelIsObject = ch === OPEN_BRACE;
      depth++;
      if (depth > maxDepth) return { kind: 'too-deep' };
    } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
      depth--;
    }
  }
  return null;
}
