import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { StreamAssembler } from '../../src/upstream/stream-assembly.js';

const base = {
  id: 'c1',
  object: 'chat.completion.chunk' as const,
  created: 1,
  model: 'm',
  system_fingerprint: 'fp',
};

describe('StreamAssembler', () => {
  it('rebuilds content, tool calls, finish reason and usage from chunks', () => {
    const a = new StreamAssembler();
    const chunks: ChatCompletionChunk[] = [
      {
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }],
      },
      { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                {
                  index: 0,
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get', arguments: '{"a"' },
                },
              ],
            },
            finish_reason: null,
          },
        ],
      },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
    ];
    for (const c of chunks) a.add(c);
    expect(a.finished).toBe(true);
    expect(a.result()).toEqual({
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      system_fingerprint: 'fp',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hello',
            refusal: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
    });
  });

  it('keeps choices of n > 1 apart and reports an unfinished stream', () => {
    const a = new StreamAssembler();
    a.add({
      ...base,
      choices: [
        { index: 1, delta: { content: 'B' }, finish_reason: null },
        { index: 0, delta: { content: 'A' }, finish_reason: 'stop' },
      ],
    });
    expect(a.finished).toBe(false);
    expect(a.result().choices.map((c) => c.message.content)).toEqual(['A', 'B']);
    expect(a.result().choices.map((c) => c.finish_reason)).toEqual(['stop', null]);
  });
});
