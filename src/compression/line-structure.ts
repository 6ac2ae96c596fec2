import { ForwardFinder } from './forward-finder.js';
import { isValidJson, stripJsonWhitespace } from './json-minify.js';
import type { TextSpan } from './text-span.js';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const BACKTICK = 0x60;
const TILDE = 0x7e;

/** Lines of a text: `starts[i]` to `ends[i]`, the end excluding the line break. */
interface Lines {
  starts: number[];
  ends: number[];
}

interface Fence {
  code: number;
  length: number;
}

interface JsonBlock {
  lastLine: number;
  replacement: string;
}

/**
 * Finds the line-level regions of a text that must stay byte-identical or be rewritten as one
 * unit: fenced code blocks (``` or ~~~, an unclosed fence runs to the end), pretty-printed JSON
 * blocks (returned with their minified replacement), and indentation-structured paragraphs —
 * any paragraph with a line indented by two spaces or a tab (YAML, Python, nested lists, trees)
 * or with two consecutive lines whose space-separated columns line up (plain-text tables),
 * extended over blank lines while what follows is still indented or structured. Spans are sorted and disjoint.
 */
export function findLineSpans(text: string): TextSpan[] {
  return new LineScanner(text).scan();
}

class LineScanner {
  private readonly lines: Lines;
  private readonly spans: TextSpan[] = [];
  private jsonBudget: number;
  private jsonMemoLine = -1;
  private jsonMemo: JsonBlock | undefined;
  private readonly doubleSpaces: ForwardFinder;

  constructor(private readonly text: string) {
    this.lines = splitLines(text);
    this.doubleSpaces = new ForwardFinder(text, '  ');
    // JSON.parse on candidates that turn out invalid is wasted work: cap it at twice the text.
    this.jsonBudget = text.length * 2;
  }

  scan(): TextSpan[] {
    const { starts, ends } = this.lines;
    const n = starts.length;
    let i = 0;
    while (i < n) {
      if (this.isBlank(i)) {
        i++;
        continue;
      }
      const fence = this.fenceOpen(i);
      if (fence !== undefined) {
        let k = i + 1;
        while (k < n && !this.isFenceClose(k, fence)) k++;
        const end = k < n ? ends[k] : this.text.length;
        this.spans.push({ start: starts[i] ?? 0, end: end ?? this.text.length, kind: 'fence' });
        i = k + 1;
        continue;
      }
      const json = this.jsonBlockAt(i);
      if (json !== undefined) {
        const start = starts[i] ?? 0;
        const end = ends[json.lastLine] ?? this.text.length;
        this.spans.push({ start, end, kind: 'json', replacement: json.replacement });
        i = json.lastLine + 1;
        continue;
      }
      i = this.scanParagraphAt(i);
    }
    return this.spans;
  }

  /** Handles the paragraph starting at line `i`; returns the line after it. */
  private scanParagraphAt(i: number): number {
    const first = this.scanParagraph(i);
    if (!first.structured) return first.end;
    const n = this.lines.starts.length;
    let end = first.end;
    for (;;) {
      let k = end;
      while (k < n && this.isBlank(k)) k++;
      if (k >= n || k === end) break;
      if (this.fenceOpen(k) !== undefined || this.jsonBlockAt(k) !== undefined) break;
      const next = this.scanParagraph(k);
      if (!this.isIndented(k) && !next.structured) break;
      end = next.end;
    }
    const start = this.lines.starts[i] ?? 0;
    const stop = this.lines.ends[end - 1] ?? this.text.length;
    this.spans.push({ start, end: stop, kind: 'structured' });
    return end;
  }

  private scanParagraph(i: number): { end: number; structured: boolean } {
    const n = this.lines.starts.length;
    let structured = this.isIndented(i);
    let columns = this.alignedColumns(i);
    let j = i + 1;
    while (j < n && !this.isBlank(j)) {
      if (this.fenceOpen(j) !== undefined || this.jsonBlockAt(j) !== undefined) break;
      if (!structured) {
        const next = this.alignedColumns(j);
        structured = this.isIndented(j) || sharesColumn(columns, next);
        columns = next;
      }
      j++;
    }
    return { end: j, structured };
  }

  private start(i: number): number {
    return this.lines.starts[i] ?? this.text.length;
  }

  private end(i: number): number {
    return this.lines.ends[i] ?? this.text.length;
  }

  private isBlank(i: number): boolean {
    const end = this.end(i);
    for (let p = this.start(i); p < end; p++) {
      const code = this.text.charCodeAt(p);
      if (code !== SPACE && code !== TAB) return false;
    }
    return true;
  }

  private isIndented(i: number): boolean {
    const s = this.start(i);
    const first = this.text.charCodeAt(s);
    if (first === TAB) return true;
    return first === SPACE && s + 1 < this.end(i) && this.text.charCodeAt(s + 1) === SPACE;
  }

  /**
   * Columns (offsets from the line start) where text resumes after a run of two or more spaces
   * inside line `i`; a run after sentence punctuation is double spacing, not alignment.
   */
  private alignedColumns(i: number): number[] | undefined {
    const text = this.text;
    const s = this.start(i);
    const end = this.end(i);
    let p = s;
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    let columns: number[] | undefined;
    for (;;) {
      const run = this.doubleSpaces.next(p);
      if (run < 0 || run >= end) return columns;
      let after = run + 2;
      while (after < end && text.charCodeAt(after) === SPACE) after++;
      if (after < end && !isSentencePunctuation(text.charCodeAt(run - 1))) {
        columns ??= [];
        columns.push(after - s);
      }
      p = after;
    }
  }

  private fenceOpen(i: number): Fence | undefined {
    const text = this.text;
    const end = this.end(i);
    const s = this.start(i);
    let p = s;
    while (p < end && p - s < 3 && text.charCodeAt(p) === SPACE) p++;
    const code = text.charCodeAt(p);
    if (code !== BACKTICK && code !== TILDE) return undefined;
    let q = p;
    while (q < end && text.charCodeAt(q) === code) q++;
    if (q - p < 3) return undefined;
    // "```js```" on one line is inline code, not a fence.
    if (code === BACKTICK) {
      const more = text.indexOf('`', q);
      if (more >= 0 && more < end) return undefined;
    }
    return { code, length: q - p };
  }

  private isFenceClose(i: number, fence: Fence): boolean {
    const text = this.text;
    const end = this.end(i);
    const s = this.start(i);
    let p = s;
    while (p < end && p - s < 3 && text.charCodeAt(p) === SPACE) p++;
    let q = p;
    while (q < end && text.charCodeAt(q) === fence.code) q++;
    if (q - p < fence.length) return false;
    while (q < end) {
      const code = text.charCodeAt(q);
      if (code !== SPACE && code !== TAB) return false;
      q++;
    }
    return true;
  }

  /** A pretty-printed JSON object or array whose brackets stand alone at column 0. */
  private jsonBlockAt(i: number): JsonBlock | undefined {
    if (this.jsonMemoLine === i) return this.jsonMemo;
    const block = this.findJsonBlock(i);
    this.jsonMemoLine = i;
    this.jsonMemo = block;
    return block;
  }

  private findJsonBlock(i: number): JsonBlock | undefined {
    const open = this.loneBracket(i);
    if (open !== 0x7b && open !== 0x5b) return undefined;
    const close = open + 2;
    const n = this.lines.starts.length;
    for (let k = i + 1; k < n; k++) {
      if (this.isBlank(k)) return undefined;
      const first = this.text.charCodeAt(this.start(k));
      if (first === SPACE || first === TAB) continue;
      if (this.loneBracket(k) !== close) return undefined;
      const candidate = this.text.slice(this.start(i), this.end(k));
      if (candidate.length > this.jsonBudget) return undefined;
      this.jsonBudget -= candidate.length;
      if (!isValidJson(candidate)) return undefined;
      return { lastLine: k, replacement: stripJsonWhitespace(candidate) };
    }
    return undefined;
  }

  /** The bracket character when line `i` is a single bracket at column 0 (trailing blanks allowed). */
  private loneBracket(i: number): number {
    const s = this.start(i);
    const end = this.end(i);
    for (let p = s + 1; p < end; p++) {
      const code = this.text.charCodeAt(p);
      if (code !== SPACE && code !== TAB) return -1;
    }
    return s < end ? this.text.charCodeAt(s) : -1;
  }
}

/** Two consecutive lines with text resuming at the same column after a space run: a table. */
function sharesColumn(a: number[] | undefined, b: number[] | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  for (const column of a) {
    if (b.includes(column)) return true;
  }
  return false;
}

function isSentencePunctuation(code: number): boolean {
  // . ! ? : ; , )
  return (
    code === 0x2e ||
    code === 0x21 ||
    code === 0x3f ||
    code === 0x3a ||
    code === 0x3b ||
    code === 0x2c ||
    code === 0x29
  );
}

/** Splits on \n, \r\n and \r. */
function splitLines(text: string): Lines {
  const starts: number[] = [];
  const ends: number[] = [];
  const n = text.length;
  let start = 0;
  if (text.indexOf('\r') < 0) {
    for (;;) {
      const br = text.indexOf('\n', start);
      starts.push(start);
      if (br < 0) {
        ends.push(n);
        return { starts, ends };
      }
      ends.push(br);
      start = br + 1;
    }
  }
  for (let p = 0; p < n; p++) {
    const code = text.charCodeAt(p);
    if (code !== LF && code !== CR) continue;
    starts.push(start);
    ends.push(p);
    if (code === CR && text.charCodeAt(p + 1) === LF) p++;
    start = p + 1;
  }
  starts.push(start);
  ends.push(n);
  return { starts, ends };
}
