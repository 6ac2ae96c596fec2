/** Where a piece of text sits in the whole message. */
export interface SegmentPosition {
  /** The piece starts the text. */
  atTextStart: boolean;
  /** The piece starts a line (so its first spaces are indentation). */
  atLineStart: boolean;
  /** The piece ends the text. */
  atTextEnd: boolean;
}

// Each pattern can only start at the first character of a run (the look-behinds), so a long
// run of spaces costs linear time instead of quadratic backtracking.
const TRAILING_SPACES = /(?<! ) +\n/g;
const INTERIOR_SPACE_RUN = /(?<=\S) {2,}/g;
const BLANK_LINE_RUN = /(?<!\n)\n{3,}/g;
const LEADING_SPACE_RUN = /^ {2,}/;

/**
 * Whitespace cleanup of unprotected text whose line breaks are already \n: spaces at the end of a
 * line go, runs of spaces inside a line become one, three or more line breaks become two (one
 * blank line), and blank lines at the start and blank space at the end of the text go.
 * Indentation (spaces after a line break) and tabs are never changed: they may be structure.
 */
export function cleanWhitespace(text: string, position: SegmentPosition): string {
  let out = text;
  if (out.includes('  ')) {
    out = out.replace(INTERIOR_SPACE_RUN, ' ');
    if (!position.atLineStart) out = out.replace(LEADING_SPACE_RUN, ' ');
  }
  if (out.includes(' \n')) out = out.replace(TRAILING_SPACES, '\n');
  if (out.includes('\n\n\n')) out = out.replace(BLANK_LINE_RUN, '\n\n');
  if (position.atTextStart) {
    let start = 0;
    while (out.charCodeAt(start) === NEWLINE) start++;
    if (start > 0) out = out.slice(start);
  }
  if (position.atTextEnd) {
    let end = out.length;
    while (end > 0 && isBlankCode(out.charCodeAt(end - 1))) end--;
    if (end < out.length) out = out.slice(0, end);
  }
  return out;
}

const NEWLINE = 0x0a;

function isBlankCode(code: number): boolean {
  return code === NEWLINE || code === 0x20;
}
