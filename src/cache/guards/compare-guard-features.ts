import type { GuardFeatures } from './guard-features.js';
import { sameCapitals } from './letter-case.js';
import { NEGATING_PREFIXES } from './term-lexicon.js';

/** Why a semantic match was refused: a category, never the user's words (reasons get logged). */
export type GuardRejection =
  | 'number-mismatch'
  | 'operator-mismatch'
  | 'negation-mismatch'
  | 'quoted-text-mismatch'
  | 'code-identifier-mismatch'
  | 'indentation-mismatch'
  | 'verbatim-text-mismatch'
  | 'letter-case-mismatch'
  | 'key-term-mismatch'
  | 'comparative-or-direction-mismatch'
  | 'question-type-mismatch'
  | 'opposite-word'
  | 'order-swapped'
  | 'person-mismatch';

/**
 * The checks, in the order they are tried. Each has a name (what a profile may switch off) and
 * the rejection it reports.
 */
export const GUARD_CHECKS = [
  check('numbers', 'number-mismatch', numbersAgree),
  check('operators', 'operator-mismatch', (a, b) => sameList(a.operators, b.operators)),
  check('negations', 'negation-mismatch', (a, b) => a.negations === b.negations),
  check(
    'quoted-text',
    'quoted-text-mismatch',
    (a, b) => quotedIn(a.quoted, b.flatText) && quotedIn(b.quoted, a.flatText),
  ),
  check('code-identifiers', 'code-identifier-mismatch', (a, b) => sameList(a.code, b.code)),
  check('indentation', 'indentation-mismatch', (a, b) => a.indentation === b.indentation),
  check('verbatim-text', 'verbatim-text-mismatch', (a, b) => sameList(a.verbatim, b.verbatim)),
  check(
    'letter-case',
    'letter-case-mismatch',
    (a, b) =>
      sameCapitals(a.capitals, b.capitals, b.present) &&
      sameCapitals(b.capitals, a.capitals, a.present),
  ),
  check(
    'key-terms',
    'key-term-mismatch',
    (a, b) => allPresent(a.keyTerms, b.present) && allPresent(b.keyTerms, a.present),
  ),
  check('comparatives', 'comparative-or-direction-mismatch', samePolarity),
  check('question-type', 'question-type-mismatch', (a, b) =>
    sameQuestionType(a.questionClasses, b.questionClasses),
  ),
  check('opposite-words', 'opposite-word', (a, b) => !hasOppositeWord(a.words, b.words)),
  check(
    'connector-order',
    'order-swapped',
    (a, b) =>
      !isSwapped(a.orderedPairs, b.orderedPairs) && !isSwapped(b.orderedPairs, a.orderedPairs),
  ),
  check('name-order', 'order-swapped', (a, b) => sameOrder(a.names, b.names)),
  check(
    'role-order',
    'order-swapped',
    (a, b) => !hasSwappedRoles(a.contentSequence, b.contentSequence),
  ),
  // "What is my name?" / "What is your name?": the embedders weigh pronouns as next to nothing
  // (0.98 similar to the local one), yet the two ask about different people. A side with no
  // pronoun at all ("What's the best way to learn guitar?" / "How can I learn guitar?") asks for
  // anyone, the asker included.
  check(
    'persons',
    'person-mismatch',
    (a, b) => a.persons.length === 0 || b.persons.length === 0 || sameList(a.persons, b.persons),
  ),
] as const;

/** A check's name. */
export type GuardCheckName = (typeof GUARD_CHECKS)[number]['name'];

/**
 * Checks no embedder's profile may switch off: a changed number, operator, negation or opposite
 * word, other quoted text or code, other indentation, whitespace inside code or quotes, or a word
 * in capitals on one side only ("NULL"/"null"), always asks something else, whatever an embedder
 * thinks of the two texts (and the tuning data, captions, news and forum questions, has too
 * little quoted text, code or indentation to speak for those).
 */
export const REQUIRED_GUARD_CHECKS: ReadonlySet<GuardCheckName> = new Set<GuardCheckName>([
  'numbers',
  'operators',
  'negations',
  'opposite-words',
  'quoted-text',
  'code-identifiers',
  'indentation',
  'verbatim-text',
  'letter-case',
]);

/** No check left out. */
export const NO_SKIPPED_GUARDS: ReadonlySet<GuardCheckName> = new Set();

/**
 * Returns the first reason the two questions may need different answers, or null. `skip` names
 * checks to leave out (never a required one: those always run).
 */
export function compareGuardFeatures(
  a: GuardFeatures,
  b: GuardFeatures,
  skip: ReadonlySet<GuardCheckName> = NO_SKIPPED_GUARDS,
): GuardRejection | null {
  for (const c of GUARD_CHECKS) {
    if (skip.size > 0 && skip.has(c.name) && !REQUIRED_GUARD_CHECKS.has(c.name)) continue;
    if (!c.passes(a, b)) return c.reason;
  }
  return null;
}

/** Every check the two questions fail, in order (for measuring what each one removes). */
export function failingGuardChecks(a: GuardFeatures, b: GuardFeatures): GuardCheckName[] {
  return GUARD_CHECKS.filter((c) => !c.passes(a, b)).map((c) => c.name);
}

function check<N extends string>(
  name: N,
  reason: GuardRejection,
  passes: (a: GuardFeatures, b: GuardFeatures) => boolean,
): {
  readonly name: N;
  readonly reason: GuardRejection;
  passes(a: GuardFeatures, b: GuardFeatures): boolean;
} {
  return { name, reason, passes };
}

/**
 * The first check, and one no profile may skip: two questions must have the same numbers. It
 * needs only their first reading (GuardNumbers), so a pair it refuses is refused without the rest.
 */
export function numbersAgree(
  a: { readonly numbers: readonly string[] },
  b: { readonly numbers: readonly string[] },
): boolean {
  return sameList(a.numbers, b.numbers);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Quoted text must appear in the other question, quoted or not, with the same case. */
function quotedIn(quoted: readonly string[], otherText: string): boolean {
  return quoted.every((q) => otherText.includes(q));
}

function allPresent(terms: ReadonlySet<string>, present: ReadonlySet<string>): boolean {
  for (const term of terms) {
    if (!present.has(term) && !hasDerivedForm(term, present)) return false;
  }
  return true;
}

/**
 * "Syria"/"Syrian", "Canada"/"Canadian", "Xserve"/"Xserves": forms that share all but the last
 * letter of the shorter word (at least four letters) and differ in length by three at most.
 * "Iran"/"Iraq" and "Austria"/"Australia" stay apart.
 */
function hasDerivedForm(term: string, present: ReadonlySet<string>): boolean {
  if (term.length < 4 || term.startsWith('unit:')) return false;
  for (const word of present) {
    if (Math.abs(word.length - term.length) > 3 || word.length < 4) continue;
    const shorter = Math.min(word.length, term.length);
    let common = 0;
    while (common < shorter && word.charCodeAt(common) === term.charCodeAt(common)) common++;
    if (common >= Math.max(4, shorter - 1)) return true;
  }
  return false;
}

const MAX_ORDER_WORDS = 128;

/**
 * The words both sides share come in an order that no single move explains: "a dog carries a
 * man" / "a man carries a dog". Moving one word or phrase ("In Python, how do I sort a list?" /
 * "How do I sort a list in Python?") keeps all but one shared word in order and passes.
 */
function hasSwappedRoles(a: readonly string[], b: readonly string[]): boolean {
  const inB = new Set(b);
  const inA = new Set(a);
  const sharedA = a.filter((w) => inB.has(w)).slice(0, MAX_ORDER_WORDS);
  const sharedB = b.filter((w) => inA.has(w)).slice(0, MAX_ORDER_WORDS);
  const n = Math.min(sharedA.length, sharedB.length);
  if (n < 3) return false;
  return longestCommonSubsequence(sharedA, sharedB) <= n - 2;
}

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 0; j < b.length; j++) {
      current[j + 1] =
        x === b[j] ? (previous[j] ?? 0) + 1 : Math.max(previous[j + 1] ?? 0, current[j] ?? 0);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Names both sides mention must come in the same order ("Did Alice pay Bob?"). */
function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  const shared = a.filter((name) => b.includes(name));
  const inB = b.filter((name) => shared.includes(name));
  return sameList(shared, inB);
}

function samePolarity(a: GuardFeatures, b: GuardFeatures): boolean {
  const groups = new Set([...a.polar.keys(), ...b.polar.keys()]);
  for (const group of groups) {
    const x = a.polar.get(group);
    const y = b.polar.get(group);
    const strict = (x ?? y)?.strict ?? true;
    const xs = x?.counts ?? [];
    const ys = y?.counts ?? [];
    const poles = Math.max(xs.length, ys.length);
    if (strict) {
      for (let p = 0; p < poles; p++) if ((xs[p] ?? 0) !== (ys[p] ?? 0)) return false;
    } else if (x !== undefined && y !== undefined) {
      // Loose: both sides use the group, so they must use the same poles.
      for (let p = 0; p < poles; p++) if ((xs[p] ?? 0) > 0 !== (ys[p] ?? 0) > 0) return false;
    }
  }
  return true;
}

/** "What"-type questions may match statements; other classes must agree exactly. */
function sameQuestionType(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const cls of a) if (cls !== 'what' && !b.has(cls)) return false;
  for (const cls of b) if (cls !== 'what' && !a.has(cls)) return false;
  return true;
}

/** "safe" on one side and "unsafe" on the other; "useful" and "useless". */
function hasOppositeWord(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const onlyA = [...a].filter((w) => !b.has(w));
  const onlyB = [...b].filter((w) => !a.has(w));
  if (onlyA.length === 0 || onlyB.length === 0) return false;
  const setB = new Set(onlyB);
  const setA = new Set(onlyA);
  return onlyA.some((w) => negatedIn(w, setB)) || onlyB.some((w) => negatedIn(w, setA));
}

function negatedIn(word: string, others: ReadonlySet<string>): boolean {
  for (const prefix of NEGATING_PREFIXES) {
    if (word.length - prefix.length >= 3 && word.startsWith(prefix)) {
      if (others.has(word.slice(prefix.length))) return true;
    }
  }
  if (word.endsWith('less') && word.length > 6) {
    const stem = word.slice(0, -4);
    if (others.has(stem) || others.has(`${stem}ful`)) return true;
  }
  return false;
}

/** One side orders a pair one way ("binary→decimal"), the other only the opposite way. */
function isSwapped(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const pair of a) {
    const [left, right] = pair.split('→');
    const reversed = `${right}→${left}`;
    if (b.has(reversed) && !b.has(pair)) return true;
  }
  return false;
}
