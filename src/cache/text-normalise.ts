import { findProtectedSpans } from '../compression/protected-spans.js';
import type { SpanKind } from '../compression/text-span.js';

const WHITESPACE_RUN = /\s+/g;
/** Text that NFC could change: anything outside ASCII (ASCII is its own NFC form). */
const NON_ASCII = /[\u0080-\uffff]/;
/** Whitespace the collapse would change: any but a single space, or two spaces in a row. */
const UNTIDY_WHITESPACE = /[^\S ]| {2}/;
const SPACE = 0x20;
const LF = 0x0a;
const CR = 0x0d;
/** Spans that stand on lines of their own: the line breaks around them are kept. */
const LINE_LEVEL: ReadonlySet<SpanKind> = new Set<SpanKind>(['fence', 'structured', 'json']);

/**
 * Normalises the text of a user turn for cache keys and embeddings: Unicode NFC, every whitespace
 * run collapsed to one space, trimmed. Case is kept: "US" and "us", "Go" and "go", `Foo` and `foo`
 * ask different things, so folding it could serve one user's answer to another's question.
 * What prompt compression keeps byte-identical is kept byte-for-byte here too (fenced and inline
 * code, quoted strings, URLs, indentation-structured text and pretty-printed JSON: see
 * findProtectedSpans), because whitespace there changes what is asked: indentation in Python or
 * YAML changes what the code does, and `"x    y"` is not `"x y"`. The line breaks around a block
 * (one, or one blank line) are kept as well, so the block is still one in the normalised text.
 * A lone indented line has no structure to keep: it is collapsed like prose.
 * Text that is already in that form (ASCII, single spaces, none at either end: most questions)
 * is returned as it is.
 */
export function normaliseUserText(text: string): string {
  const nfc = NON_ASCII.test(text) ? text.normalize('NFC') : text;
  const last = nfc.length - 1;
  if (
    !UNTIDY_WHITESPACE.test(nfc) &&
    nfc.charCodeAt(0) !== SPACE &&
    nfc.charCodeAt(last) !== SPACE
  ) {
    return nfc;
  }
  let out = '';
  let from = 0;
  let afterBlock = false;
  for (const span of findProtectedSpans(nfc)) {
    if (span.kind === 'structured' && isOneLine(nfc, span.start, span.end)) continue;
    const beforeBlock = LINE_LEVEL.has(span.kind);
    out += tidyGap(nfc.slice(from, span.start), from === 0, false, afterBlock, beforeBlock);
    out += nfc.slice(span.start, span.end);
    from = span.end;
    afterBlock = beforeBlock;
  }
  return out + tidyGap(nfc.slice(from), from === 0, true, afterBlock, false);
}

/**
 * The text between two kept spans with its whitespace collapsed: dropped at either end of the
 * whole text, reduced to its line breaks (one, or two for a blank line) next to a block, and to
 * one space everywhere else.
 */
function tidyGap(
  gap: string,
  atStart: boolean,
  atEnd: boolean,
  afterBlock: boolean,
  beforeBlock: boolean,
): string {
  if (gap === '') return gap;
  const lastRun = gap.length - 1;
  return gap.replace(WHITESPACE_RUN, (run: string, at: number) => {
    const leading = at === 0;
    const trailing = at + run.length - 1 === lastRun;
    if ((leading && atStart) || (trailing && atEnd)) return '';
    if ((leading && afterBlock) || (trailing && beforeBlock)) return lineBreaksOf(run) ?? ' ';
    return ' ';
  });
}

/** "\n" for a run with one line break, "\n\n" for more; null without any. */
function lineBreaksOf(run: string): string | null {
  let breaks = 0;
  for (let i = 0; i < run.length && breaks < 2; i++) {
    const code = run.charCodeAt(i);
    if (code === LF || (code === CR && run.charCodeAt(i + 1) !== LF)) breaks++;
  }
  return breaks === 0 ? null : breaks === 1 ? '\n' : '\n\n';
}

function isOneLine(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === LF || code === CR) return false;
  }
  return true;
}
