import { describe, expect, it } from 'vitest';
import { derivePromptCacheKey, stablePrefix } from '../../src/cache/prompt-cache-key.js';
import { compressMessages } from '../../src/compression/compress-messages.js';

const SECRET = Buffer.alloc(32, 7);
const SYSTEM = { role: 'system', content: 'You are a careful assistant for ACME invoices.' };
const TOOLS = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];

function chat(user: string, extra: Record<string, unknown> = {}) {
  return {
    model: 'gpt-4.1',
    messages: [SYSTEM, { role: 'user', content: user }],
    tools: TOOLS,
    ...extra,
  };
}

describe('prompt cache key', () => {
  it('is the same for requests of one tenant that share a prefix, whatever follows it', () => {
    const a = derivePromptCacheKey(SECRET, 'acme', chat('first question'));
    const b = derivePromptCacheKey(SECRET, 'acme', chat('another question', { temperature: 0 }));
    expect(a).toMatch(/^tg-[A-Za-z0-9_-]{32}$/);
    expect(b).toBe(a);
  });

  it('differs across tenants, prefixes, tools and secrets', () => {
    const base = derivePromptCacheKey(SECRET, 'acme', chat('q'));
    const others = [
      derivePromptCacheKey(SECRET, 'globex', chat('q')),
      derivePromptCacheKey(SECRET, 'acme', {
        ...chat('q'),
        messages: [
          { role: 'system', content: 'Another prompt.' },
          { role: 'user', content: 'q' },
        ],
      }),
      derivePromptCacheKey(SECRET, 'acme', { ...chat('q'), tools: [] }),
      derivePromptCacheKey(Buffer.alloc(32, 8), 'acme', chat('q')),
    ];
    for (const other of others) expect(other).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });

  it('gives every prefix its own key, and the same again, however many prefixes came between', () => {
    const withSystem = (n: number) => ({
      ...chat('q'),
      messages: [
        { role: 'system', content: `Prompt number ${n}.` },
        { role: 'user', content: 'q' },
      ],
    });
    const first = Array.from({ length: 1_200 }, (_, n) =>
      derivePromptCacheKey(SECRET, 'acme', withSystem(n)),
    );
    expect(new Set(first).size).toBe(first.length);
    // Asked again in reverse order, after the remembered keys were dropped (more than it keeps).
    for (let n = first.length - 1; n >= 0; n--) {
      expect(derivePromptCacheKey(SECRET, 'acme', withSystem(n))).toBe(first[n]);
    }
    const otherSecret = derivePromptCacheKey(Buffer.alloc(32, 9), 'acme', withSystem(0));
    expect(otherSecret).not.toBe(first[0]);
    expect(derivePromptCacheKey(SECRET, 'acme', withSystem(0))).toBe(first[0]);
  });

  it('does not depend on the order of keys in the prefix, and reveals neither tenant nor prompt', () => {
    const reordered = {
      messages: [
        { content: SYSTEM.content, role: 'system' },
        { role: 'user', content: 'q' },
      ],
      tools: TOOLS,
    };
    const key = derivePromptCacheKey(SECRET, 'acme', chat('q'));
    expect(derivePromptCacheKey(SECRET, 'acme', reordered)).toBe(key);
    expect(key).not.toContain('acme');
    expect(key).not.toContain('ACME');
  });

  it('takes only the leading system and developer messages as the prefix, and none without one', () => {
    expect(
      stablePrefix({
        messages: [
          { role: 'developer', content: 'd' },
          { role: 'user', content: 'u' },
          { role: 'system', content: 'late' },
        ],
      }),
    ).toEqual({ instructions: [{ role: 'developer', content: 'd' }], tools: null });
    expect(
      derivePromptCacheKey(SECRET, 'acme', { messages: [{ role: 'user', content: 'u' }] }),
    ).toBeNull();
  });
});

describe('compression keeps a prefix stable', () => {
  const longSystem = {
    role: 'system',
    content: `${'Rules:   keep answers short.\n\n\n\n'.repeat(40)}Cite  sources.\u200b Basically, it is really very important that you always answer in English.`,
  };

  it.each(['safe', 'aggressive'] as const)(
    'compresses the same system prompt to the same bytes whatever the turns after it (%s)',
    (mode) => {
      const first = compressMessages([longSystem, { role: 'user', content: 'What is 2+2?' }], {
        mode,
        model: 'gpt-4.1',
        countUnchanged: false,
      });
      const second = compressMessages(
        [
          longSystem,
          { role: 'user', content: 'Rules:   keep answers short.\n\n\n\nWhat now?' },
          { role: 'assistant', content: 'Fine.' },
          { role: 'user', content: `${'A long follow-up question. '.repeat(80)}` },
        ],
        { mode, model: 'gpt-4.1', countUnchanged: false },
      );
      expect(first.changed).toBe(true);
      expect(JSON.stringify(second.messages[0])).toBe(JSON.stringify(first.messages[0]));
      const again = compressMessages([longSystem, { role: 'user', content: 'What is 2+2?' }], {
        mode,
        model: 'gpt-4.1',
        countUnchanged: false,
      });
      expect(JSON.stringify(again.messages)).toBe(JSON.stringify(first.messages));
    },
  );
});
