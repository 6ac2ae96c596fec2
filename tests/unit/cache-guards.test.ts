import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareGuardFeatures,
  GUARD_CHECKS,
  type GuardCheckName,
} from '../../src/cache/guards/compare-guard-features.js';
import { extractGuardFeatures } from '../../src/cache/guards/guard-features.js';
import { tokeniseForGuards } from '../../src/cache/guards/guard-tokens.js';
import { guardSemanticMatch } from '../../src/cache/guards.js';
import { HOSTILE_GUARD_INPUTS, SHORT_PAIR } from '../helpers/adversarial-inputs.js';

/** Checks both directions: the guard must not depend on which side is cached. */
function verdicts(a: string, b: string): [string, string] {
  const there = guardSemanticMatch(a, b);
  const back = guardSemanticMatch(b, a);
  return [there.ok ? 'ok' : there.reason, back.ok ? 'ok' : back.reason];
}

const rejected: ReadonlyArray<readonly [string, string, string, string]> = [
  // [behaviour, query, candidate, reason]
  ['different numbers', 'What is 12 + 7?', 'What is 12 + 8?', 'number-mismatch'],
  [
    'a written number against a different digit',
    'What is twelve plus seven?',
    'What is 12 + 8?',
    'number-mismatch',
  ],
  [
    'different decimals',
    'Is 3.14 a good approximation of pi?',
    'Is 3.15 a good approximation of pi?',
    'number-mismatch',
  ],
  ['different percentages', 'What is 15% of 80?', 'What is 50% of 80?', 'number-mismatch'],
  [
    'different years',
    'Who won the World Cup in 2018?',
    'Who won the World Cup in 2022?',
    'number-mismatch',
  ],
  [
    'a number on one side only',
    'How do I make pancakes for 4 people?',
    'How do I make pancakes?',
    'number-mismatch',
  ],
  [
    'different ordinals',
    'What is the second largest city in Spain?',
    'What is the third largest city in Spain?',
    'number-mismatch',
  ],
  [
    'a negative number against a positive one',
    'Is -5 an integer?',
    'Is 5 an integer?',
    'number-mismatch',
  ],
  [
    'different compound written numbers',
    'Is twenty-one a prime number?',
    'Is twenty-three a prime number?',
    'number-mismatch',
  ],
  ['different operators', 'What is 12 + 7?', 'What is 12 - 7?', 'operator-mismatch'],
  [
    'a written operator against another symbol',
    'What is 6 times 7?',
    'What is 6 + 7?',
    'operator-mismatch',
  ],
  ['swapped operands of a subtraction', 'What is 12 - 7?', 'What is 7 - 12?', 'order-swapped'],
  ['an added "not"', 'Is X safe?', 'Is X not safe?', 'negation-mismatch'],
  [
    'an added "n\'t"',
    'Why does my build fail on CI?',
    "Why doesn't my build fail on CI?",
    'negation-mismatch',
  ],
  [
    '"never" on one side',
    'Should I water cacti in winter?',
    'Should I never water cacti in winter?',
    'negation-mismatch',
  ],
  [
    '"without" against "with"',
    'How do I make bread with yeast?',
    'How do I make bread without yeast?',
    'negation-mismatch',
  ],
  [
    '"cannot" on one side',
    'Why can I connect to the VPN?',
    'Why cannot I connect to the VPN?',
    'negation-mismatch',
  ],
  [
    'an opposite-prefixed word',
    'Is it safe to eat raw eggs?',
    'Is it unsafe to eat raw eggs?',
    'opposite-word',
  ],
  [
    '"useful" against "useless"',
    'Why are comments useful?',
    'Why are comments useless?',
    'opposite-word',
  ],
  [
    'different countries',
    'What is the capital of France?',
    'What is the capital of Germany?',
    'key-term-mismatch',
  ],
  [
    'different languages in upper case',
    'How do I sort a list in Python?',
    'How do I sort a list in Java?',
    'key-term-mismatch',
  ],
  [
    'different languages in lower case',
    'how do i sort a list in python',
    'how do i sort a list in rust',
    'key-term-mismatch',
  ],
  [
    'a name on one side only',
    'How do I install Docker on Ubuntu?',
    'How do I install Docker?',
    'key-term-mismatch',
  ],
  ['different acronyms', 'What does the CPU do?', 'What does the GPU do?', 'key-term-mismatch'],
  [
    'different units',
    'How many km is a marathon?',
    'How many miles is a marathon?',
    'key-term-mismatch',
  ],
  [
    'different temperature scales',
    'What is the boiling point of water in celsius?',
    'What is the boiling point of water in fahrenheit?',
    'key-term-mismatch',
  ],
  [
    'different currencies',
    'How much is a coffee in $?',
    'How much is a coffee in euros?',
    'key-term-mismatch',
  ],
  [
    'different weekdays',
    'Is the museum open on monday?',
    'Is the museum open on sunday?',
    'key-term-mismatch',
  ],
  [
    'different symbol-named languages',
    'Is C++ hard to learn?',
    'Is C# hard to learn?',
    'key-term-mismatch',
  ],
  [
    'different quoted strings',
    'What does the error "permission denied" mean?',
    'What does the error "connection refused" mean?',
    'quoted-text-mismatch',
  ],
  [
    'different inline code',
    'How do I use `useState` in React?',
    'How do I use `useEffect` in React?',
    'quoted-text-mismatch',
  ],
  [
    'different code identifiers',
    'What does os.path.join do?',
    'What does os.path.split do?',
    'code-identifier-mismatch',
  ],
  [
    'different command-line flags',
    'What does git push --force do?',
    'What does git push --tags do?',
    'code-identifier-mismatch',
  ],
  [
    'a line indented differently in fenced code',
    "What does this print?\n```python\nfor i in range(2):\n    print('a')\n    print('b')\n```",
    "What does this print?\n```python\nfor i in range(2):\n    print('a')\nprint('b')\n```",
    'indentation-mismatch',
  ],
  [
    'a line indented differently in YAML',
    'a:\n  b: 1\nc: 2',
    'a:\n  b: 1\n  c: 2',
    'indentation-mismatch',
  ],
  [
    'indented text on one side only',
    'What does this mean?\n\nitems:\n  - a',
    'What does this mean? items: - a',
    'indentation-mismatch',
  ],
  [
    'other spaces inside a quoted string',
    'How many spaces are between the words in "x    y"?',
    'How many spaces are between the words in "x y"?',
    'verbatim-text-mismatch',
  ],
  [
    'other spaces inside inline code',
    'What does `print("a  b")` output in Python?',
    'What does `print("a b")` output in Python?',
    'verbatim-text-mismatch',
  ],
  [
    'other spaces in the same fence',
    'What does this print?\n```sh\necho "a    b"\n```',
    'What does this print?\n```sh\necho "a b"\n```',
    'verbatim-text-mismatch',
  ],
  [
    'a word in capitals on the other side',
    'Is the SQL keyword NULL the same as null in JSON?',
    'Is the SQL keyword null the same as NULL in JSON?',
    'letter-case-mismatch',
  ],
  [
    'an acronym against a pronoun',
    'Is US healthcare free?',
    'Is us healthcare free?',
    'letter-case-mismatch',
  ],
  [
    'an acronym against a common word',
    'Are jobs in IT well paid?',
    'Are jobs in it well paid?',
    'letter-case-mismatch',
  ],
  [
    'opposite superlatives',
    'What is the largest planet?',
    'What is the smallest planet?',
    'comparative-or-direction-mismatch',
  ],
  [
    'a superlative on one side only',
    'What is the longest river in Africa?',
    'What is a river in Africa?',
    'comparative-or-direction-mismatch',
  ],
  [
    'opposite comparatives',
    'Why is my laptop faster on battery?',
    'Why is my laptop slower on battery?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"more" against "less"',
    'How can I use more memory in Chrome?',
    'How can I use less memory in Chrome?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"before" against "after"',
    'Should I stretch before running?',
    'Should I stretch after running?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"above" against "below"',
    'Is 37 degrees above normal body temperature?',
    'Is 37 degrees below normal body temperature?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"min" against "max"',
    'How do I find the max of an array?',
    'How do I find the min of an array?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"increase" against "decrease"',
    'How do I increase the font size?',
    'How do I decrease the font size?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"encrypt" against "decrypt"',
    'How do I encrypt a file with gpg?',
    'How do I decrypt a file with gpg?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"upload" against "download"',
    'How do I upload files over ssh?',
    'How do I download files over ssh?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"yesterday" against "tomorrow"',
    'What was the weather yesterday?',
    'What will the weather be tomorrow?',
    'comparative-or-direction-mismatch',
  ],
  [
    '"why" against "how"',
    'Why does my code crash when I click save?',
    'How does my code crash when I click save?',
    'question-type-mismatch',
  ],
  [
    '"how long" against "how often"',
    'How long should I boil an egg?',
    'How often should I boil an egg?',
    'question-type-mismatch',
  ],
  [
    '"who" against "when"',
    'Who invented the telephone?',
    'When was the telephone invented?',
    'question-type-mismatch',
  ],
  [
    'a reversed conversion',
    'How do I convert binary to decimal?',
    'How do I convert decimal to binary?',
    'order-swapped',
  ],
  [
    'a reversed comparison',
    'Is Python faster than Java?',
    'Is Java faster than Python?',
    'order-swapped',
  ],
  [
    'swapped roles of two names',
    'Does Alice owe Bob money?',
    'Does Bob owe Alice money?',
    'order-swapped',
  ],
  [
    'swapped roles of two nouns',
    'Can a dog carry a man in a canoe?',
    'Can a man carry a dog in a canoe?',
    'order-swapped',
  ],
  ['the asker against the assistant', 'What is my name?', 'What is your name?', 'person-mismatch'],
  ['"I" against "you"', 'How old am I?', 'How old are you?', 'person-mismatch'],
  ['swapped people', 'Is he older than her?', 'Is she older than him?', 'person-mismatch'],
  [
    'a follow-up about the other thing',
    'now do the same for the other function',
    'now do the same for this function',
    'comparative-or-direction-mismatch',
  ],
];

const accepted: ReadonlyArray<readonly [string, string, string]> = [
  ['identical questions', 'What is 12 + 7?', 'What is 12 + 7?'],
  [
    'digits and written numbers with written operators',
    'What is 12 + 7?',
    'What is twelve plus seven?',
  ],
  ['"%" and "percent"', 'What is 50% of 80?', 'What is fifty percent of eighty?'],
  ['thousands separators', 'Is 1,000 a round number?', 'Is 1000 a round number?'],
  [
    'abbreviated and spelled-out units',
    'How far is 5 km in miles?',
    'How far is 5 kilometres in miles?',
  ],
  ['"n\'t" and "not"', "Why doesn't my car start?", 'Why does my car not start?'],
  [
    'a possessive and an "of" phrase',
    'What is the capital of France?',
    "What's France's capital city?",
  ],
  ['synonymous superlatives', 'What is the largest planet?', 'Which planet is the biggest?'],
  ['"best way to" and "how"', "What's the best way to learn guitar?", 'How can I learn guitar?'],
  [
    'a phrase moved to the front',
    'How do I read a CSV file in Python?',
    'In Python, how do I read a CSV file?',
  ],
  [
    'a change of case only',
    'how do i install docker on ubuntu?',
    'How do I install Docker on Ubuntu?',
  ],
  ['a sentence-initial capital', 'Python is slow, why?', 'why is python slow?'],
  ['a pronoun "one"', 'Which one is better, tea or coffee?', 'Which is better, tea or coffee?'],
  ['a demonym and its country', 'What is the Syrian capital?', 'What is the capital of Syria?'],
  [
    'a headline in Title Case',
    'How To Bake Sourdough Bread At Home',
    'how to bake sourdough bread at home',
  ],
  [
    'the same quoted text, quoted differently',
    "What does 'permission denied' mean?",
    'What does “permission denied” mean?',
  ],
  [
    'the same identifier with and without call parentheses',
    'What does os.path.join() return?',
    'What does os.path.join return?',
  ],
  ['filler words', 'How do I set up nginx?', 'How do I configure nginx?'],
  ['"I" and "we" for the asker', 'How do I reset my router?', 'How do we reset our router?'],
  [
    'the same fenced code asked about in other words',
    'Why does this fail?\n```py\nif x:\n    y()\n```',
    'Why does this code fail?\n```py\nif x:\n    y()\n```',
  ],
  ['an acronym written with and without dots', 'What is the U.S. GDP?', 'What is the US GDP?'],
  ['an acronym with a possessive', "What is NASA's budget?", 'What is the budget of NASA?'],
  ['a capital starting a sentence or a name', 'Is France big? It is.', 'is france big? it is.'],

  [
    '"second" as a unit after a number',
    'Why does my screen freeze for 1 second?',
    'Why does my screen freeze for one second?',
  ],
];

describe('guardSemanticMatch rejects questions that may need different answers', () => {
  it.each(rejected)('rejects %s', (_behaviour, a, b, reason) => {
    expect(verdicts(a, b)).toEqual([reason, reason]);
  });
});

describe('guardSemanticMatch accepts rewordings that keep every deciding token', () => {
  it.each(accepted)('accepts %s', (_behaviour, a, b) => {
    expect(verdicts(a, b)).toEqual(['ok', 'ok']);
  });
});

describe('guardSemanticMatch robustness', () => {
  it('gives reasons that name a category, never the words of the question', () => {
    const result = guardSemanticMatch(
      'What is the capital of France?',
      'What is the capital of Peru?',
    );
    expect(result).toEqual({ ok: false, reason: 'key-term-mismatch' });
  });

  it('handles empty, symbol-only and non-Latin texts', () => {
    expect(guardSemanticMatch('', '')).toEqual({ ok: true });
    expect(guardSemanticMatch('???', '!!!')).toEqual({ ok: true });
    expect(guardSemanticMatch('日本の首都はどこですか', '日本の首都はどこですか')).toEqual({
      ok: true,
    });
  });

  // How long these take is a timing claim a busy machine can break: `npm run bench:timing` makes it.
  it('answers hostile input (a negation added to it is refused)', () => {
    for (const text of HOSTILE_GUARD_INPUTS) {
      expect(guardSemanticMatch(text, `${text} not`).ok, text.slice(0, 12)).toBe(false);
    }
  });

  it('lets a paraphrased pair of short questions through', () => {
    expect(guardSemanticMatch(SHORT_PAIR[0], SHORT_PAIR[1])).toEqual({ ok: true });
  });
});

describe('tokeniseForGuards', () => {
  // Where a token stands decides "5km" (adjacent) against "5 km": each one's offsets must be
  // where its text is, in order, whatever the text holds (marks, surrogates, apostrophes…).
  const pieces = [
    'a',
    'Km',
    'é',
    'e\u0301',
    '\u0301',
    '日',
    '𝒜',
    '𝟎',
    '😀',
    '\ud835',
    '0',
    '7',
    '٣',
  ];
  const more = ['.', ',', '!', '?', ' ', "'", '’', '+', '#', '-', '/', '%', '(', '"', '_'];
  const words = ['C++', 'F#', 'U.S.', 'e.g.', '3.5', '1,000', "don't", "James'", '5km'];
  it('places every token at its own text, in order, without overlaps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pieces, ...more, ...words), { maxLength: 24 }),
        (parts) => {
          const text = parts.join('');
          let end = 0;
          for (const token of tokeniseForGuards(text)) {
            expect(token.start).toBeGreaterThanOrEqual(end);
            expect(text.slice(token.start, token.end)).toBe(token.text);
            end = token.end;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('guardSemanticMatch answers as the full comparison does', () => {
  // It refuses on the numbers before reading the rest of either question: the verdict must be
  // the one every check, run in order on both questions' full features, gives.
  const pairs = [...rejected, ...accepted].flatMap(([, a, b]) => [
    [a, b],
    [b, a],
  ]);
  const profiles: ReadonlySet<GuardCheckName>[] = [
    new Set(),
    new Set(GUARD_CHECKS.map((c) => c.name)),
    new Set(['key-terms', 'question-type']),
  ];
  it('for every pair of the tables above, both ways, under every profile', () => {
    for (const skip of profiles) {
      for (const [a = '', b = ''] of pairs) {
        const full = compareGuardFeatures(extractGuardFeatures(a), extractGuardFeatures(b), skip);
        expect(guardSemanticMatch(a, b, skip), `${a} / ${b}`).toEqual(
          full === null ? { ok: true } : { ok: false, reason: full },
        );
      }
    }
  });
});
