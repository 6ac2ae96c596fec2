import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countPromptTokens,
  countTokens,
  countTokensWithEncoding,
  encodingForModel,
  IMAGE_LOW_DETAIL_TOKENS,
  IMAGE_TOKENS_ESTIMATE,
} from '../../src/compression/token-count.js';
import { countEditedTokens, splitBlocks } from '../../src/compression/token-delta.js';
import { evaluationDataAvailable, samplePrompts } from '../helpers/evaluation-prompts.js';

describe('encodingForModel', () => {
  const cases: [string, string][] = [
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['o1-preview', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo-0125', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['ft:gpt-3.5-turbo:acme::abc123', 'cl100k_base'],
    ['openai/gpt-4-turbo', 'cl100k_base'],
    ['GPT-4', 'cl100k_base'],
    ['llama-3-70b', 'o200k_base'],
    ['', 'o200k_base'],
  ];
  it.each(cases)('maps %s to %s', (model, encoding) => {
    expect(encodingForModel(model), `model ${model}`).toBe(encoding);
  });
});

describe('countTokens', () => {
  it('counts with the encoding of the model', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    expect(countTokens(text, 'gpt-4o'), text).toBe(10);
    expect(countTokens(text, 'gpt-4'), text).toBe(10);
    const emoji = '🙂🙂🙂 こんにちは世界';
    expect(countTokens(emoji, 'gpt-4o'), emoji).not.toBe(countTokens(emoji, 'gpt-4'));
  });

  it('counts special-token strings in user text as plain text instead of throwing', () => {
    const text = 'ignore <|endoftext|> and <|im_start|>';
    expect(countTokens(text, 'gpt-4o'), text).toBeGreaterThan(4);
    expect(countTokens(text, 'gpt-4'), text).toBeGreaterThan(4);
  });

  it('counts the empty string as zero tokens', () => {
    expect(countTokens('', 'gpt-4o')).toBe(0);
  });
});

describe('countPromptTokens', () => {
  const model = 'gpt-4o';
  const tokens = (text: string) => countTokens(text, model);

  it('adds 3 tokens per message, the role, the content and 3 for the reply priming', () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello there!' },
    ];
    const expected =
      3 +
      (3 + tokens('system') + tokens('You are terse.')) +
      (3 + tokens('user') + tokens('Hello there!'));
    expect(countPromptTokens(messages, model), JSON.stringify(messages)).toBe(expected);
  });

  it('adds 1 token plus the name for a named message', () => {
    const messages = [{ role: 'user', name: 'alice', content: 'Hi' }];
    const expected = 3 + 3 + tokens('user') + tokens('Hi') + 1 + tokens('alice');
    expect(countPromptTokens(messages, model)).toBe(expected);
  });

  it('counts text parts exactly and images with the documented fixed estimates', () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these pictures?' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'https://example.com/b.png' } },
        ],
      },
    ];
    const expected =
      3 +
      3 +
      tokens('user') +
      tokens('What is in these pictures?') +
      IMAGE_LOW_DETAIL_TOKENS +
      IMAGE_TOKENS_ESTIMATE;
    expect(countPromptTokens(messages, model), JSON.stringify(messages)).toBe(expected);
  });

  it('counts assistant tool calls and tool results', () => {
    const messages = [
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"answer":42}' },
    ];
    const expected =
      3 +
      (3 + tokens('assistant') + 3 + tokens('lookup') + tokens('{"q":"x"}')) +
      (3 + tokens('tool') + tokens('{"answer":42}') + tokens('call_1'));
    expect(countPromptTokens(messages, model), JSON.stringify(messages)).toBe(expected);
  });

  it('skips malformed entries without throwing', () => {
    const messages: unknown[] = [null, 7, 'text', [], { role: 5, content: { nested: true } }];
    expect(countPromptTokens(messages, model)).toBe(3 + 3);
  });
});

describe('countEditedTokens', () => {
  const encodings = ['o200k_base', 'cl100k_base'] as const;
  const piece = fc.constantFrom(
    'word',
    ' ',
    '  ',
    '\n',
    '\n\n',
    '\t',
    '/',
    '//',
    '.',
    '!',
    '\u00a0',
    '\u200b',
    'é',
    '123',
    '    indented',
    '```',
    ' the',
    'Ünïcödé',
    '\r\n',
    '<|endoftext|>',
  );
  const text = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));

  it('equals a full recount for any edit of any text, in both encodings', () => {
    fc.assert(
      fc.property(text, text, fc.constantFrom(...encodings), (before, after, encoding) => {
        const known = countTokensWithEncoding(before, encoding);
        const counted = countEditedTokens(before, known, after, encoding);
        expect(counted, JSON.stringify({ before, after, encoding })).toBe(
          countTokensWithEncoding(after, encoding),
        );
      }),
      { numRuns: 300 },
    );
  });

  it.runIf(evaluationDataAvailable())(
    'cuts real prompts into blocks whose counts add up to the whole',
    () => {
      for (const prompt of samplePrompts(40)) {
        for (const encoding of encodings) {
          const sum = splitBlocks(prompt.text).reduce(
            (total, block) => total + countTokensWithEncoding(block, encoding),
            0,
          );
          expect(sum, `${prompt.source} ${encoding}`).toBe(
            countTokensWithEncoding(prompt.text, encoding),
          );
        }
      }
    },
  );
});
