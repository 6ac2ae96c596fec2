import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { toResponseObject } from '../../src/http/responses/response-object.js';
import type { ResponseContext } from '../../src/http/responses/response-shell.js';
import { parseResponsesRequest } from '../../src/http/responses/responses-request.js';
import { replayResponseEvents } from '../../src/http/responses/stream-replay.js';
import { ResponsesStreamTranslator } from '../../src/http/responses/stream-translator.js';

type Event = Record<string, unknown> & { type: string; sequence_number: number };

/** Splits SSE text into events, checking that each `event:` line names the JSON's type. */
function parse(frames: string): Event[] {
  return frames
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      const [eventLine = '', dataLine = ''] = frame.split('\n');
      const data = JSON.parse(dataLine.replace(/^data: /, '')) as Event;
      expect(eventLine, frame).toBe(`event: ${data.type}`);
      return data;
    });
}

const context: ResponseContext = {
  id: 'resp_stream',
  createdAt: 1_760_000_000,
  request: parseResponsesRequest({ model: 'gpt-4o-mini', input: 'Hi', stream: true }),
};

const NOW_MS = 1_760_000_005_000;

function chunk(
  delta: ChatCompletionChunk.Choice['delta'],
  finish: ChatCompletionChunk.Choice['finish_reason'] = null,
): ChatCompletionChunk {
  return {
    id: 'chatcmpl-s',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  };
}

const usageChunk: ChatCompletionChunk = {
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
};

function run(chunks: ChatCompletionChunk[]): {
  events: Event[];
  translator: ResponsesStreamTranslator;
} {
  const translator = new ResponsesStreamTranslator(context, { now: () => NOW_MS });
  let text = translator.start();
  for (const c of chunks) text += translator.push(c);
  text += translator.finish();
  return { events: parse(text), translator };
}

describe('ResponsesStreamTranslator', () => {
  it('streams text as OpenAI does: lifecycle, item, part, deltas, done events, completed with usage', () => {
    const { events, translator } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo!' }),
      chunk({}, 'stop'),
      usageChunk,
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[0]?.response).toMatchObject({
      id: 'resp_stream',
      status: 'in_progress',
      output: [],
      usage: null,
    });
    const itemId = (events[2]?.item as { id: string } | undefined)?.id ?? '';
    expect(itemId).toMatch(/^msg_/);
    expect(events[2]).toMatchObject({
      output_index: 0,
      item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    });
    expect(events[3]).toMatchObject({
      item_id: itemId,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    expect(events[4]).toMatchObject({
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: 'Hel',
      logprobs: [],
    });
    expect(events[6]).toMatchObject({ item_id: itemId, text: 'Hello!' });
    expect(events[7]).toMatchObject({ part: { type: 'output_text', text: 'Hello!' } });
    expect(events[8]).toMatchObject({
      item: { id: itemId, status: 'completed', content: [{ type: 'output_text', text: 'Hello!' }] },
    });
    const completed = events[9]?.response;
    expect(completed).toMatchObject({
      id: 'resp_stream',
      status: 'completed',
      completed_at: 1_760_000_005,
      model: 'gpt-4o-mini-2024-07-18',
      output: [{ id: itemId, content: [{ text: 'Hello!' }] }],
      usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
    });
    expect(translator.response).toEqual(completed);
  });

  it('streams a function call with argument deltas after closing the message before it', () => {
    const { events } = run([
      chunk({ role: 'assistant', content: 'Checking.' }),
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_9',
            type: 'function',
            function: { name: 'weather', arguments: '' },
          },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      chunk({
        tool_calls: [
          {
            index: 1,
            id: 'call_10',
            type: 'function',
            function: { name: 'time', arguments: '{}' },
          },
        ],
      }),
      chunk({}, 'tool_calls'),
      usageChunk,
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const call = (events[8]?.item as { id: string } | undefined) ?? { id: '' };
    expect(events[8]).toMatchObject({
      output_index: 1,
      item: {
        type: 'function_call',
        status: 'in_progress',
        call_id: 'call_9',
        name: 'weather',
        arguments: '',
      },
    });
    expect(call.id).toMatch(/^fc_/);
    expect(events[9]).toMatchObject({ item_id: call.id, output_index: 1, delta: '{"city":' });
    expect(events[11]).toMatchObject({
      item_id: call.id,
      arguments: '{"city":"Oslo"}',
      name: 'weather',
    });
    expect(events[12]).toMatchObject({
      item: { id: call.id, status: 'completed', arguments: '{"city":"Oslo"}' },
    });
    expect(events[13]).toMatchObject({
      output_index: 2,
      item: { call_id: 'call_10', name: 'time' },
    });
    expect(events[17]?.response).toMatchObject({
      output: [
        { type: 'message' },
        { type: 'function_call', id: call.id, arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'call_10', arguments: '{}' },
      ],
    });
  });

  it('keeps a function call open while text comes after it, and sends that text as a message once the answer ends', () => {
    const { events } = run([
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_9',
            type: 'function',
            function: { name: 'weather', arguments: '{"city":' },
          },
        ],
      }),
      chunk({ content: 'Checking.' }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk,
    ]);
    expect(events.map((e) => [e.type, e.output_index])).toEqual([
      ['response.created', undefined],
      ['response.in_progress', undefined],
      ['response.output_item.added', 0],
      ['response.function_call_arguments.delta', 0],
      ['response.function_call_arguments.delta', 0],
      ['response.function_call_arguments.done', 0],
      ['response.output_item.done', 0],
      ['response.output_item.added', 1],
      ['response.content_part.added', 1],
      ['response.output_text.delta', 1],
      ['response.output_text.done', 1],
      ['response.content_part.done', 1],
      ['response.output_item.done', 1],
      ['response.completed', undefined],
    ]);
    expect(events[5]).toMatchObject({ arguments: '{"city":"Oslo"}' });
    expect(events[9]).toMatchObject({ delta: 'Checking.' });
    expect(events.at(-1)?.response).toMatchObject({
      output: [
        { type: 'function_call', call_id: 'call_9', arguments: '{"city":"Oslo"}' },
        { type: 'message', content: [{ type: 'output_text', text: 'Checking.' }] },
      ],
    });
  });

  it('ends with response.incomplete when the upstream stopped at its length limit', () => {
    const { events } = run([chunk({ content: 'Once upon' }), chunk({}, 'length'), usageChunk]);
    const last = events.at(-1);
    expect(last?.type).toBe('response.incomplete');
    expect(last?.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [{ status: 'incomplete' }],
    });
  });

  it('streams a refusal as refusal events', () => {
    const { events } = run([chunk({ refusal: 'No.' }), chunk({}, 'stop')]);
    expect(events.map((e) => e.type)).toContain('response.refusal.delta');
    expect(events.find((e) => e.type === 'response.refusal.done')).toMatchObject({
      refusal: 'No.',
    });
    expect(events.at(-1)?.response).toMatchObject({
      output: [{ content: [{ type: 'refusal', refusal: 'No.' }] }],
    });
  });

  it('answers an upstream failure mid-stream with response.failed and an error event, then nothing', () => {
    const translator = new ResponsesStreamTranslator(context);
    const started = parse(translator.start() + translator.push(chunk({ content: 'Par' })));
    const failed = parse(
      translator.fail({
        message: 'The upstream provider failed to answer.',
        code: 'upstream_error',
      }),
    );
    expect(failed.map((e) => e.type)).toEqual(['response.failed', 'error']);
    expect(failed[0]?.sequence_number).toBe(started.length);
    expect(failed[0]?.response).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: 'The upstream provider failed to answer.' },
    });
    expect(failed[1]).toMatchObject({
      code: 'upstream_error',
      message: 'The upstream provider failed to answer.',
      error: {
        type: 'server_error',
        code: 'upstream_error',
        message: 'The upstream provider failed to answer.',
      },
    });
    expect(translator.finish()).toBe('');
    expect(translator.push(chunk({ content: 'tial' }))).toBe('');
  });
});

describe('replayResponseEvents', () => {
  it('replays a stored completion as the events a live stream would have sent', () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-r',
      object: 'chat.completion',
      created: 1_760_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'A stored answer with quite a few words in it.',
            refusal: null,
            tool_calls: [
              { id: 'call_r', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 11, total_tokens: 18 },
    };
    const { frames, response } = replayResponseEvents(completion, context, { now: () => NOW_MS });
    const events = parse(frames.join(''));
    const text = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    expect(text).toBe('A stored answer with quite a few words in it.');
    expect(events.filter((e) => e.type === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)).toEqual({
      type: 'response.completed',
      sequence_number: events.length - 1,
      response,
    });
    const direct = toResponseObject(completion, context, 1_760_000_005);
    const withoutIds = (r: typeof response) => ({
      ...r,
      output: r.output.map(({ id: _id, ...item }) => item),
    });
    expect(withoutIds(response)).toEqual(withoutIds(direct));
  });
});

describe('reasoning summaries', () => {
  const summarised: ResponseContext = {
    ...context,
    request: parseResponsesRequest({
      model: 'deepseek-reasoner',
      input: 'Hi',
      stream: true,
      reasoning: { summary: 'auto' },
    }),
  };

  /** A delta with reasoning text, as DeepSeek and vLLM send it beside the answer. */
  function thought(text: string): ChatCompletionChunk.Choice['delta'] {
    const delta: ChatCompletionChunk.Choice['delta'] & { reasoning_content: string } = {
      reasoning_content: text,
    };
    return delta;
  }

  function runSummarised(chunks: ChatCompletionChunk[]) {
    const translator = new ResponsesStreamTranslator(summarised, { now: () => NOW_MS });
    let text = translator.start();
    for (const c of chunks) text += translator.push(c);
    return { translator, text };
  }

  it('replays a cached answer with its reasoning first, as the JSON answer shows it', () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-r',
      object: 'chat.completion',
      created: 1_760_000_000,
      model: 'deepseek-reasoner',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Paris.',
            refusal: null,
            ...{ reasoning_content: 'France: Paris.' },
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 11, total_tokens: 18 },
    };
    const { frames, response } = replayResponseEvents(completion, summarised, {
      now: () => NOW_MS,
    });
    const events = parse(frames.join(''));
    expect(events.filter((e) => e.type.startsWith('response.reasoning_summary'))).toHaveLength(4);
    const direct = toResponseObject(completion, summarised, 1_760_000_005);
    const withoutIds = (r: typeof response) => r.output.map(({ id: _id, ...item }) => item);
    expect(withoutIds(response)).toEqual(withoutIds(direct));
    expect(withoutIds(direct)).toEqual([
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'France: Paris.' }] },
      expect.objectContaining({ type: 'message', status: 'completed' }),
    ]);
  });

  it('answers a reasoning cut at its length with the reasoning only, streamed or not', () => {
    const { translator, text } = runSummarised([chunk(thought('Let me')), chunk({}, 'length')]);
    const events = parse(text + translator.finish());
    expect(events.at(-1)?.type).toBe('response.incomplete');
    const streamed = translator.response?.output.map((item) => item.type);
    const completion: ChatCompletion = {
      id: 'chatcmpl-r',
      object: 'chat.completion',
      created: 1,
      model: 'deepseek-reasoner',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            ...{ reasoning_content: 'Let me' },
          },
          logprobs: null,
          finish_reason: 'length',
        },
      ],
    };
    const direct = toResponseObject(completion, summarised).output.map((item) => item.type);
    expect(streamed).toEqual(['reasoning']);
    expect(direct).toEqual(['reasoning']);
  });

  it('holds reasoning that comes while a call streams, and writes it whole after the call', () => {
    const call = { index: 0, id: 'call_1', type: 'function' as const };
    const { translator, text } = runSummarised([
      chunk({ tool_calls: [{ ...call, function: { name: 'f', arguments: '{"a"' } }] }),
      chunk(thought('then ')),
      chunk(thought('more')),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    const events = parse(text + translator.finish());
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const output = translator.response?.output ?? [];
    expect(output.map((item) => item.type)).toEqual(['function_call', 'reasoning']);
    expect(output[0]).toMatchObject({ arguments: '{"a":1}' });
    expect(output[1]).toMatchObject({ summary: [{ type: 'summary_text', text: 'then more' }] });
    const added = events.filter((e) => e.type === 'response.output_item.added');
    expect(added.map((e) => e.output_index)).toEqual([0, 1]);
  });

  it('fails mid-reasoning with the reasoning so far, incomplete', () => {
    const { translator, text } = runSummarised([chunk(thought('Half a th'))]);
    const events = parse(text + translator.fail({ message: 'cut' }));
    expect(events.at(-2)).toMatchObject({
      type: 'response.failed',
      response: {
        status: 'failed',
        output: [
          {
            type: 'reasoning',
            status: 'incomplete',
            summary: [{ type: 'summary_text', text: 'Half a th' }],
          },
        ],
      },
    });
  });
});
