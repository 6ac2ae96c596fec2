import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { parseCacheControl } from '../../src/cache/cache-control.js';
import { replayFrames, splitForReplay } from '../../src/http/chat-replay.js';
import { SSE_DONE } from '../../src/http/sse.js';
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

  /** The replay's chunks, each checked to be sent exactly as serialising it gives. */
  function chunksOf(frames: string): ChatCompletionChunk[] {
    expect(frames.endsWith(SSE_DONE)).toBe(true);
    const events = frames.slice(0, -SSE_DONE.length).split('\n\n');
    expect(events.pop()).toBe('');
    return events.map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      const chunk = JSON.parse(event.slice('data: '.length)) as ChatCompletionChunk;
      expect(event).toBe(`data: ${JSON.stringify(chunk)}`);
      return chunk;
    });
  }

  it('streams role first, content, then finish, with no usage field unless asked', () => {
    const completion = completionFor(
      { model: 'm' },
      'one two three four five six seven eight nine',
    );
    const chunks = chunksOf(replayFrames(completion as never, false));
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      completion.choices[0]?.message.content,
    );
    for (const chunk of chunks) {
      const keys = Object.keys(chunk);
      expect(keys.slice(0, 4)).toEqual(['id', 'object', 'created', 'model']);
      expect(keys.at(-1)).toBe('choices');
      expect(chunk).toMatchObject({ id: completion.id, object: 'chat.completion.chunk' });
    }
  });

  it('replays refusals, tool calls, logprobs and every choice, with the usage chunk last when asked', () => {
    const usage = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };
    const logprobs = {
      content: [{ token: 'Calling', logprob: -0.1, bytes: null, top_logprobs: [] }],
    };
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } };
    const completion = {
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
          message: { role: 'assistant', content: 'Calling a tool now.', tool_calls: [call] },
          logprobs,
          finish_reason: 'tool_calls',
        },
      ],
      usage,
    };
    const chunks = chunksOf(replayFrames(completion as never, true));
    const last = chunks.pop();
    expect(last).toEqual({
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      service_tier: 'default',
      system_fingerprint: 'fp_1',
      choices: [],
      usage,
    });
    for (const chunk of chunks) {
      expect(Object.keys(chunk)).toEqual([
        'id',
        'object',
        'created',
        'model',
        'service_tier',
        'system_fingerprint',
        'choices',
        'usage',
      ]);
      expect(chunk.usage).toBeNull();
      expect(chunk.choices).toHaveLength(1);
    }
    const of = (index: number) => chunks.map((c) => c.choices[0]).filter((c) => c?.index === index);
    const first = of(0);
    expect(first.map((c) => c?.delta.refusal ?? '').join('')).toBe('I cannot help with that.');
    expect(first.at(-1)?.finish_reason).toBe('stop');
    const second = of(1);
    // An answer with token logprobs goes in one piece, carrying them.
    expect(second.filter((c) => c?.delta.content)).toEqual([
      { index: 1, delta: { content: 'Calling a tool now.' }, logprobs, finish_reason: null },
    ]);
    expect(second.flatMap((c) => c?.delta.tool_calls ?? [])).toEqual([{ index: 0, ...call }]);
    expect(second.at(-1)?.finish_reason).toBe('tool_calls');
  });
});
