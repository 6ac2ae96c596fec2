const LINE_FEED = 0x0a;
const SLASH = 0x2f;
const APOSTROPHE = 0x27;
const UNICODE_SPACE = /\s/;

/**
 * Whether a text's token count splits exactly at `index`: the count of `text` equals the count of
 * `text.slice(0, index)` plus the count of `text.slice(index)`, in o200k_base and cl100k_base.
 *
 * Both encodings cut a text into pieces with a pre-split pattern and encode each piece on its
 * own, so a count is a sum over pieces. The pattern has no look-behind, so the pieces from a
 * piece boundary on depend only on the text after it. The pieces before `index` are unchanged by
 * cutting there when no piece crosses `index` and every test of the character at `index` made
 * while matching them fails, as it would at the end of the text. That holds at three kinds of
 * places:
 * - after an ASCII letter, before an ASCII character that is neither a letter nor an apostrophe:
 *   only letter pieces hold letters, and they grow only by more letters (or marks) or by a
 *   contraction suffix starting with an apostrophe;
 * - after an ASCII digit, before an ASCII character that is not a digit: only number pieces hold
 *   digits, and they grow only by digits;
 * - after a line feed, before a character that is neither whitespace nor a slash: a whitespace
 *   run ending in a line break is one piece up to that break (the pattern's "spaces, then line
 *   breaks" branch comes before the branch that tests for a following non-space), and
 *   punctuation pieces take only further line breaks (and, in o200k_base, slashes).
 * The start and the end of a text are always cuts.
 */
export function isTokenCut(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return true;
  const before = text.charCodeAt(index - 1);
  const at = text.charCodeAt(index);
  if (before === LINE_FEED) {
    if (at === SLASH) return false;
    if (at < 0x80) return at > 0x20;
    return !UNICODE_SPACE.test(text.charAt(index));
  }
  if (at >= 0x80) return false;
  if (isAsciiLetter(before)) return !isAsciiLetter(at) && at !== APOSTROPHE;
  if (isAsciiDigit(before)) return !isAsciiDigit(at);
  return false;
}

function isAsciiLetter(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

function isAsciiDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
