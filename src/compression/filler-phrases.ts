import type { RewriteRule } from './rewrite-rule.js';

/**
 * Sentence openers that only wrap an instruction ("I want you to act as a tutor" says the same as
 * "Act as a tutor"). Matched case-sensitively at the start of a sentence, line or list item and
 * only before a lower-case word, which is then capitalised.
 */
const SENTENCE_OPENERS = [
  'I want you to',
  'I would like you to',
  'I need you to',
  'Please note that',
  'It is important to note that',
  'It should be noted that',
  'Note that',
  'Please',
  'Kindly',
];

/** Wordy phrases and their plain equivalents; the first letter's case is kept. */
const WORDY_PHRASES: ReadonlyMap<string, string> = new Map([
  ['in order to', 'to'],
  ['due to the fact that', 'because'],
  ['owing to the fact that', 'because'],
  ['despite the fact that', 'although'],
  ['in spite of the fact that', 'although'],
  ['at this point in time', 'now'],
  ['at the present time', 'now'],
  ['in the event that', 'if'],
  ['for the purpose of', 'for'],
  ['with the exception of', 'except'],
  ['in the near future', 'soon'],
  ['a large number of', 'many'],
  ['the vast majority of', 'most'],
  ['has the ability to', 'can'],
  ['have the ability to', 'can'],
  ['is able to', 'can'],
  ['are able to', 'can'],
  ['each and every', 'every'],
  ['first and foremost', 'first'],
  ['make sure that', 'ensure that'],
]);

/** Adverbs that add no information where they stand (lower case, between two words). */
const FILLER_ADVERBS = ['basically', 'literally', 'actually'];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

// The sentence start is matched, not looked behind at: a variable-length look-behind is
// re-run at every position and turns long runs of spaces into quadratic work.
const openerPattern = new RegExp(
  `(^|[.!?]["')\\]]? +|\\n[ \\t]*(?:[-*•] +)?)(?:${SENTENCE_OPENERS.map(escapeRegExp).join('|')}) (\\p{Ll})`,
  'gu',
);

const wordyPattern = new RegExp(`\\b(?:${[...WORDY_PHRASES.keys()].join('|')})\\b`, 'gi');

const adverbPattern = new RegExp(`(?<=\\p{L},?) (?:${FILLER_ADVERBS.join('|')})(?= \\p{L})`, 'gu');

/** The filler-phrase rules of `aggressive` mode. */
export const FILLER_RULES: readonly RewriteRule[] = [
  {
    name: 'sentence-openers',
    pattern: openerPattern,
    replace: (_match, groups) => (groups[0] ?? '') + (groups[1] ?? '').toUpperCase(),
  },
  {
    name: 'wordy-phrases',
    pattern: wordyPattern,
    replace: (match) => {
      const plain = WORDY_PHRASES.get(match.toLowerCase()) ?? match;
      return match.charAt(0) === match.charAt(0).toUpperCase() ? capitalize(plain) : plain;
    },
  },
  {
    name: 'filler-adverbs',
    pattern: adverbPattern,
    replace: () => '',
  },
];
