import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggressiveTransform } from '../../src/compression/aggressive-transforms.js';
import { compressMessages } from '../../src/compression/compress-messages.js';
import { DuplicateRegistry } from '../../src/compression/duplicate-registry.js';
import { type EditWindow, findEditWindows } from '../../src/compression/edit-windows.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';
import { countTokensWithEncoding, type TokenEncoding } from '../../src/compression/token-count.js';
import { isTokenCut } from '../../src/compression/token-cut.js';
import { countEditedTokens } from '../../src/compression/token-delta.js';
import { anyText, noisyProse, proseWithPieces } from '../helpers/compression-arbitraries.js';
import { evaluationDataAvailable, samplePrompts } from '../helpers/evaluation-prompts.js';

const ENCODINGS = ['o200k_base', 'cl100k_base'] as const;
const RUNS = { numRuns: 300 };

/** Pieces on every side of the pre-split pattern's branches: cases, contractions, digits, breaks. */
const piece = fc.constantFrom(
  'word',
  'Word',
  'WORD',
  'don',
  "'t",
  "'ll",
  "'S",
  "'",
  ' ',
  '  ',
  '\t',
  '\n',
  '\n\n',
  '\r\n',
  '\r',
  ' \n',
  '/',
  '//',
  '.',
  '!',
  '"',
  ',',
  '1',
  '123',
  '4567',
  '²',
  '\u00a0',
  '\u200b',
  '\u3000',
  '\u0085',
  '\u0301',
  'é',
  'e\u0301',
  'Ünïcödé',
  '日本語',
  '🙂',
  '    indented',
  '```',
  ' the',
  '<|endoftext|>',
);
const pieceText = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));
const text = fc.oneof(pieceText, anyText);

/** A text and a version of it with a few local removals, insertions and replacements. */
const editedPair: fc.Arbitrary<[string, string]> = fc
  .tuple(
    text,
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.oneof(fc.constant(''), piece)), {
      maxLength: 8,
    }),
  )
  .map(([before, edits]) => {
    let after = before;
    for (const [at, remove, insert] of edits) {
      const index = at % (after.length + 1);
      after = after.slice(0, index) + insert + after.slice(index + remove);
    }
    return [before, after];
  });

function count(value: string, encoding: TokenEncoding): number {
  return countTokensWithEncoding(value, encoding);
}

/** The count of `value` as the sum of its stretches between cuts. */
function countByCuts(value: string, encoding: TokenEncoding): number {
  let total = 0;
  let start = 0;
  for (let index = 1; index <= value.length; index++) {
    if (isTokenCut(value, index)) {
      total += count(value.slice(start, index), encoding);
      start = index;
    }
  }
  return total;
}

/** `previous` with every window replaced by the window's text in `next`. */
function applyWindows(previous: string, next: string, windows: EditWindow[]): string {
  let out = '';
  let position = 0;
  for (const window of windows) {
    out += previous.slice(position, window.previousStart);
    out += next.slice(window.nextStart, window.nextEnd);
    position = window.previousEnd;
  }
  return out + previous.slice(position);
}

function exactDelta(before: string, after: string, encoding: TokenEncoding): number {
  return count(after, encoding) - count(before, encoding);
}

describe('isTokenCut', () => {
  it('splits the count of any text exactly at every cut, in both encodings', () => {
    fc.assert(
      fc.property(text, fc.constantFrom(...ENCODINGS), (value, encoding) => {
        expect(countByCuts(value, encoding), JSON.stringify({ value, encoding })).toBe(
          count(value, encoding),
        );
      }),
      { numRuns: 500 },
    );
  });

  const notCuts: [string, string][] = [
    ['we don', "'t"],
    ['abc', 'def'],
    ['1', '23456'],
    ['x\n', '\n\ny'],
    ['x.', '\ny'],
    ['x.\n', '//'],
  ];
  it.each(notCuts)('is not a cut between %j and %j, where the counts do not add up', (a, b) => {
    expect(isTokenCut(a + b, a.length)).toBe(false);
    const sums = ENCODINGS.map((encoding) => count(a, encoding) + count(b, encoding));
    const wholes = ENCODINGS.map((encoding) => count(a + b, encoding));
    expect(sums, JSON.stringify({ a, b })).not.toEqual(wholes);
  });

  it.runIf(evaluationDataAvailable())('splits the counts of real prompts exactly', () => {
    for (const prompt of samplePrompts(40)) {
      for (const encoding of ENCODINGS) {
        expect(countByCuts(prompt.text, encoding), `${prompt.source} ${encoding}`).toBe(
          count(prompt.text, encoding),
        );
      }
    }
  });
});

describe('findEditWindows', () => {
  it('leaves only equal text outside its windows, each window cut in both texts', () => {
    fc.assert(
      fc.property(editedPair, ([before, after]) => {
        const windows = findEditWindows(before, after);
        const context = JSON.stringify({ before, after, windows });
        expect(applyWindows(before, after, windows), context).toBe(after);
        for (const w of windows) {
          for (const [value, index] of [
            [before, w.previousStart],
            [before, w.previousEnd],
            [after, w.nextStart],
            [after, w.nextEnd],
          ] as const) {
            expect(isTokenCut(value, index), context).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('tokenizes only the line ends when every line loses its trailing spaces and CR', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `Question ${i}: how many apples?   `);
    const before = lines.join('\r\n');
    const after = compressSafeText(before);
    const windows = findEditWindows(before, after);
    const edited = new Set(
      windows.map((w) =>
        JSON.stringify([
          before.slice(w.previousStart, w.previousEnd),
          after.slice(w.nextStart, w.nextEnd),
        ]),
      ),
    );
    expect(windows.length).toBe(200);
    expect([...edited]).toEqual([
      JSON.stringify(['?   \r\n', '?\n']),
      JSON.stringify(['?   ', '?']),
    ]);
  });

  it('returns no windows for equal texts', () => {
    expect(findEditWindows('same text', 'same text')).toEqual([]);
  });
});

describe('countEditedTokens', () => {
  it('equals a full recount for any two texts, in both encodings', () => {
    fc.assert(
      fc.property(
        pieceText,
        pieceText,
        fc.constantFrom(...ENCODINGS),
        (before, after, encoding) => {
          const counted = countEditedTokens(before, count(before, encoding), after, encoding);
          expect(counted, JSON.stringify({ before, after, encoding })).toBe(count(after, encoding));
        },
      ),
      RUNS,
    );
  });

  it('equals a full recount after scattered local edits, in both encodings', () => {
    fc.assert(
      fc.property(editedPair, fc.constantFrom(...ENCODINGS), ([before, after], encoding) => {
        const counted = countEditedTokens(before, 0, after, encoding);
        expect(counted, JSON.stringify({ before, after, encoding })).toBe(
          exactDelta(before, after, encoding),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('stays exact when edits are too dense or too large to place one by one', () => {
    const decomposed = 'e\u0301x'.repeat(3000);
    const spaced = 'ab  '.repeat(3000);
    const prose = Array.from({ length: 300 }, (_, i) => `Sentence ${i} says something.`).join(' ');
    const pairs: [string, string][] = [
      [decomposed, compressSafeText(decomposed)],
      [spaced, compressSafeText(spaced)],
      [prose, prose.split(' ').reverse().join(' ')],
      [prose, prose.replace(/[aeiou]/g, '')],
    ];
    for (const [before, after] of pairs) {
      for (const encoding of ENCODINGS) {
        expect(countEditedTokens(before, 0, after, encoding), before.slice(0, 40)).toBe(
          exactDelta(before, after, encoding),
        );
      }
    }
  });

  it.runIf(evaluationDataAvailable())(
    'equals a full recount for the safe and aggressive edits of real prompts',
    () => {
      for (const prompt of samplePrompts(40)) {
        const safe = compressSafeText(prompt.text);
        const aggressive = aggressiveTransform(safe, new DuplicateRegistry());
        for (const encoding of ENCODINGS) {
          for (const [before, after] of [
            [prompt.text, safe],
            [safe, aggressive],
          ] as const) {
            expect(countEditedTokens(before, 0, after, encoding), prompt.source).toBe(
              exactDelta(before, after, encoding),
            );
          }
        }
      }
    },
  );
});

describe('the request-path saving', () => {
  /** What the compress stage reports, next to the tokenizer's own before-minus-after. */
  function savings(prompt: string, model: string) {
    const lean = compressMessages([{ role: 'user', content: prompt }], {
      mode: 'safe',
      model,
      countUnchanged: false,
    });
    const out = (lean.messages[0] as { content: string }).content;
    const encoding = model === 'gpt-4' ? 'cl100k_base' : 'o200k_base';
    return {
      reported: lean.tokensBefore - lean.tokensAfter,
      exact: count(prompt, encoding) - count(out, encoding),
    };
  }

  const prompts = fc.oneof(
    noisyProse,
    anyText,
    proseWithPieces.map((p) => p.text),
  );

  it('equals the exact count difference of the whole texts on generated prompts', () => {
    fc.assert(
      fc.property(prompts, fc.constantFrom('gpt-4o', 'gpt-4'), (prompt, model) => {
        const { reported, exact } = savings(prompt, model);
        expect(reported, JSON.stringify({ prompt, model })).toBe(exact);
      }),
      { numRuns: 500 },
    );
  });

  it.runIf(evaluationDataAvailable())(
    'equals the exact count difference of the whole texts on real prompts',
    () => {
      for (const prompt of samplePrompts(60)) {
        for (const model of ['gpt-4o', 'gpt-4']) {
          const { reported, exact } = savings(prompt.text, model);
          expect(reported, `${prompt.source} ${model}`).toBe(exact);
        }
      }
    },
  );
});
