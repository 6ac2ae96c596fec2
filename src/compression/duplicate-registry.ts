/** A sentence or line shorter than this (in key characters) is never treated as a duplicate. */
export const MIN_DUPLICATE_KEY_CHARS = 40;
/** …nor one with fewer words: short repeated lines are usually a template ("Answer:"). */
export const MIN_DUPLICATE_WORDS = 6;

const NOT_WORD = /[^\p{L}\p{N}]+/gu;
const DIGIT = /\p{N}/u;

/**
 * The comparison key of a sentence, line or paragraph, or `undefined` when it is too short to be
 * removed as a duplicate. Units without digits compare as lower-case letters with every run of
 * anything else (spaces, punctuation, markup) reduced to one space, so near-exact repeats match.
 * A unit with a digit must repeat byte for byte: every number it holds then survives, verbatim,
 * in the earlier copy.
 */
export function duplicateKey(unit: string): string | undefined {
  const normalized = unit.replace(NOT_WORD, ' ').trim().toLowerCase();
  if (normalized.length < MIN_DUPLICATE_KEY_CHARS) return undefined;
  let words = 1;
  for (
    let i = normalized.indexOf(' ');
    i >= 0 && words < MIN_DUPLICATE_WORDS;
    i = normalized.indexOf(' ', i + 1)
  ) {
    words++;
  }
  if (words < MIN_DUPLICATE_WORDS) return undefined;
  // Normalized keys hold no "=", so exact keys cannot collide with them.
  return DIGIT.test(unit) ? `=${unit}` : normalized;
}

/** The sentences and paragraphs already seen in a conversation, in order. */
export class DuplicateRegistry {
  private readonly units = new Set<string>();
  private readonly paragraphs = new Set<string>();

  /** True if the unit key was seen before; records it otherwise. */
  seenUnit(key: string): boolean {
    if (this.units.has(key)) return true;
    this.units.add(key);
    return false;
  }

  /** True if the paragraph key was seen before; records it otherwise. */
  seenParagraph(key: string): boolean {
    if (this.paragraphs.has(key)) return true;
    this.paragraphs.add(key);
    return false;
  }
}
