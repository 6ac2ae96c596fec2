/** Values of the English number words the guards read ("twelve" means 12). */
export const SMALL_NUMBERS: ReadonlyMap<string, number> = new Map(
  'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen'
    .split(' ')
    .map((word, value) => [word, value]),
);

/** Multiples of ten from twenty to ninety. */
export const TENS: ReadonlyMap<string, number> = new Map(
  'twenty thirty forty fifty sixty seventy eighty ninety'
    .split(' ')
    .map((word, i) => [word, (i + 2) * 10]),
);

/** Words that multiply what comes before them ("three hundred", "1.5 million"). */
export const SCALES: ReadonlyMap<string, number> = new Map([
  ['hundred', 100],
  ['thousand', 1_000],
  ['million', 1_000_000],
  ['billion', 1_000_000_000],
  ['trillion', 1_000_000_000_000],
]);

/** Ordinal words, kept apart from cardinals: "first" is not "one". */
export const ORDINALS: ReadonlyMap<string, number> = new Map(
  'first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth'
    .split(' ')
    .map((word, i) => [word, i + 1]),
);

/** Other words with an exact numeric meaning. */
export const SPECIAL_NUMBERS: ReadonlyMap<string, string> = new Map([
  ['dozen', '12'],
  ['half', '1/2'],
  ['quarter', '1/4'],
]);

/** Words before "one" that make it a pronoun ("which one", "the one"), not the number 1. */
export const PRONOUN_ONE_BEFORE: ReadonlySet<string> = new Set(
  'which the this that no any every each some another only new right wrong other last first good better best'.split(
    ' ',
  ),
);

/** Words after "one" that make it a pronoun ("one another", "one of them"). */
export const PRONOUN_ONE_AFTER: ReadonlySet<string> = new Set(['another', 'other', 'of']);

/** Words before "second" that make it the unit of time ("a second", "per second"). */
export const SECOND_AS_UNIT_BEFORE: ReadonlySet<string> = new Set(['a', 'per', 'each', 'every']);

/**
 * Canonical form of a digit string: thousands separators dropped, a decimal comma read as a
 * point, leading zeros and trailing fractional zeros removed ("1,000" → "1000", "3.50" → "3.5").
 * Strings with several dots (versions like "1.2.3") are kept as written.
 */
export function canonicalDigits(raw: string): string {
  let text = raw;
  if (/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(text)) text = text.replaceAll(',', '');
  else if (/^\d+,\d+$/.test(text)) text = text.replace(',', '.');
  if (!/^\d+(?:\.\d+)?$/.test(text)) return raw;
  const [whole = '0', fraction = ''] = text.split('.');
  const intPart = whole.replace(/^0+(?=\d)/, '');
  const fracPart = fraction.replace(/0+$/, '');
  return fracPart === '' ? intPart : `${intPart}.${fracPart}`;
}
