const QUOTE_PAIRS: ReadonlyArray<readonly [open: string, close: string, boundary: boolean]> = [
  ['"', '"', false],
  ['“', '”', false],
  ['`', '`', false],
  // Single quotes double as apostrophes ("don't", "users'"), so these only count at word edges.
  ["'", "'", true],
  ['‘', '’', true],
];
const MAX_QUOTED_CHARS = 300;
const OPENING_CONTEXT = /[\s([{]/;
const CLOSING_CONTEXT = /[\s.,;:!?)\]}]/;

/**
 * The strings a question quotes ("...", “...”, `...`, '...'), whitespace-collapsed and without
 * edge punctuation. Each quote kind is searched at most once past any point, so the scan stays
 * linear.
 */
export function quotedStrings(text: string): string[] {
  const found: string[] = [];
  for (const [open, close, boundary] of QUOTE_PAIRS) {
    let from = 0;
    while (from < text.length) {
      const start = text.indexOf(open, from);
      if (start < 0) break;
      if (boundary && start > 0 && !OPENING_CONTEXT.test(text.charAt(start - 1))) {
        from = start + 1;
        continue;
      }
      const end = findClose(text, close, start + 1, boundary);
      if (end < 0) break;
      if (end - start <= MAX_QUOTED_CHARS) {
        const inner = trimPunctuation(text.slice(start + 1, end).replace(/\s+/g, ' '));
        if (inner !== '') found.push(inner);
      }
      from = end + 1;
    }
  }
  return found;
}

const EDGE = new Set([' ', '.', ',', ';', ':', '!', '?']);

function trimPunctuation(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && EDGE.has(text.charAt(start))) start++;
  while (end > start && EDGE.has(text.charAt(end - 1))) end--;
  return text.slice(start, end);
}

function findClose(text: string, close: string, from: number, boundary: boolean): number {
  let at = text.indexOf(close, from);
  while (boundary && at >= 0) {
    const after = text.charAt(at + 1);
    const before = text.charAt(at - 1);
    if ((after === '' || CLOSING_CONTEXT.test(after)) && !/\s/.test(before)) return at;
    at = text.indexOf(close, at + 1);
  }
  return at;
}

const MAYBE_CODE = /[_@:\-=()[\]./$~]/;
const LEADING_PUNCTUATION = /^[([{"'“‘`]+/;
const TRAILING_PUNCTUATION = /[.,;:!?"'”’`\]}]+$/;
const CODE_MARKERS =
  /[_@]|::|->|=>|\(\)|==|!=|\[\]|[A-Za-z0-9_]{2}\.[A-Za-z_]|[A-Za-z_]\.[A-Za-z0-9_]{2}|\w=\S/;
const FLAG = /^--?[A-Za-z]/;
const PATH = /^(?:\/|~\/|\.\.?\/)\S|:\/\//;
const VARIABLE = /^\$[A-Za-z_{]/;

/**
 * Code-like chunks (between spaces) of a question, case kept: identifiers (`os.path`,
 * `snake_case`, `foo()`), flags (`--force`), paths, URLs and variables (`$HOME`).
 */
export function codeIdentifiers(text: string): string[] {
  const code: string[] = [];
  for (const raw of text.split(/\s+/)) {
    // Cheap pre-check: plain words (nearly all of them) carry none of these characters.
    if (!MAYBE_CODE.test(raw)) continue;
    let chunk = raw.replace(LEADING_PUNCTUATION, '').replace(TRAILING_PUNCTUATION, '');
    if (chunk.endsWith(')') && !chunk.includes('(')) chunk = chunk.slice(0, -1);
    if (chunk === '') continue;
    if (isCodeLike(chunk)) code.push(chunk.endsWith('()') ? chunk.slice(0, -2) : chunk);
  }
  return code;
}

function isCodeLike(chunk: string): boolean {
  return CODE_MARKERS.test(chunk) || FLAG.test(chunk) || PATH.test(chunk) || VARIABLE.test(chunk);
}
