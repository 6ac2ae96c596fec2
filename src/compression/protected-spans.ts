import { ForwardFinder } from './forward-finder.js';
import { findLineSpans } from './line-structure.js';
import type { TextSpan } from './text-span.js';

const LF = 0x0a;
const CR = 0x0d;
const BACKTICK = 0x60;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const SLASH = 0x2f;
const LEFT_DOUBLE = 0x201c;
const RIGHT_DOUBLE = 0x201d;
const LEFT_SINGLE = 0x2018;
const RIGHT_SINGLE = 0x2019;
const LEFT_GUILLEMET = 0xab;
const RIGHT_GUILLEMET = 0xbb;

const BLANK_LINE = /(?:\r\n|\r(?!\n)|\n)[ \t]*(?:\r\n|\r|\n)/g;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const UNICODE_SPACE = /\s/;

/**
 * Finds every region of `text` that compression must leave alone (or, for pretty-printed JSON,
 * rewrite only as a whole): fenced code blocks and indentation-structured paragraphs (see
 * `findLineSpans`), inline code (a backtick run up to the next run of the same length; runs
 * shorter than three do not cross a blank line), URLs (`scheme://…` and `www.…` up to
 * whitespace), and quoted strings on one line ("…", '…', “…”, ‘…’, «…»; an apostrophe inside a
 * word does not open or close a quote). Sorted, disjoint, linear in the text length.
 */
export function findProtectedSpans(text: string): TextSpan[] {
  const lineSpans = findLineSpans(text);
  const spans: TextSpan[] = [];
  const scanner = new InlineScanner(text, spans);
  let from = 0;
  for (const span of lineSpans) {
    scanner.scan(from, span.start);
    spans.push(span);
    from = span.end;
  }
  scanner.scan(from, text.length);
  return spans;
}

/** Scans the gaps between line-level spans, in order; search positions only move forward. */
class InlineScanner {
  private to = 0;
  private nextLf = -1;
  private nextCr = -1;
  private nextBlank = -1;
  private readonly hasCr: boolean;
  private runStarts: number[] = [];
  private runNextSame: number[] = [];
  private runCursor = 0;
  private singleQuoteLineEnd = -1;
  private singleQuoteFailedFrom = Number.POSITIVE_INFINITY;
  private readonly finders = new Map<string, ForwardFinder>();

  constructor(
    private readonly text: string,
    private readonly out: TextSpan[],
  ) {
    this.hasCr = text.includes('\r');
  }

  scan(from: number, to: number): void {
    this.to = to;
    this.runStarts = [];
    this.runNextSame = [];
    this.runCursor = 0;
    const { text } = this;
    const firstTick = this.indexOf('`', from);
    if (firstTick >= 0 && firstTick < to) this.collectBacktickRuns(firstTick);
    let i = from;
    let emittedEnd = from;
    while (i < to) {
      const code = text.charCodeAt(i);
      let end = -1;
      let start = i;
      let kind: TextSpan['kind'] = 'quote';
      if (code === BACKTICK) {
        kind = 'inline-code';
        end = this.inlineCodeEnd(i);
        if (end < 0) {
          i = this.skipRun(i);
          continue;
        }
      } else if (code === DOUBLE_QUOTE) {
        end = this.closingOnLine(i, '"', true);
      } else if (code === LEFT_DOUBLE) {
        end = this.closingOnLine(i, '\u201d', false);
      } else if (code === LEFT_GUILLEMET) {
        end = this.closingOnLine(i, '\u00bb', false);
      } else if (code === SINGLE_QUOTE || code === LEFT_SINGLE) {
        end = this.singleQuoteEnd(i, code === SINGLE_QUOTE ? "'" : '\u2019');
      } else if (code === COLON) {
        kind = 'url';
        start = this.schemeStart(i, emittedEnd);
        end = start < i ? this.urlEnd(i + 3) : -1;
      } else if ((code === 0x77 || code === 0x57) && this.isWwwAt(i)) {
        kind = 'url';
        end = this.urlEnd(i + 4);
      }
      if (end > i) {
        this.out.push({ start, end, kind });
        emittedEnd = end;
        i = end;
      } else {
        i++;
      }
    }
  }

  private collectBacktickRuns(first: number): void {
    const { text, to } = this;
    const lengths: number[] = [];
    let p = first;
    while (p >= 0 && p < to) {
      let q = p + 1;
      while (q < to && text.charCodeAt(q) === BACKTICK) q++;
      this.runStarts.push(p);
      lengths.push(q - p);
      p = this.indexOf('`', q);
    }
    const lastByLength = new Map<number, number>();
    const next = new Array<number>(lengths.length);
    for (let r = lengths.length - 1; r >= 0; r--) {
      const length = lengths[r] ?? 0;
      next[r] = lastByLength.get(length) ?? -1;
      lastByLength.set(length, r);
    }
    this.runNextSame = next;
  }

  private runLength(i: number): number {
    let q = i + 1;
    while (q < this.to && this.text.charCodeAt(q) === BACKTICK) q++;
    return q - i;
  }

  private skipRun(i: number): number {
    return i + this.runLength(i);
  }

  /** End of the code span opened by the backtick run at `i`, or -1 when it is literal. */
  private inlineCodeEnd(i: number): number {
    while (this.runCursor < this.runStarts.length && (this.runStarts[this.runCursor] ?? 0) < i) {
      this.runCursor++;
    }
    if (this.runStarts[this.runCursor] !== i) return -1;
    const partner = this.runNextSame[this.runCursor] ?? -1;
    if (partner < 0) return -1;
    const partnerStart = this.runStarts[partner] ?? 0;
    const length = this.runLength(i);
    if (length < 3 && partnerStart > this.blankLineAfter(i)) return -1;
    return partnerStart + length;
  }

  private blankLineAfter(i: number): number {
    if (this.nextBlank < i) {
      BLANK_LINE.lastIndex = i;
      const match = BLANK_LINE.exec(this.text);
      this.nextBlank = match === null ? Number.POSITIVE_INFINITY : match.index;
    }
    return this.nextBlank;
  }

  private lineEndAfter(i: number): number {
    if (this.nextLf < i) {
      const lf = this.text.indexOf('\n', i);
      this.nextLf = lf < 0 ? this.text.length : lf;
    }
    if (!this.hasCr) return this.nextLf;
    if (this.nextCr < i) {
      const cr = this.text.indexOf('\r', i);
      this.nextCr = cr < 0 ? this.text.length : cr;
    }
    return Math.min(this.nextLf, this.nextCr);
  }

  /** End (exclusive) of a quote closed by `closer` on the same line, or -1. */
  private closingOnLine(i: number, closer: string, escapable: boolean): number {
    const lineEnd = Math.min(this.lineEndAfter(i), this.to);
    let p = i + 1;
    for (;;) {
      const close = this.indexOf(closer, p);
      if (close < 0 || close >= lineEnd) return -1;
      if (!escapable || this.text.charCodeAt(close - 1) !== BACKSLASH) return close + 1;
      p = close + 1;
    }
  }

  /** A single quote opens only outside a word and closes only before a non-word character. */
  private singleQuoteEnd(i: number, closer: string): number {
    if (i > 0 && this.isWordChar(i - 1)) return -1;
    const lineEnd = Math.min(this.lineEndAfter(i), this.to);
    if (lineEnd === this.singleQuoteLineEnd && i > this.singleQuoteFailedFrom) return -1;
    let p = i + 1;
    for (;;) {
      const close = this.indexOf(closer, p);
      if (close < 0 || close >= lineEnd) {
        this.singleQuoteLineEnd = lineEnd;
        this.singleQuoteFailedFrom = i;
        return -1;
      }
      const before = this.text.charCodeAt(close - 1);
      if (close > i + 1 && !isSpaceCode(before) && !this.isWordChar(close + 1)) return close + 1;
      p = close + 1;
    }
  }

  private indexOf(needle: string, from: number): number {
    let finder = this.finders.get(needle);
    if (finder === undefined) {
      finder = new ForwardFinder(this.text, needle);
      this.finders.set(needle, finder);
    }
    return finder.next(from);
  }

  private isWordChar(p: number): boolean {
    const code = this.text.charCodeAt(p);
    if (Number.isNaN(code)) return false;
    if (code < 0x80) {
      return (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a);
    }
    return WORD_CHAR.test(this.text.charAt(p));
  }

  /** Start of the URL scheme ending at the colon `i` (followed by "//"), or `i` if none. */
  private schemeStart(i: number, lowerBound: number): number {
    const text = this.text;
    if (text.charCodeAt(i + 1) !== SLASH || text.charCodeAt(i + 2) !== SLASH) return i;
    let p = i;
    while (p > lowerBound && isSchemeChar(text.charCodeAt(p - 1))) p--;
    while (p < i && !isAsciiLetter(text.charCodeAt(p))) p++;
    return p;
  }

  private isWwwAt(i: number): boolean {
    if (i > 0) {
      const before = this.text.charCodeAt(i - 1);
      if (this.isWordChar(i - 1) || before === 0x2e || before === SLASH) return false;
    }
    return this.text.slice(i, i + 4).toLowerCase() === 'www.';
  }

  /** End of a URL whose body starts at `p`: up to whitespace, minus trailing punctuation. */
  private urlEnd(p: number): number {
    const text = this.text;
    let q = p;
    while (q < this.to && !isUrlTerminator(text.charCodeAt(q))) q++;
    while (q > p && isTrailingUrlPunctuation(text.charCodeAt(q - 1))) q--;
    return q > p ? q : -1;
  }
}

function isSpaceCode(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === LF || code === CR;
}

function isAsciiLetter(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

function isSchemeChar(code: number): boolean {
  return (
    isAsciiLetter(code) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2b ||
    code === 0x2d ||
    code === 0x2e
  );
}

function isUrlTerminator(code: number): boolean {
  if (code <= 0x20 || code === 0x7f) return true;
  // " < > ` and the closing quotes a URL is commonly wrapped in
  if (code === 0x22 || code === 0x3c || code === 0x3e || code === BACKTICK) return true;
  if (code === RIGHT_DOUBLE || code === RIGHT_SINGLE || code === RIGHT_GUILLEMET) return true;
  return code >= 0x80 && UNICODE_SPACE.test(String.fromCharCode(code));
}

function isTrailingUrlPunctuation(code: number): boolean {
  // . , ; : ! ? ' ) ]
  return (
    code === 0x2e ||
    code === 0x2c ||
    code === 0x3b ||
    code === 0x3a ||
    code === 0x21 ||
    code === 0x3f ||
    code === 0x27 ||
    code === 0x29 ||
    code === 0x5d
  );
}
