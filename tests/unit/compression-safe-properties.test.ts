import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressMessages } from '../../src/compression/compress-messages.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';
import { countTokens } from '../../src/compression/token-count.js';
import { anyText, noisyProse, proseWithPieces } from '../helpers/compression-arbitraries.js';
import type { EvaluationPrompt } from '../helpers/evaluation-prompts.js';
import { evaluationDataAvailable, samplePrompts } from '../helpers/evaluation-prompts.js';

/** Bounded work per property; the seed is fixed for the whole suite (tests/setup/fast-check.ts). */
const RUNS = { numRuns: 150 };

// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes start with ESC
const COLOUR_CODE = /\u001b\[[0-?]*[ -/]*[@-~]/g;
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters safe removes
  /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u00ad\u180e\u200b\u2060\ufeff]/g;

/**
 * What a reader sees of a text, written independently of the implementation: NFC, without
 * colour codes, invisible and control characters, every whitespace run as one space.
 */
function visibleWords(text: string): string {
  return text
    .replace(COLOUR_CODE, '')
    .replace(INVISIBLE, '')
    .normalize('NFC')
    .replace(/[\s\u0085]+/g, ' ')
    .trim();
}

function safeUser(text: string, model = 'gpt-4o') {
  const result = compressMessages([{ role: 'user', content: text }], { mode: 'safe', model });
  const message = result.messages[0] as { content: string };
  return { ...result, text: message.content };
}

describe('safe mode properties on generated text', () => {
  it('is idempotent on any text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const once = compressSafeText(text);
        expect(compressSafeText(once), JSON.stringify({ text, once })).toBe(once);
      }),
      RUNS,
    );
  });

  it('is idempotent when removing an invisible character reveals a code fence', () => {
    const text = '\u200b```\n\n```\ntext  here\n```';
    const once = compressSafeText(text);
    expect(compressSafeText(once), JSON.stringify(once)).toBe(once);
  });

  it('is idempotent on prose with code, URLs, quotes and structured blocks', () => {
    fc.assert(
      fc.property(proseWithPieces, ({ text }) => {
        const once = compressSafeText(text);
        expect(compressSafeText(once), JSON.stringify({ text, once })).toBe(once);
      }),
      RUNS,
    );
  });

  it('leaves code blocks, inline code, URLs, quoted strings and structured text byte-identical', () => {
    fc.assert(
      fc.property(proseWithPieces, ({ text, pieces }) => {
        const out = compressSafeText(text);
        for (const piece of pieces) {
          expect(
            out.includes(piece.text),
            `${piece.kind} ${JSON.stringify(piece.text)} in ${JSON.stringify(out)}`,
          ).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('changes nothing but whitespace, invisible characters and Unicode normalisation', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          noisyProse,
          proseWithPieces.map((p) => p.text),
        ),
        (text) => {
          const out = compressSafeText(text);
          expect(visibleWords(out), JSON.stringify({ text, out })).toBe(visibleWords(text));
        },
      ),
      RUNS,
    );
  });

  it('keeps JSON documents semantically equal and minified', () => {
    const layout = fc.constantFrom<[string | number | undefined, string]>(
      [2, ''],
      [4, ''],
      ['\t', ''],
      [2, '\n\n'],
      [undefined, '  '],
    );
    fc.assert(
      fc.property(fc.jsonValue(), layout, (value, [indent, padding]) => {
        const json = padding + JSON.stringify(value, null, indent) + padding;
        const out = compressSafeText(json);
        expect(JSON.parse(out), JSON.stringify({ json, out })).toEqual(JSON.parse(json));
        if (typeof value === 'object' && value !== null) {
          expect(out, json).toBe(JSON.stringify(value));
        }
      }),
      RUNS,
    );
  });

  it('never increases the token count, and reports the exact counts', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          proseWithPieces.map((p) => p.text),
        ),
        fc.constantFrom('gpt-4o', 'gpt-4'),
        (text, model) => {
          const result = safeUser(text, model);
          const facts = JSON.stringify({ text, out: result.text, model });
          expect(result.tokensBefore, facts).toBe(countTokens(text, model));
          expect(result.tokensAfter, facts).toBe(countTokens(result.text, model));
          expect(result.tokensAfter, facts).toBeLessThanOrEqual(result.tokensBefore);
        },
      ),
      RUNS,
    );
  });
});

describe.runIf(evaluationDataAvailable())('safe mode properties on the real prompts', () => {
  // Read when the tests run, not when they are collected: without the data they are skipped, and
  // a read at collection would fail the whole file.
  let prompts: EvaluationPrompt[] = [];
  beforeAll(() => {
    prompts = samplePrompts(60);
  });

  it('is idempotent', () => {
    for (const prompt of prompts) {
      const once = compressSafeText(prompt.text);
      expect(compressSafeText(once), prompt.source).toBe(once);
    }
  });

  it('changes nothing but whitespace, invisible characters, normalisation and JSON layout', () => {
    for (const prompt of prompts) {
      const out = compressSafeText(prompt.text);
      const stripJson = (text: string) => visibleWords(text).replace(/\s/g, '');
      expect(stripJson(out), prompt.source).toBe(stripJson(prompt.text));
    }
  });

  it('keeps every fenced code block and inline code span byte-identical', () => {
    for (const prompt of prompts) {
      const out = compressSafeText(prompt.text);
      const code = prompt.text.match(/^```[^\n]*\n[\s\S]*?\n```$|`[^`\n]+`/gm) ?? [];
      for (const block of code) {
        expect(out.includes(block), `${prompt.source}: ${JSON.stringify(block.slice(0, 80))}`).toBe(
          true,
        );
      }
    }
  });

  it('never increases the token count and keeps every NQ gold answer', () => {
    for (const prompt of prompts) {
      const result = safeUser(prompt.text);
      expect(result.tokensAfter, prompt.source).toBeLessThanOrEqual(result.tokensBefore);
      expect(result.tokensAfter, prompt.source).toBe(countTokens(result.text, 'gpt-4o'));
      for (const answer of prompt.answers) {
        expect(result.text.includes(answer), `${prompt.source}: ${answer}`).toBe(true);
      }
    }
  });
});
