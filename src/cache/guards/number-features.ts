import type { GuardToken } from './guard-tokens.js';
import {
  canonicalDigits,
  ORDINALS,
  PRONOUN_ONE_AFTER,
  PRONOUN_ONE_BEFORE,
  SCALES,
  SECOND_AS_UNIT_BEFORE,
  SMALL_NUMBERS,
  SPECIAL_NUMBERS,
  TENS,
} from './number-words.js';
import { OPERATOR_SYMBOLS, OPERATOR_WORDS } from './term-lexicon.js';
import { UNITS_AFTER_NUMBER, UNITS_ALWAYS } from './unit-lexicon.js';

/** Numbers, operators and units read from a question's tokens. */
export interface NumberFeatures {
  /** Canonical values, e.g. "12", "-3", "0.5", "ord:2" (for "second" or "2nd"). */
  readonly numbers: string[];
  /** Canonical operators between numbers: "+", "-", "*", "/", "^", "^2", "=", "<", ">", "%". */
  readonly operators: string[];
  /** Canonical units and currencies, e.g. "km", "USD", "%". */
  readonly units: string[];
  /** Token indexes that are numbers (digits or number words), for reading word order. */
  readonly numberAt: ReadonlyMap<number, string>;
  /** Token indexes that are operators between numbers. */
  readonly operatorAt: ReadonlySet<number>;
  /** Token indexes read as units ("min" in "5 min" is minutes, not minimum). */
  readonly unitAt: ReadonlySet<number>;
}

const ORDINAL_SUFFIX = new Set(['st', 'nd', 'rd', 'th']);
const CURRENCY_SYMBOLS = new Set(['$', '€', '£', '¥']);

/** Reads digits, written numbers, ordinals, operators and units ("5km", "$3", "50%"). */
export function readNumberFeatures(tokens: readonly GuardToken[]): NumberFeatures {
  const numbers: string[] = [];
  const operators: string[] = [];
  const units: string[] = [];
  const numberAt = new Map<number, string>();
  const operatorAt = new Set<number>();
  const unitAt = new Set<number>();
  const at = (i: number) => tokens[i];

  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i];
    if (tok === undefined) break;
    const read = readNumberAt(tokens, i);
    if (read !== undefined) {
      numbers.push(read.value);
      for (let j = i; j < read.next; j++) numberAt.set(j, read.value);
      const unit = unitAfter(tokens, read.next);
      if (unit !== undefined) {
        units.push(unit);
        unitAt.add(read.next);
      }
      i = read.next;
      continue;
    }
    if (tok.kind === 'word') {
      const always = UNITS_ALWAYS.get(tok.key);
      if (always !== undefined) {
        units.push(always);
        unitAt.add(i);
      }
      const op = OPERATOR_WORDS.get(tok.key);
      if (op !== undefined && (isNumeric(at(i - 1)) || isNumeric(at(i + 1)))) {
        operators.push(op);
        operatorAt.add(i);
      } else if (tok.key === 'x' && isNumeric(at(i - 1)) && isNumeric(at(i + 1))) {
        operators.push('*');
        operatorAt.add(i);
      }
    } else if (tok.kind === 'symbol') {
      const op = OPERATOR_SYMBOLS.get(tok.text);
      const prev = at(i - 1);
      const next = at(i + 1);
      const leftOk = isNumeric(prev) || prev?.text === ')';
      const rightOk = isNumeric(next) || next?.text === '(' || next?.text === '-';
      if (op !== undefined && leftOk && rightOk) {
        operators.push(op);
        operatorAt.add(i);
      } else if (CURRENCY_SYMBOLS.has(tok.text) && next?.kind === 'number') {
        units.push(UNITS_AFTER_NUMBER.get(tok.text) ?? tok.text);
      }
    }
    i++;
  }
  return { numbers, operators, units, numberAt, operatorAt, unitAt };
}

function isNumeric(tok: GuardToken | undefined): boolean {
  if (tok === undefined) return false;
  if (tok.kind === 'number') return true;
  return tok.kind === 'word' && (SMALL_NUMBERS.has(tok.key) || TENS.has(tok.key));
}

interface NumberRead {
  readonly value: string;
  readonly next: number;
}

function readNumberAt(tokens: readonly GuardToken[], i: number): NumberRead | undefined {
  const tok = tokens[i];
  if (tok === undefined) return undefined;
  if (tok.kind === 'number') return readDigits(tokens, i, tok);
  if (tok.kind !== 'word') return undefined;
  const prev = tokens[i - 1];
  const ordinal = ORDINALS.get(tok.key);
  if (ordinal !== undefined) {
    const secondIsUnit =
      tok.key === 'second' &&
      (prev === undefined ? false : SECOND_AS_UNIT_BEFORE.has(prev.key) || isNumeric(prev));
    return secondIsUnit ? undefined : { value: `ord:${ordinal}`, next: i + 1 };
  }
  const special = SPECIAL_NUMBERS.get(tok.key);
  if (special !== undefined) return { value: special, next: i + 1 };
  if (tok.key === 'one' && isPronounOne(prev, tokens[i + 1])) return undefined;
  if (tok.key === 'a' && SCALES.has(tokens[i + 1]?.key ?? '')) return readWords(tokens, i + 1, 1);
  if (SMALL_NUMBERS.has(tok.key) || TENS.has(tok.key)) return readWords(tokens, i, 0);
  return undefined;
}

function isPronounOne(prev: GuardToken | undefined, next: GuardToken | undefined): boolean {
  return PRONOUN_ONE_BEFORE.has(prev?.key ?? '') || PRONOUN_ONE_AFTER.has(next?.key ?? '');
}

function readDigits(tokens: readonly GuardToken[], i: number, tok: GuardToken): NumberRead {
  let value = canonicalDigits(tok.text);
  let next = i + 1;
  const prev = tokens[i - 1];
  const beforePrev = tokens[i - 2];
  // "-5" is negative; "12 -5" and "12-5" are subtractions, left to the operator reader.
  if (prev?.text === '-' && prev.end === tok.start && !isNumeric(beforePrev)) {
    if (beforePrev?.text !== ')') value = `-${value}`;
  }
  const after = tokens[next];
  if (after?.kind === 'word' && after.start === tok.end && ORDINAL_SUFFIX.has(after.key)) {
    return { value: `ord:${value}`, next: next + 1 };
  }
  const scaled = scaleRun(tokens, next);
  if (scaled.factor !== 1 && /^-?\d+(?:\.\d+)?$/.test(value)) {
    value = String(Number(value) * scaled.factor);
    next = scaled.next;
  }
  return { value, next };
}

function scaleRun(tokens: readonly GuardToken[], i: number): { factor: number; next: number } {
  let factor = 1;
  let next = i;
  for (;;) {
    const scale = SCALES.get(tokens[next]?.key ?? '');
    if (scale === undefined) return { factor, next };
    factor *= scale;
    next++;
  }
}

/** Reads "twenty-one", "three hundred and five", "two thousand" as one number. */
function readWords(tokens: readonly GuardToken[], i: number, start: number): NumberRead {
  let total = 0;
  let current = start;
  let last: 'small' | 'tens' | 'scale' | 'none' = start === 0 ? 'none' : 'small';
  let next = i;
  for (;;) {
    const tok = tokens[next];
    if (tok === undefined || tok.kind === 'boundary') break;
    const small = SMALL_NUMBERS.get(tok.key);
    const tens = TENS.get(tok.key);
    const scale = SCALES.get(tok.key);
    if (
      small !== undefined &&
      (last === 'none' || last === 'scale' || (last === 'tens' && small < 10))
    ) {
      current += small;
      last = 'small';
    } else if (tens !== undefined && (last === 'none' || last === 'scale')) {
      current += tens;
      last = 'tens';
    } else if (scale !== undefined && last !== 'none') {
      if (scale === 100) current = (current === 0 ? 1 : current) * 100;
      else {
        total += (current === 0 ? 1 : current) * scale;
        current = 0;
      }
      last = 'scale';
    } else if (joinsNumber(tok, last) && continuesNumber(tokens, next + 1)) {
      // "three hundred and five", "twenty-one"
    } else break;
    next++;
  }
  return { value: String(total + current), next };
}

function joinsNumber(tok: GuardToken, last: string): boolean {
  return (tok.key === 'and' && last === 'scale') || (tok.text === '-' && last === 'tens');
}

function continuesNumber(tokens: readonly GuardToken[], i: number): boolean {
  const key = tokens[i]?.key ?? '';
  return SMALL_NUMBERS.has(key) || TENS.has(key);
}

function unitAfter(tokens: readonly GuardToken[], i: number): string | undefined {
  const tok = tokens[i];
  if (tok === undefined) return undefined;
  if (tok.text === '°') {
    const scale = tokens[i + 1];
    return scale === undefined ? 'deg' : (UNITS_AFTER_NUMBER.get(scale.key) ?? 'deg');
  }
  if (tok.kind === 'symbol') return UNITS_AFTER_NUMBER.get(tok.text);
  if (tok.kind !== 'word') return undefined;
  // Long spellings ("kilometres") are collected wherever they appear; here only the short ones.
  if (UNITS_ALWAYS.has(tok.key)) return undefined;
  return UNITS_AFTER_NUMBER.get(tok.key);
}
