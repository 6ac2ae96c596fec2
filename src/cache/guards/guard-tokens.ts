/** One token of a question as the guards see it. */
export interface GuardToken {
  /** The token as written. */
  readonly text: string;
  /** Lower-cased, with a trailing possessive ('s, ’s, ') removed. */
  readonly key: string;
  readonly kind: 'word' | 'number' | 'symbol' | 'boundary';
  /** Offsets into the text, to tell "5km" (adjacent) from "5 km". */
  readonly start: number;
  readonly end: number;
  /** First word of a sentence, where capitals say nothing about names. */
  readonly sentenceStart: boolean;
  /** First word of a sentence or of a clause after a comma. */
  readonly clauseStart: boolean;
}

// Every alternative is a simple run or a single character and each repeated group must start
// with a separator, so the scan is linear in the input whatever the user sends. The first
// alternatives keep "C++", "C#", "F#" whole and read "U.S." as "US".
const TOKEN =
  /[A-Za-z]{1,2}(?:\+\+|#)(?![\p{L}\p{N}+#])|(?:[A-Za-z]\.){2,}|[0-9]+(?:[.,][0-9]+)*|[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*['’]?|[+\-*/×÷^=<>%$€£¥°#()]|[.!?:;,]/gu;
const SENTENCE_END = new Set(['.', '!', '?', ':', ';']);
const POSSESSIVE = /(?:['’]s|['’])$/u;

/** Splits normalised question text into words, numbers, symbols and sentence boundaries. */
export function tokeniseForGuards(text: string): GuardToken[] {
  const tokens: GuardToken[] = [];
  let sentenceStart = true;
  let clauseStart = true;
  // The tokens' text only (one array, no match object per token); each one's place is the first
  // place its text occurs from the end of the one before: every character a token can begin with
  // begins one wherever it stands, so none of them is in the text skipped between two tokens.
  let from = 0;
  for (const raw of text.match(TOKEN) ?? []) {
    const start = text.indexOf(raw, from);
    from = start + raw.length;
    const first = raw.charCodeAt(0);
    const isDigit = first >= 48 && first <= 57;
    const isBoundary = raw.length === 1 && (SENTENCE_END.has(raw) || raw === ',');
    // A dot inside a number ("3.5") never reaches here; one glued to a word ("e.g.") is not a
    // sentence end, so only count it when followed by a space or the end of the text.
    if (isBoundary) {
      const next = text.charAt(start + 1);
      if (raw === ',' || next === '' || next === ' ' || raw !== '.') {
        tokens.push(token(raw, raw, 'boundary', start, false, false));
        if (raw !== ',') sentenceStart = true;
        clauseStart = true;
      }
      continue;
    }
    const kind = isDigit ? 'number' : /[\p{L}\p{M}]/u.test(raw) ? 'word' : 'symbol';
    const key = kind === 'word' ? wordKey(raw) : raw;
    const isWord = kind === 'word' || kind === 'number';
    tokens.push(token(raw, key, kind, start, isWord && sentenceStart, isWord && clauseStart));
    if (isWord) {
      sentenceStart = false;
      clauseStart = false;
    }
  }
  return tokens;
}

function wordKey(raw: string): string {
  const lower = raw.toLowerCase();
  if (lower.endsWith('.')) return lower.replaceAll('.', '');
  const last = lower.charAt(lower.length - 1);
  if (last !== 's' && last !== "'" && last !== '’') return lower;
  return lower.replace(POSSESSIVE, '');
}

function token(
  text: string,
  key: string,
  kind: GuardToken['kind'],
  start: number,
  sentenceStart: boolean,
  clauseStart: boolean,
): GuardToken {
  return { text, key, kind, start, end: start + text.length, sentenceStart, clauseStart };
}
