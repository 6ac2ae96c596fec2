import { cleanCharacters } from './character-cleanup.js';
import { minifyJsonDocument } from './json-minify.js';
import { findProtectedSpans } from './protected-spans.js';
import { cleanWhitespace } from './whitespace-cleanup.js';

/** The output of one pass, and whether a second pass could still find something to do. */
export interface SafePass {
  text: string;
  /**
   * True when the pass removed or normalised characters or minified an embedded JSON block:
   * such edits can reveal structure (a fence hidden behind a zero-width space, say), so only
   * another pass can tell whether the text has settled. Whitespace edits never can.
   */
  unsettled: boolean;
}

/**
 * One pass of the meaning-preserving transforms over a text: a text that is entirely a JSON
 * object or array is minified; otherwise protected spans (code, URLs, quoted strings,
 * indentation-structured paragraphs) are copied byte for byte, pretty-printed JSON blocks are
 * minified, and everything else gets character and whitespace cleanup. Whitespace-only texts are
 * returned as they are.
 */
export function safeTransformOnce(text: string): SafePass {
  if (text.trim().length === 0) return { text, unsettled: false };
  const json = minifyJsonDocument(text);
  if (json !== undefined) return { text: json, unsettled: false };
  const spans = findProtectedSpans(text);
  const pass = { text: '', unsettled: false };
  let pos = 0;
  for (const span of spans) {
    if (span.start > pos) pass.text += cleanSegment(text, pos, span.start, false, pass);
    if (span.replacement === undefined) {
      pass.text += text.slice(span.start, span.end);
    } else {
      pass.text += span.replacement;
      pass.unsettled = true;
    }
    pos = span.end;
  }
  if (pos < text.length) pass.text += cleanSegment(text, pos, text.length, true, pass);
  return pass;
}

/**
 * The `safe` compression of one text. It is idempotent: when a pass made edits that could
 * change what is protected, the pass is repeated until the text settles (at most three passes,
 * which only unusual inputs need); a text that has not settled by then is returned unchanged.
 */
export function compressSafeText(text: string): string {
  let current = text;
  for (let passes = 0; passes < 3; passes++) {
    const pass = safeTransformOnce(current);
    if (pass.text === current || !pass.unsettled) return pass.text;
    current = pass.text;
  }
  return safeTransformOnce(current).text === current ? current : text;
}

function cleanSegment(
  text: string,
  start: number,
  end: number,
  atTextEnd: boolean,
  pass: SafePass,
): string {
  const before = text.charCodeAt(start - 1);
  const position = {
    atTextStart: start === 0,
    atLineStart: start === 0 || before === 0x0a || before === 0x0d,
    atTextEnd,
  };
  const segment = text.slice(start, end);
  const cleaned = cleanCharacters(segment);
  if (cleaned !== segment) pass.unsettled = true;
  return cleanWhitespace(cleaned, position);
}
