import type { TextSpan } from './text-span.js';

/** A sentence or a line of a text, the unit that duplicate removal works on. */
export interface TextUnit {
  start: number;
  end: number;
  /** Index of the blank-line-separated paragraph the unit belongs to. */
  paragraph: number;
  /** The unit overlaps code, a URL, a quote or structured text, so it is never removed. */
  protected: boolean;
  /** The unit is a whole line (nothing else before or after it on its line). */
  wholeLine: boolean;
}

const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'vs',
  'etc',
  'eg',
  'ie',
  'inc',
  'ltd',
  'co',
  'corp',
  'no',
  'nos',
  'fig',
  'approx',
  'dept',
  'gen',
  'gov',
  'lt',
  'col',
  'sgt',
  'capt',
  'rev',
  'hon',
  'mt',
  'ft',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
]);
const UPPER_START = /[\p{Lu}\p{N}"'“‘([]/u;

/**
 * Splits a text into sentence and line units: a unit ends at a line break or after ., ! or ?
 * (plus closing quotes and brackets) followed by a space and a capital, digit or opening quote —
 * unless the word before is a known abbreviation or a single letter (an initial). Protected spans
 * are atomic: no unit boundary falls inside one. Whitespace between units belongs to no unit.
 */
export function splitUnits(text: string, spans: readonly TextSpan[]): TextUnit[] {
  const units: TextUnit[] = [];
  const n = text.length;
  let spanIndex = 0;
  let paragraph = 0;
  let start = skipBlanks(text, 0);
  let overlaps = false;
  let i = start;
  const close = (end: number): void => {
    let stop = end;
    while (stop > start && isBlank(text.charCodeAt(stop - 1))) stop--;
    if (stop > start) {
      const after = skipBlanks(text, stop);
      const lineAfter = after >= n || text.charCodeAt(after) === LF;
      units.push({
        start,
        end: stop,
        paragraph,
        protected: overlaps,
        wholeLine: lineAfter && isLineStartAfterBlanks(text, start),
      });
    }
    overlaps = false;
  };
  while (i < n) {
    const span = spans[spanIndex];
    if (span !== undefined && i >= span.start) {
      overlaps = true;
      i = Math.max(i, span.end);
      spanIndex++;
      continue;
    }
    const code = text.charCodeAt(i);
    if (code === LF) {
      close(i);
      let p = skipBlanks(text, i + 1);
      if (text.charCodeAt(p) === LF) {
        paragraph++;
        while (text.charCodeAt(p) === LF) p = skipBlanks(text, p + 1);
      }
      i = p;
      start = p;
      continue;
    }
    if (code === 0x2e || code === 0x21 || code === 0x3f) {
      const end = sentenceEnd(text, i);
      if (end > 0) {
        close(end);
        i = skipBlanks(text, end);
        start = i;
        continue;
      }
    }
    i++;
  }
  close(n);
  return units;
}

/** End of the sentence whose final punctuation is at `i`, or -1 when `i` ends no sentence. */
function sentenceEnd(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && isClosingPunctuation(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) !== SPACE) return -1;
  const next = skipBlanks(text, j);
  if (next >= text.length || !UPPER_START.test(text.charAt(next))) return -1;
  if (text.charCodeAt(i) === 0x2e && isAbbreviationBefore(text, i)) return -1;
  return j;
}

function isAbbreviationBefore(text: string, dot: number): boolean {
  let k = dot;
  while (k > 0 && /[\p{L}.]/u.test(text.charAt(k - 1))) k--;
  const word = text.slice(k, dot).replaceAll('.', '').toLowerCase();
  return word.length <= 1 || ABBREVIATIONS.has(word);
}

function isClosingPunctuation(code: number): boolean {
  // . ! ? " ' ) ] ” ’
  return (
    code === 0x2e ||
    code === 0x21 ||
    code === 0x3f ||
    code === 0x22 ||
    code === 0x27 ||
    code === 0x29 ||
    code === 0x5d ||
    code === 0x201d ||
    code === 0x2019
  );
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

function skipBlanks(text: string, from: number): number {
  let p = from;
  while (p < text.length && isBlank(text.charCodeAt(p))) p++;
  return p;
}

function isLineStartAfterBlanks(text: string, start: number): boolean {
  let p = start;
  while (p > 0 && isBlank(text.charCodeAt(p - 1))) p--;
  return p === 0 || text.charCodeAt(p - 1) === LF;
}
