const VOWEL = /[aeiouy]/;

/**
 * A small, fast English stemmer: strips plural, -ing, -ed and -ly endings, undoubles a final
 * consonant and drops a final "e", so "styling", "styled", "styles" and "style" share a stem.
 * It over-stems now and then; that only merges near-synonyms in the embedding, never in the keys.
 */
export function lightStem(word: string): string {
  if (word.length <= 3) return word;
  let stem = word;
  if (stem.endsWith('ies') && stem.length > 4) stem = `${stem.slice(0, -3)}y`;
  else if (stem.endsWith('sses')) stem = stem.slice(0, -2);
  else if (stem.endsWith('s') && !/(?:ss|us|is)$/.test(stem)) stem = stem.slice(0, -1);
  stem =
    stripSuffix(stem, 'ing', 2) ?? stripSuffix(stem, 'ed', 2) ?? stripSuffix(stem, 'ly', 4) ?? stem;
  if (stem.length > 2 && stem.endsWith('e')) stem = stem.slice(0, -1);
  return stem;
}

function stripSuffix(word: string, suffix: string, minBase: number): string | undefined {
  if (!word.endsWith(suffix)) return undefined;
  const base = word.slice(0, -suffix.length);
  if (base.length < minBase || !VOWEL.test(base)) return undefined;
  const last = base.charCodeAt(base.length - 1);
  const doubled = base.length > 3 && last === base.charCodeAt(base.length - 2);
  if (doubled && !'lsz'.includes(base[base.length - 1] ?? '')) {
    return base.slice(0, -1);
  }
  return base;
}
