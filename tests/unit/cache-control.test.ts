import { describe, expect, it } from 'vitest';
import { parseCacheControl } from '../../src/cache/cache-control.js';
import { replayChunks, replayFrames, splitForReplay } from '../../src/http/chat-replay.js';
import { SSE_DONE, sseData } from '../../src/http/sse.js';
import { completionFor } from '../helpers/fake-upstream.js';

describe('parseCacheControl', () => {
  it('reads no-cache, no-store and max-age in any case and order', () => {
    expect(parseCacheControl('No-Store, max-age=30 , no-cache')).toEqual({
      noCache: true,
      noStore: true,
      maxAgeMs: 30_000,
    });
  });

  it('ignores unknown directives and a malformed max-age', () => {
    expect(parseCacheControl('private, max-age=soon')).toEqual({
      noCache: false,
      noStore: false,
      maxAgeMs: null,
    });
    expect(parseCacheControl(undefined).maxAgeMs).toBeNull();
  });
});

describe('cached replay', () => {
  it('splits text into pieces that join back to exactly the text', () => {
    const text = '  Leading space, two  spaces,\nnew line and a tail. ';
    const pieces = splitForReplay(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('streams role first, content, then finish, with no usage field unless asked', () => {
    const completion = completionFor(
      { model: 'm' },
      'one two three four five six seven eight nine',
    );
    const chunks = replayChunks(completion as never, false);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      completion.choices[0]?.message.content,
    );
  });

  it('sends the replay as the chunks serialised one by one, byte for byte, then [DONE]', () => {
    const plain = completionFor({ model: 'm' }, 'one two three four five six seven eight nine');
    const rich = {
      id: 'chatcmpl-"quoted"\u2028',
      object: 'chat.completion',
      created: 1_764_979_200,
      model: 'gpt-4o-mini-2024-07-18',
      service_tier: 'default',
      system_fingerprint: 'fp_1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
          logprobs: null,
          finish_reason: 'stop',
        },
        {
          index: 1,
          message: {
            role: 'assistant',
            content: 'Calling a tool now.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            ],
          },
          logprobs: {
            content: [{ token: 'Calling', logprob: -0.1, bytes: null, top_logprobs: [] }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
    };
    for (const completion of [plain, rich]) {
      for (const includeUsage of [false, true]) {
        const expected = `${replayChunks(completion as never, includeUsage)
          .map(sseData)
          .join('')}${SSE_DONE}`;
        expect(replayFrames(completion as never, includeUsage)).toBe(expected);
      }
    }
  });
});
