import type { GuardToken } from './guard-tokens.js';

/** A word written in capitals (as against lower case, or capitalised) at one place. */
const CAPITALS = 'A';
const OTHER = 'a';

/**
 * For each word (its key) that a question writes in capitals at least once ("NULL", "US", "IT",
 * "U.S."), how it is written wherever it occurs, in order, repeats merged: "AaA" for
 * "NULL … null … NULL". Empty for most questions.
 */
export function capitalsOf(tokens: readonly GuardToken[]): ReadonlyMap<string, string> {
  const keys = new Set<string>();
  for (const tok of tokens) {
    if (tok.kind === 'word' && isCapitals(tok.text)) keys.add(tok.key);
  }
  const casing = new Map<string, string>();
  if (keys.size === 0) return casing;
  for (const tok of tokens) {
    if (tok.kind !== 'word' || !keys.has(tok.key)) continue;
    const mark = isCapitals(tok.text) ? CAPITALS : OTHER;
    const seen = casing.get(tok.key) ?? '';
    if (!seen.endsWith(mark)) casing.set(tok.key, seen + mark);
  }
  return casing;
}

/**
 * Whether a word both questions use is written in capitals in the same places in both: "NULL"
 * and "null", "US" and "us", "IT" and "it" may name different things; "France" and "france", or
 * a capital that starts a sentence, do not count. `present` holds every word of the other side.
 */
export function sameCapitals(
  casing: ReadonlyMap<string, string>,
  otherCasing: ReadonlyMap<string, string>,
  otherPresent: ReadonlySet<string>,
): boolean {
  for (const [key, marks] of casing) {
    if (otherPresent.has(key) && (otherCasing.get(key) ?? OTHER) !== marks) return false;
  }
  return true;
}

/**
 * Two letters or more, all of them capitals ("US", "NULL", "U.S.", "NASA's"); "I", "A",
 * "Paris" and "iPhone" are not.
 */
function isCapitals(text: string): boolean {
  const first = text.charCodeAt(0);
  // Nearly every word starts in lower case: no need to look further.
  if (first >= 0x61 && first <= 0x7a) return false;
  let end = text.length;
  const last = text.charAt(end - 1);
  if (last === "'" || last === '’') end--;
  else if ((last === 's' || last === 'S') && isApostrophe(text.charAt(end - 2))) end -= 2;
  let letters = 0;
  for (let i = 0; i < end; i++) {
    const ch = text.charAt(i);
    const upper = ch.toUpperCase();
    if (upper === ch.toLowerCase()) continue;
    if (ch !== upper) return false;
    letters++;
  }
  return letters >= 2;
}

function isApostrophe(ch: string): boolean {
  return ch === "'" || ch === '’';
}
