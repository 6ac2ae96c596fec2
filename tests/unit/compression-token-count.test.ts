import { describe, expect, it } from 'vitest';
import {
  countPromptTokens,
  countTokens,
  encodingForModel,
  IMAGE_LOW_DETAIL_TOKENS,
  IMAGE_TOKENS_ESTIMATE,
} from '../../src/compression/token-count.js';

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

  // Byte-pair encoding is quadratic in the length of one piece: before runs were counted in
  // slices, each of these took from minutes to hours (40,000 characters of one piece: ~0.9 s).
  // The limit below is a thousand times what they take now, on any machine however busy.
  it('counts a body-sized run of one character, space or symbol without holding the thread', {
    timeout: 120_000,
  }, () => {
    const n = 2_000_000;
    const runs: [string, string, number][] = [
      ['letters', 'x'.repeat(n), n / 8],
      ['spaces', ' '.repeat(n), 15_625],
      ['mixed whitespace', ' \u00a0'.repeat(n / 2), n / 8],
      ['symbols', '!'.repeat(n), n / 16],
      ['two letters', 'ab'.repeat(n / 2), n / 4],
    ];
    for (const [name, text, expected] of runs) {
      expect(countTokens(text, 'gpt-4o'), name).toBe(expected);
      expect(countTokens(text, 'gpt-4'), name).toBeGreaterThan(0);
    }
  });

  it('counts a long run as the whole would count, or within a token per slice', () => {
    const run = 'x'.repeat(20_000);
    // Counted whole by the encoder (0.2 s here), 8 characters to a token.
    expect(countTokens(run, 'gpt-4o')).toBe(2_500);
    const url = `https://example.com/${'a1b2c3d4'.repeat(40)}`;
    expect(countTokens(`see ${url} now`, 'gpt-4o')).toBe(
      countTokens('see ', 'gpt-4o') + countTokens(url, 'gpt-4o') + countTokens(' now', 'gpt-4o'),
    );
    expect(Math.abs(countTokens(url, 'gpt-4o') - 324)).toBeLessThanOrEqual(3);
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
