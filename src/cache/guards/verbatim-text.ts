import { findProtectedSpans } from '../../compression/protected-spans.js';

const BACKTICK = 0x60;
const SPACE = 0x20;
const TAB = 0x09;
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * What a (normalised) question holds verbatim, in order: fenced and inline code, quoted strings,
 * URLs, indentation-structured text and pretty-printed JSON, the parts prompt compression keeps
 * byte-identical (findProtectedSpans). Quotes and inline code count by what they enclose, so
 * 'x', “x” and `x` read the same; everything else by its whole text, whitespace included. An
 * embedding does not see whitespace, and barely a changed character in a long block.
 */
export function verbatimParts(text: string): string[] {
  const parts: string[] = [];
  for (const span of findProtectedSpans(text)) {
    if (span.kind === 'quote') {
      parts.push(text.slice(span.start + 1, span.end - 1));
    } else if (span.kind === 'inline-code') {
      let ticks = 0;
      while (text.charCodeAt(span.start + ticks) === BACKTICK) ticks++;
      parts.push(text.slice(span.start + ticks, span.end - ticks));
    } else {
      parts.push(text.slice(span.start, span.end));
    }
  }
  return parts;
}

/**
 * The leading whitespace of each of a (normalised) question's lines that are not blank, one line
 * of it per line; null when no line is indented (the normalised text has line breaks only where
 * it keeps a block: see normaliseUserText).
 */
export function indentationOf(text: string): string | null {
  if (!LINE_BREAK.test(text)) return null;
  const indents: string[] = [];
  let indented = false;
  for (const line of text.split(LINE_BREAK)) {
    let p = 0;
    while (p < line.length && isIndent(line.charCodeAt(p))) p++;
    if (p === line.length) continue;
    if (p > 0) indented = true;
    indents.push(line.slice(0, p));
  }
  return indented ? indents.join('\n') : null;
}

function isIndent(code: number): boolean {
  return code === SPACE || code === TAB;
}
