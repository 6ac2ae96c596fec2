import { lightStem } from '../embedders/light-stem.js';
import { isFunctionWord } from '../embedders/word-weights.js';
import { type GuardToken, tokeniseForGuards } from './guard-tokens.js';
import { capitalsOf } from './letter-case.js';
import { type NumberFeatures, readNumberFeatures } from './number-features.js';
import { FILLER_AFTER_BEST, POLAR_WORDS } from './polar-lexicon.js';
import { codeIdentifiers, quotedStrings } from './quoted-and-code.js';
import {
  HONORIFICS,
  HOW_QUANTITY,
  KEY_TERMS,
  NEGATIONS,
  ORDER_CONNECTORS,
  PERSONAL_PRONOUNS,
  QUESTION_WORDS,
} from './term-lexicon.js';
import { TIME_UNITS, UNITS_ALWAYS } from './unit-lexicon.js';
import { indentationOf, verbatimParts } from './verbatim-text.js';

/** What the guards compare between two questions; extract once per text. */
export interface GuardFeatures {
  /** The text with whitespace collapsed, to look the other side's quotes up in. */
  readonly flatText: string;
  /** Canonical numbers, sorted. */
  readonly numbers: readonly string[];
  /** Canonical operators between numbers, sorted. */
  readonly operators: readonly string[];
  /** How many negations ("not", "n't", "never", "without", ...). */
  readonly negations: number;
  /** Quoted strings, de-duplicated. */
  readonly quoted: readonly string[];
  /** Code identifiers as written, sorted and de-duplicated. */
  readonly code: readonly string[];
  /** Code, quoted strings, URLs and indented blocks, byte for byte, in order (verbatimParts). */
  readonly verbatim: readonly string[];
  /** The leading whitespace of each line, or null when no line is indented (indentationOf). */
  readonly indentation: string | null;
  /** How the words written in capitals somewhere are written everywhere (capitalsOf). */
  readonly capitals: ReadonlyMap<string, string>;
  /** Names, languages, platforms and units the answer depends on. */
  readonly keyTerms: ReadonlySet<string>;
  /** Every word and unit the text contains, to check the other side's key terms against. */
  readonly present: ReadonlySet<string>;
  /** Names (not lexicon terms) in order of first appearance, to catch swapped roles. */
  readonly names: readonly string[];
  /** Per polar group: how often each pole occurs. */
  readonly polar: ReadonlyMap<string, { readonly strict: boolean; readonly counts: number[] }>;
  /** The persons its pronouns name ("first", "second", "he", "she"), in order of first mention. */
  readonly persons: readonly string[];
  /** Classes of the question words that open a clause ("why", "how-many", ...). */
  readonly questionClasses: ReadonlySet<string>;
  /** Lower-cased words of three letters or more, for opposite-prefix checks. */
  readonly words: ReadonlySet<string>;
  /** "left→right" around order-sensitive connectors ("to", "than", "-"). */
  readonly orderedPairs: ReadonlySet<string>;
  /** Stemmed content words and numbers in order, to catch swapped roles ("dog bites man"). */
  readonly contentSequence: readonly string[];
}

const PAIR_WINDOW = 4;

/** The first reading of a question: its tokens and numbers, enough for the numbers check. */
export interface GuardNumbers {
  readonly text: string;
  readonly tokens: readonly GuardToken[];
  readonly nums: NumberFeatures;
  /** Canonical numbers, sorted (GuardFeatures.numbers). */
  readonly numbers: readonly string[];
}

/** Reads the tokens and numbers of one (normalised) question. */
export function readGuardNumbers(text: string): GuardNumbers {
  const tokens = tokeniseForGuards(text);
  const nums = readNumberFeatures(tokens);
  return { text, tokens, nums, numbers: [...nums.numbers].sort() };
}

/** Reads the guard features of one (normalised) question, or completes its first reading. */
export function extractGuardFeatures(question: string | GuardNumbers): GuardFeatures {
  const { text, tokens, nums, numbers } =
    typeof question === 'string' ? readGuardNumbers(question) : question;
  const keyTerms = new Set<string>();
  const present = new Set<string>();
  const names: string[] = [];
  const polar = new Map<string, { strict: boolean; counts: number[] }>();
  const persons: string[] = [];
  const questionClasses = new Set<string>();
  const words = new Set<string>();
  const titleCase = isTitleCase(tokens);
  const contentSequence: string[] = [];
  let negations = 0;

  tokens.forEach((tok, i) => {
    const number = nums.numberAt.get(i);
    if (number !== undefined && nums.numberAt.get(i - 1) !== number) contentSequence.push(number);
    if (tok.kind !== 'word') return;
    const key = tok.key;
    present.add(key);
    if (number === undefined && !isFunctionWord(key)) contentSequence.push(lightStem(key));
    if (key.length >= 3) words.add(key);
    if (NEGATIONS.has(key) || key.endsWith("n't") || key.endsWith('n’t')) negations++;
    const person = PERSONAL_PRONOUNS.get(key);
    if (person !== undefined && !persons.includes(person)) persons.push(person);
    if (KEY_TERMS.has(key)) keyTerms.add(key);
    else if (!UNITS_ALWAYS.has(key) && isNamedEntity(tok, titleCase)) {
      keyTerms.add(key);
      if (!names.includes(key)) names.push(key);
    }
    if (tok.clauseStart) {
      const cls = QUESTION_WORDS.get(key);
      if (cls !== undefined) {
        questionClasses.add(
          key === 'how' ? (HOW_QUANTITY.get(tokens[i + 1]?.key ?? '') ?? cls) : cls,
        );
      }
    }
    const entry = POLAR_WORDS.get(key);
    if (entry !== undefined && !nums.unitAt.has(i) && !isFillerBest(key, tokens[i + 1])) {
      const slot = polar.get(entry.group) ?? { strict: entry.strict, counts: [] };
      slot.counts[entry.pole] = (slot.counts[entry.pole] ?? 0) + 1;
      polar.set(entry.group, slot);
    }
  });

  const quantitative =
    nums.numbers.length > 0 || [...questionClasses].some((cls) => cls.startsWith('how-'));
  for (const unit of nums.units) {
    present.add(`unit:${unit}`);
    if (quantitative || !TIME_UNITS.has(unit)) keyTerms.add(`unit:${unit}`);
  }

  return {
    flatText: text.replace(/\s+/g, ' '),
    numbers,
    operators: [...nums.operators].sort(),
    negations,
    quoted: [...new Set(quotedStrings(text))],
    code: [...new Set(codeIdentifiers(text))].sort(),
    verbatim: verbatimParts(text),
    indentation: indentationOf(text),
    capitals: capitalsOf(tokens),
    keyTerms,
    present,
    names,
    polar,
    persons,
    questionClasses,
    words,
    orderedPairs: orderedPairs(tokens, nums.numberAt, nums.operatorAt),
    contentSequence,
  };
}

/**
 * A capitalised word that is not just starting a sentence, an acronym ("GPU") or a word with
 * inner capitals ("iPhone", "GitHub"). Function words, "I" and titles ("Mr") never count, and
 * in Title Case Text plain capitals say nothing.
 */
function isNamedEntity(tok: GuardToken, titleCase: boolean): boolean {
  const text = tok.text;
  const lower = text.toLowerCase();
  if (lower === text || tok.key === 'i' || isFunctionWord(tok.key) || HONORIFICS.has(tok.key)) {
    return false;
  }
  if (text.length >= 2 && text === text.toUpperCase()) return true;
  if (lower.slice(1) !== text.slice(1)) return true;
  return !tok.sentenceStart && !titleCase;
}

/** Most content words capitalised: a headline or title, where capitals are style. */
function isTitleCase(tokens: readonly GuardToken[]): boolean {
  let words = 0;
  let capitalised = 0;
  for (const tok of tokens) {
    if (tok.kind !== 'word' || isFunctionWord(tok.key) || tok.sentenceStart) continue;
    words++;
    const first = tok.text.charAt(0);
    if (first !== first.toLowerCase()) capitalised++;
  }
  return words >= 3 && capitalised * 2 > words;
}

function isFillerBest(key: string, next: GuardToken | undefined): boolean {
  return (
    (key === 'best' || key === 'good') && next !== undefined && FILLER_AFTER_BEST.has(next.key)
  );
}

/** The nearest meaningful word (or number) on each side of every order-sensitive connector. */
function orderedPairs(
  tokens: readonly GuardToken[],
  numberAt: ReadonlyMap<number, string>,
  operatorAt: ReadonlySet<number>,
): Set<string> {
  const pairs = new Set<string>();
  const content = (i: number): string | undefined => {
    const tok = tokens[i];
    if (tok === undefined) return undefined;
    const number = numberAt.get(i);
    if (number !== undefined) return number;
    if (tok.kind !== 'word' || operatorAt.has(i)) return undefined;
    const key = tok.key;
    if (isFunctionWord(key) || ORDER_CONNECTORS.has(key) || NEGATIONS.has(key)) return undefined;
    if (POLAR_WORDS.has(key) || QUESTION_WORDS.has(key)) return undefined;
    return key;
  };
  const scan = (from: number, step: 1 | -1): string | undefined => {
    for (let i = from, n = 0; n < PAIR_WINDOW; i += step, n++) {
      const tok = tokens[i];
      if (tok === undefined || tok.kind === 'boundary') return undefined;
      const found = content(i);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  tokens.forEach((tok, i) => {
    const isConnector = operatorAt.has(i) || (tok.kind === 'word' && ORDER_CONNECTORS.has(tok.key));
    if (!isConnector) return;
    const left = scan(i - 1, -1);
    const right = scan(i + 1, 1);
    if (left !== undefined && right !== undefined && left !== right) pairs.add(`${left}→${right}`);
  });
  return pairs;
}
