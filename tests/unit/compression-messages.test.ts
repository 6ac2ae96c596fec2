import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGGRESSIVE_MIN_TOKENS } from '../../src/compression/aggressive-transforms.js';
import { type CompressionMode, compressMessages } from '../../src/compression/compress-messages.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';
import { countTokens } from '../../src/compression/token-count.js';
import { anyText } from '../helpers/compression-arbitraries.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const MODES: CompressionMode[] = ['off', 'safe', 'aggressive'];

/** A made-up word per number (letters only: units with digits dedupe differently). */
function word(n: number): string {
  let out = '';
  let rest = n + 1000;
  while (rest > 0) {
    out += 'bcdfghjklmnpqrstvwz'.charAt(rest % 19) + 'aeiou'.charAt(rest % 5);
    rest = Math.floor(rest / 19);
  }
  return out;
}

/** A long paragraph (about 60 tokens) whose sentences appear nowhere else. */
function paragraph(seed: number): string {
  const sentences: string[] = [];
  for (let s = 0; s < 4; s++) {
    const n = seed * 16 + s * 4;
    sentences.push(
      `The ${word(n)} near the ${word(n + 1)} kept ${word(n + 2)} records for the ${word(n + 3)} office today.`,
    );
  }
  return sentences.join(' ');
}

function largeDocument(from: number, paragraphs: number): string {
  const parts: string[] = [];
  for (let i = from; i < from + paragraphs; i++) parts.push(paragraph(i));
  return parts.join('\n\n');
}

describe('compressMessages', () => {
  const messages = deepFreeze([
    { role: 'system', content: 'You  are   helpful.  ' },
    { role: 'developer', content: 'Be\u200b brief.\n\n\n\nThanks' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Describe   this  image:' },
        { type: 'image_url', image_url: { url: 'https://example.com/a  b.png' } },
        { type: 'input_audio', input_audio: { data: 'AAAA  ', format: 'wav' } },
      ],
    },
    { role: 'assistant', content: 'It  shows   a cat.  \n\n\n\n' },
    { role: 'tool', tool_call_id: 'c1', content: '{\n  "temp": 21.50,\n  "unit": "C"\n}' },
    { role: 'tool', tool_call_id: 'c2', content: 'plain   tool   output\n\n\n' },
    { role: 'user', content: 'And  now?' },
  ]);

  it('returns the same array and counts nothing in mode off', () => {
    const result = compressMessages(messages, { mode: 'off', model: 'gpt-4o' });
    expect(result.messages).toBe(messages);
    expect(result, JSON.stringify(result)).toMatchObject({
      tokensBefore: 0,
      tokensAfter: 0,
      changed: false,
    });
  });

  it('compresses system, developer and user text and minifies tool-result JSON', () => {
    const result = compressMessages(messages, { mode: 'safe', model: 'gpt-4o' });
    const out = result.messages as Record<string, unknown>[];
    expect(
      out.map((m) => m.content),
      JSON.stringify(out),
    ).toEqual([
      'You are helpful.',
      'Be brief.\n\nThanks',
      [
        { type: 'text', text: 'Describe this image:' },
        { type: 'image_url', image_url: { url: 'https://example.com/a  b.png' } },
        { type: 'input_audio', input_audio: { data: 'AAAA  ', format: 'wav' } },
      ],
      'It  shows   a cat.  \n\n\n\n',
      '{"temp":21.50,"unit":"C"}',
      'plain   tool   output\n\n\n',
      'And now?',
    ]);
    expect(result.changed).toBe(true);
  });

  it('keeps assistant turns, image parts, other parts and unchanged messages as the same objects', () => {
    const result = compressMessages(messages, { mode: 'aggressive', model: 'gpt-4o' });
    const out = result.messages as Record<string, unknown>[];
    const userParts = out[2]?.content as unknown[];
    const inputParts = messages[2]?.content as unknown[];
    expect(out[3]).toBe(messages[3]);
    expect(out[5]).toBe(messages[5]);
    expect(userParts[1]).toBe(inputParts[1]);
    expect(userParts[2]).toBe(inputParts[2]);
  });

  it('never mutates its input', () => {
    const input = structuredClone(messages);
    for (const mode of MODES) compressMessages(input, { mode, model: 'gpt-4o' });
    expect(input).toEqual(messages);
  });

  it('counts the tokens of the compressible texts before and after, in the model encoding', () => {
    for (const model of ['gpt-4o', 'gpt-3.5-turbo']) {
      const result = compressMessages(messages, { mode: 'safe', model });
      const out = result.messages as Record<string, unknown>[];
      const texts = (list: readonly Record<string, unknown>[]) =>
        [0, 1, 2, 4, 5, 6].map((i) => {
          const content = list[i]?.content;
          return Array.isArray(content) ? (content[0] as { text: string }).text : String(content);
        });
      const sum = (list: string[]) => list.reduce((total, t) => total + countTokens(t, model), 0);
      expect(result.tokensBefore, model).toBe(sum(texts(messages)));
      expect(result.tokensAfter, model).toBe(sum(texts(out)));
      expect(result.tokensAfter, model).toBeLessThan(result.tokensBefore);
    }
  });

  it('counts texts that need no change, in string and array content alike', () => {
    const clean = deepFreeze([
      { role: 'system', content: 'Already clean.' },
      { role: 'user', content: [{ type: 'text', text: 'Also clean.' }] },
      { role: 'tool', content: '{"a":1}' },
    ]);
    const result = compressMessages(clean, { mode: 'safe', model: 'gpt-4o' });
    const expected =
      countTokens('Already clean.', 'gpt-4o') +
      countTokens('Also clean.', 'gpt-4o') +
      countTokens('{"a":1}', 'gpt-4o');
    expect(result, JSON.stringify(result)).toMatchObject({
      tokensBefore: expected,
      tokensAfter: expected,
      changed: false,
    });
    (result.messages as unknown[]).forEach((message, i) => {
      expect(message, `#${i}`).toBe(clean[i]);
    });
  });

  it('passes unexpected shapes through untouched without throwing', () => {
    const odd = deepFreeze([
      null,
      42,
      'user',
      [{ role: 'user', content: 'a  b' }],
      { role: 'user' },
      { role: 'user', content: { text: 'a  b' } },
      {
        role: 'user',
        content: [null, 7, { type: 'text' }, { type: 'text', text: 5 }, { text: 'a  b' }],
      },
      { role: 'narrator', content: 'a  b' },
      { role: 'tool', content: 17 },
      { content: 'a  b' },
    ]);
    for (const mode of MODES) {
      const result = compressMessages(odd, { mode, model: 'gpt-4o' });
      expect(result.changed, mode).toBe(false);
      (result.messages as unknown[]).forEach((message, i) => {
        expect(message, `${mode} #${i}`).toBe(odd[i]);
      });
    }
  });

  it('is never worse than the input and leaves assistant text and images alone, for any messages', () => {
    const role = fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'other');
    const content = fc.oneof(
      anyText,
      fc.array(
        fc.oneof(
          anyText.map((text) => ({ type: 'text', text })),
          anyText.map((url) => ({ type: 'image_url', image_url: { url } })),
        ),
        { maxLength: 3 },
      ),
    );
    const message = fc.record({ role, content });
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 4 }),
        fc.constantFrom<CompressionMode>('safe', 'aggressive'),
        (list, mode) => {
          const input = deepFreeze(list);
          const result = compressMessages(input, { mode, model: 'gpt-4o' });
          const facts = JSON.stringify({ input, out: result.messages });
          expect(result.tokensAfter, facts).toBeLessThanOrEqual(result.tokensBefore);
          const out = result.messages as typeof list;
          input.forEach((original, i) => {
            const next = out[i];
            if (original.role === 'assistant' || original.role === 'other')
              expect(next, facts).toBe(original);
            if (Array.isArray(original.content) && Array.isArray(next?.content)) {
              original.content.forEach((part, j) => {
                if (part.type === 'image_url')
                  expect((next.content as unknown[])[j], facts).toBe(part);
              });
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('compressMessages in aggressive mode', () => {
  it('behaves exactly like safe below the size threshold', () => {
    const text = `${paragraph(1)}\n\n${paragraph(1)}   `;
    expect(countTokens(text, 'gpt-4o')).toBeLessThan(AGGRESSIVE_MIN_TOKENS);
    const safe = compressMessages([{ role: 'user', content: text }], {
      mode: 'safe',
      model: 'gpt-4o',
    });
    const aggressive = compressMessages([{ role: 'user', content: text }], {
      mode: 'aggressive',
      model: 'gpt-4o',
    });
    expect(aggressive.messages, text).toEqual(safe.messages);
  });

  it('removes a paragraph that an earlier message already contains', () => {
    const repeated = paragraph(99);
    const document = `${largeDocument(0, 12)}\n\n${repeated}\n\n${largeDocument(50, 10)}`;
    expect(countTokens(document, 'gpt-4o')).toBeGreaterThan(AGGRESSIVE_MIN_TOKENS);
    const input = [
      { role: 'system', content: `Context:\n\n${repeated}` },
      { role: 'user', content: document },
    ];
    const result = compressMessages(input, { mode: 'aggressive', model: 'gpt-4o' });
    const out = result.messages as { content: string }[];
    expect(out[0]?.content, 'the first occurrence stays').toBe(`Context:\n\n${repeated}`);
    expect(out[1]?.content, out[1]?.content).toBe(
      compressSafeText(`${largeDocument(0, 12)}\n\n${largeDocument(50, 10)}`),
    );
    expect(result.tokensAfter).toBe(
      countTokens(`Context:\n\n${repeated}`, 'gpt-4o') +
        countTokens(out[1]?.content ?? '', 'gpt-4o'),
    );
  });

  it('does not treat assistant turns as earlier copies', () => {
    const repeated = paragraph(98);
    const document = `${largeDocument(0, 20)}\n\n${repeated}`;
    const result = compressMessages(
      [
        { role: 'assistant', content: repeated },
        { role: 'user', content: document },
      ],
      { mode: 'aggressive', model: 'gpt-4o' },
    );
    expect((result.messages[1] as { content: string }).content.includes(repeated)).toBe(true);
  });
});

describe('compressMessages without counting unchanged text', () => {
  it('reports the same saving as a full count while tokenizing only what changed', () => {
    const messages = [
      { role: 'system', content: 'Already clean.' },
      { role: 'user', content: 'Too   many    spaces   here.\n\n\n\nAnd blank lines.   ' },
    ];
    const full = compressMessages(messages, { mode: 'safe', model: 'gpt-4o' });
    const lean = compressMessages(messages, {
      mode: 'safe',
      model: 'gpt-4o',
      countUnchanged: false,
    });
    expect(lean.messages).toEqual(full.messages);
    expect(lean.tokensBefore - lean.tokensAfter).toBe(full.tokensBefore - full.tokensAfter);
    expect(lean.tokensBefore).toBeLessThan(full.tokensBefore);
    expect(full.tokensBefore - full.tokensAfter).toBeGreaterThan(0);
  });
});
