import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/cache/canonical-json.js';
import { type CacheKeyInput, deriveCacheKeys } from '../../src/cache/scope.js';
import { normaliseUserText } from '../../src/cache/text-normalise.js';
import { anyText } from '../helpers/compression-arbitraries.js';

const question = { role: 'user', content: 'What is the capital of France?' };

function input(overrides: Partial<CacheKeyInput> & { extra?: Record<string, unknown> } = {}) {
  const { extra, ...rest } = overrides;
  return {
    tenantId: 'tenant-a',
    model: 'gpt-4o-mini',
    body: { model: 'gpt-4o-mini', temperature: 0, messages: [question], ...extra },
    ...rest,
  } satisfies CacheKeyInput;
}

describe('deriveCacheKeys scope isolation', () => {
  const base = deriveCacheKeys(input());

  it('gives two tenants asking the same question different scopes and exact keys', () => {
    const other = deriveCacheKeys(input({ tenantId: 'tenant-b' }));
    expect(other.scopeHash).not.toBe(base.scopeHash);
    expect(other.exactHash).not.toBe(base.exactHash);
  });

  it('gives two models different scopes', () => {
    expect(deriveCacheKeys(input({ model: 'gpt-4o' })).scopeHash).not.toBe(base.scopeHash);
  });

  it('gives two temperatures different scopes', () => {
    const hot = deriveCacheKeys(input({ extra: { temperature: 0.7 } }));
    expect(hot.scopeHash).not.toBe(base.scopeHash);
  });

  it('gives different tools, response formats and seeds different scopes', () => {
    const variants = [
      { tools: [{ type: 'function', function: { name: 'lookup' } }] },
      { response_format: { type: 'json_object' } },
      { seed: 7 },
      { max_tokens: 10 },
    ];
    const scopes = new Set(variants.map((extra) => deriveCacheKeys(input({ extra })).scopeHash));
    scopes.add(base.scopeHash);
    expect(scopes.size).toBe(variants.length + 1);
  });

  it('gives the same last question after two different earlier conversations different scopes', () => {
    const history = (answer: string) => [
      { role: 'user', content: 'Tell me about a country.' },
      { role: 'assistant', content: answer },
      { role: 'user', content: 'What is its capital?' },
    ];
    const a = deriveCacheKeys(input({ extra: { messages: history('Let us talk about France.') } }));
    const b = deriveCacheKeys(input({ extra: { messages: history('Let us talk about Peru.') } }));
    expect(a.scopeHash).not.toBe(b.scopeHash);
    expect(a.semanticText).toBe('What is its capital?');
  });

  it('gives a different system prompt a different scope', () => {
    const withSystem = deriveCacheKeys(
      input({ extra: { messages: [{ role: 'system', content: 'Answer in French.' }, question] } }),
    );
    expect(withSystem.scopeHash).not.toBe(base.scopeHash);
  });

  it('ignores stream, stream_options and user when deriving the scope and exact key', () => {
    const streamed = deriveCacheKeys(
      input({
        extra: { stream: true, stream_options: { include_usage: true }, user: 'end-user-42' },
      }),
    );
    expect(streamed.scopeHash).toBe(base.scopeHash);
    expect(streamed.exactHash).toBe(base.exactHash);
  });

  it('keys on the resolved model, not on the alias the client sent', () => {
    const viaAlias = deriveCacheKeys(input({ extra: { model: 'fast' } }));
    expect(viaAlias.scopeHash).toBe(base.scopeHash);
  });

  it('does not depend on the order of request fields or on fields set to undefined', () => {
    const reordered = deriveCacheKeys({
      tenantId: 'tenant-a',
      model: 'gpt-4o-mini',
      body: { messages: [question], top_p: undefined, temperature: 0, model: 'gpt-4o-mini' },
    });
    expect(reordered.scopeHash).toBe(base.scopeHash);
    expect(reordered.exactHash).toBe(base.exactHash);
  });

  it('puts the name on the last user message into the scope', () => {
    const named = deriveCacheKeys(input({ extra: { messages: [{ ...question, name: 'alice' }] } }));
    expect(named.scopeHash).not.toBe(base.scopeHash);
  });

  it('returns SHA-256 hex strings', () => {
    expect(base.scopeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(base.exactHash).toMatch(/^[0-9a-f]{64}$/);
    expect(base.exactHash).not.toBe(base.scopeHash);
  });
});

describe('deriveCacheKeys exact key', () => {
  const keysFor = (content: unknown) =>
    deriveCacheKeys(input({ extra: { messages: [{ role: 'user', content }] } }));

  it('derives the keys as written down, so that changing them is a decision (a new version)', () => {
    // The derivation as written down: SHA-256 (hex) of the canonical JSON of each part.
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const keys = deriveCacheKeys({
      tenantId: 'tenant-1',
      model: 'gpt-4o-mini',
      body: {
        model: 'alias',
        max_tokens: 64,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is   the capital of France?' },
        ],
      },
    });
    const scope = sha(
      '{"context":[{"content":"Be brief.","role":"system"}],"model":"gpt-4o-mini",' +
        '"params":{"max_tokens":64},"tenant":"tenant-1","turnMeta":{},"v":2}',
    );
    expect(keys.scopeHash).toBe(scope);
    expect(keys.exactHash).toBe(
      sha(
        `{"scope":"${scope}","turn":{"kind":"text","text":"What is the capital of France?"},"v":2}`,
      ),
    );
  });

  it('gives the same question with different whitespace the same exact key', () => {
    const a = keysFor('What is the capital of France?');
    const b = keysFor('  What   is the\tcapital of\n\nFrance?  ');
    expect(b.exactHash).toBe(a.exactHash);
    expect(b.semanticText).toBe('What is the capital of France?');
  });

  it('gives text parts the same exact key as the joined string', () => {
    const parts = keysFor([
      { type: 'text', text: 'What is the capital' },
      { type: 'text', text: 'of France?' },
    ]);
    expect(parts.exactHash).toBe(keysFor('What is the capital of France?').exactHash);
  });

  it('gives composed and decomposed Unicode the same exact key', () => {
    expect(keysFor('Qu’est-ce qu’un caf\u00e9 ?').exactHash).toBe(
      keysFor('Qu’est-ce qu’un cafe\u0301 ?').exactHash,
    );
  });

  it('keeps case, so questions differing only in case have different exact keys', () => {
    expect(keysFor('Is US healthcare free?').exactHash).not.toBe(
      keysFor('Is us healthcare free?').exactHash,
    );
  });

  it('gives different questions in the same scope different exact keys', () => {
    const a = keysFor('What is 12 + 7?');
    const b = keysFor('What is 12 + 8?');
    expect(a.scopeHash).toBe(b.scopeHash);
    expect(a.exactHash).not.toBe(b.exactHash);
  });
});

describe('deriveCacheKeys exact-only requests', () => {
  it('makes a turn with an image exact-only and puts the image into the exact key', () => {
    const withImage = (url: string) =>
      deriveCacheKeys(
        input({
          extra: {
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'text', text: 'What is in this picture?' },
                  { type: 'image_url', image_url: { url } },
                ],
              },
            ],
          },
        }),
      );
    const cat = withImage('https://example.com/cat.png');
    expect(cat.semanticText).toBeNull();
    expect(cat.exactOnlyReason).toBe('non-text-content');
    expect(withImage('https://example.com/dog.png').exactHash).not.toBe(cat.exactHash);
    expect(withImage('https://example.com/cat.png').exactHash).toBe(cat.exactHash);
  });

  it('makes a conversation ending in a tool result exact-only with the whole list in the scope', () => {
    const conversation = (result: string) => [
      question,
      { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f' } }] },
      { role: 'tool', tool_call_id: 'c1', content: result },
    ];
    const a = deriveCacheKeys(input({ extra: { messages: conversation('Paris') } }));
    const b = deriveCacheKeys(input({ extra: { messages: conversation('Lyon') } }));
    expect(a.exactOnlyReason).toBe('last-message-not-user');
    expect(a.semanticText).toBeNull();
    expect(a.scopeHash).not.toBe(b.scopeHash);
    expect(a.exactHash).not.toBe(b.exactHash);
  });

  it('makes a request with no user message exact-only', () => {
    const keys = deriveCacheKeys(
      input({ extra: { messages: [{ role: 'system', content: 'Say hello.' }] } }),
    );
    expect(keys.exactOnlyReason).toBe('no-user-message');
    expect(keys.semanticText).toBeNull();
  });

  it('makes an empty question and an over-long question exact-only', () => {
    const empty = deriveCacheKeys(
      input({ extra: { messages: [{ role: 'user', content: '  ' }] } }),
    );
    expect(empty.exactOnlyReason).toBe('empty-text');
    const long = deriveCacheKeys(input({ maxSemanticChars: 10 }));
    expect(long.exactOnlyReason).toBe('text-too-long');
    expect(long.semanticText).toBeNull();
    expect(long.exactHash).toBe(deriveCacheKeys(input()).exactHash);
  });
});

describe('normaliseUserText', () => {
  it('keeps code fences byte-for-byte, on lines of their own', () => {
    const text = 'Why   does this fail?\n```py\nif x:\n    y()\n```\n\n\nThanks ';
    expect(normaliseUserText(text)).toBe(
      'Why does this fail?\n```py\nif x:\n    y()\n```\n\nThanks',
    );
  });

  it('keeps whitespace inside quoted strings and inline code byte-for-byte', () => {
    expect(normaliseUserText('How many  spaces are in "x    y"?')).toBe(
      'How many spaces are in "x    y"?',
    );
    expect(normaliseUserText('What does  `print("a  b")`  output?')).toBe(
      'What does `print("a  b")` output?',
    );
    expect(normaliseUserText("Is 'a\tb'   one  token?")).toBe("Is 'a\tb' one token?");
  });

  it('keeps the indentation of structured text and the blank lines around it', () => {
    expect(normaliseUserText('a:\n  b: 1\nc: 2')).toBe('a:\n  b: 1\nc: 2');
    expect(normaliseUserText('a:\n  b: 1\n  c: 2')).toBe('a:\n  b: 1\n  c: 2');
    expect(normaliseUserText('What  is this?\n\n\nitems:\n  - a\n\n')).toBe(
      'What is this?\n\nitems:\n  - a',
    );
  });

  it('collapses a lone indented line like prose', () => {
    expect(normaliseUserText('  What   is the\tcapital of\n\nFrance?  ')).toBe(
      'What is the capital of France?',
    );
  });

  it('gives its own output back unchanged', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const once = normaliseUserText(text);
        expect(normaliseUserText(once)).toBe(once);
      }),
    );
  });

  it('collapses non-breaking and ideographic spaces like ordinary ones', () => {
    expect(normaliseUserText('a\u00a0\u3000b')).toBe('a b');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined], c: undefined, b: null } })).toBe(
      '{"a":{"b":null,"d":[1,null]},"b":1}',
    );
  });

  it('rejects values JSON cannot represent', () => {
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });

  it('is JSON.stringify of the value with the keys of every object sorted as Array.prototype.sort sorts them', () => {
    // Written the plain way (JSON.stringify of each key and leaf, keys sorted by the built-in sort);
    // an object rebuilt in sorted order would not do: JavaScript lists integer-like keys first.
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      if (value === null || typeof value !== 'object') return JSON.stringify(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${reference(record[key])}`).join(',')}}`;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 500 },
    );
  });
});
