import { createOpenAI } from '@ai-sdk/openai';
import { HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { sql } from 'drizzle-orm';
import OpenAI, { BadRequestError } from 'openai';
import type {
  ResponseCreateParamsNonStreaming,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  key = (await gateway.createKey()).key;
  client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback((req, res) =>
    json(200, completionFor(req.body, 'Hello from upstream'))(req, res),
  );
});

/** An upstream answer that calls one function. */
function toolCall(name: string, args: string) {
  return json(200, {
    ...completionFor({ model: 'gpt-4o-mini' }),
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: args } }],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
  });
}

describe('POST /v1/responses through the gateway, upstream speaking chat completions only', () => {
  it('answers responses.create with instructions, translated upstream, and records one row', async () => {
    const db = gateway.server.deps.database.db;
    const count = async () =>
      (await db.select({ n: sql<number>`count(*)::int` }).from(interactions))[0]?.n ?? 0;
    const before = await count();
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      input: 'Say hello',
    });
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('Hello from upstream');
    expect(response.usage).toMatchObject({ input_tokens: 12, output_tokens: 5, total_tokens: 17 });
    expect(upstream.requests[0]?.path).toBe('/v1/chat/completions');
    expect(upstream.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Say hello' },
    ]);
    await settleLog(gateway.server.deps);
    expect(await count()).toBe(before + 1);
  });

  it('streams named events with the text arriving in deltas', async () => {
    upstream.enqueue(sse(['Hel', 'lo']));
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Say hello',
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('Hello');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_item.done');
  });

  it('completes a stream whose upstream usage chunk leaves out its empty choices', async () => {
    upstream.enqueue((_req, res) => {
      const base = { id: 'c3', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
      const chunk = (fields: Record<string, unknown>) =>
        `data: ${JSON.stringify({ ...base, ...fields })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' } }] }) +
          chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
          chunk({ usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }) +
          'data: [DONE]\n\n',
      );
    });
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Say hello',
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1);
    expect(last?.type, JSON.stringify(last)).toBe('response.completed');
    const text = events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : ''));
    expect(text.join('')).toBe('Hello');
    expect(last?.type === 'response.completed' && last.response.usage?.total_tokens).toBe(4);
  });

  it('makes a function tool round trip', async () => {
    upstream.enqueue(toolCall('get_weather', '{"city":"Oslo"}'));
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
        strict: false,
      },
    ];
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'Weather?', tools });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
    });
    if (call?.type !== 'function_call') throw new Error('no function call');
    const second = await client.responses.create({
      model: 'gpt-4o-mini',
      tools,
      input: [
        { role: 'user', content: 'Weather?' },
        {
          type: 'function_call',
          call_id: call.call_id,
          name: call.name,
          arguments: call.arguments,
        },
        { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' },
      ],
    });
    expect(second.output_text).toBe('Hello from upstream');
    const messages = upstream.requests[1]?.body.messages as Record<string, unknown>[];
    expect(messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: call.call_id,
      content: '{"temp":21}',
    });
  });

  it('refuses an unknown previous response and a built-in tool with a 400 naming the parameter', async () => {
    const err = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'again', previous_response_id: 'resp_123' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({ param: 'previous_response_id' });
    const builtin = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'web_search' }] })
      .catch((e: unknown) => e);
    expect(builtin).toBeInstanceOf(BadRequestError);
    expect((builtin as BadRequestError).error).toMatchObject({ param: 'tools[0].type' });
  });

  it('refuses a parameter the Responses API does not have, as OpenAI does, instead of dropping it', async () => {
    for (const extra of [{ foo_bar: 1 }, { n: 2 }]) {
      const err = await client.responses
        .create({ model: 'gpt-4o-mini', input: 'x', ...extra } as ResponseCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      const name = Object.keys(extra)[0];
      expect((err as BadRequestError).error).toEqual({
        message: `Unknown parameter: '${name}'.`,
        type: 'invalid_request_error',
        param: name,
        code: 'unknown_parameter',
      });
    }
  });

  it('refuses a tool choice no tool of the request can satisfy instead of dropping it', async () => {
    const f: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: 'f',
      parameters: { type: 'object' },
      strict: false,
    };
    const cases: [Partial<ResponseCreateParamsNonStreaming>, string][] = [
      [{ tool_choice: 'required' }, 'tool_choice'],
      [{ tool_choice: { type: 'allowed_tools', mode: 'required', tools: [] } }, 'tool_choice'],
      [{ tool_choice: { type: 'function', name: 'f' } }, 'tool_choice.name'],
      [{ tools: [f], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice.name'],
    ];
    for (const [extra, param] of cases) {
      const err = await client.responses
        .create({ model: 'gpt-4o-mini', input: 'x', ...extra })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error).toMatchObject({ param, code: 'invalid_value' });
    }
    expect(upstream.requests).toHaveLength(0);
    // What a tool can satisfy still goes upstream; `auto` and `none` need no tool.
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'x',
      tools: [f],
      tool_choice: { type: 'function', name: 'f' },
    });
    await client.responses.create({ model: 'gpt-4o-mini', input: 'x', tool_choice: 'none' });
    expect(upstream.requests.map((r) => r.body.tool_choice)).toEqual([
      { type: 'function', function: { name: 'f' } },
      undefined,
    ]);
  });

  it('refuses an image or a file in a developer, system or assistant message instead of sending it as empty text', async () => {
    const image = {
      type: 'input_image',
      image_url: 'https://example.com/a.png',
      detail: 'auto',
    } as const;
    const file = { type: 'input_file', file_data: 'data:application/pdf;base64,JVBERi0=' } as const;
    for (const [role, part] of [
      ['developer', image],
      ['system', file],
      ['assistant', image],
    ] as const) {
      const err = await client.responses
        .create({
          model: 'gpt-4o-mini',
          input: [
            { type: 'message', role, content: [part] } as OpenAI.Responses.ResponseInputItem,
            { role: 'user', content: 'What is in it?' },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error).toMatchObject({
        param: 'input[0].content[0].type',
        code: 'unsupported_parameter',
      });
    }
    const added = await client.conversations
      .create({ items: [{ type: 'message', role: 'developer', content: [image] }] })
      .catch((e: unknown) => e);
    expect(added).toBeInstanceOf(BadRequestError);
    expect((added as BadRequestError).error).toMatchObject({ param: 'items[0].content[0].type' });
    expect(upstream.requests).toHaveLength(0);
    // A user message takes both, as image and file parts.
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: [image, file] }],
    });
    expect(upstream.requests[0]?.body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'auto' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=' } },
        ],
      },
    ]);
  });

  it('sends prompt_cache_options and the parts cache breakpoints upstream, and echoes the options', async () => {
    const breakpoint = { mode: 'explicit' } as const;
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      prompt_cache_options: { mode: 'explicit' },
      input: [
        {
          role: 'developer',
          content: [
            {
              type: 'input_text',
              text: 'A long shared prefix.',
              prompt_cache_breakpoint: breakpoint,
            },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'The question.', prompt_cache_breakpoint: breakpoint },
          ],
        },
      ],
    });
    expect(response.prompt_cache_options).toEqual({ mode: 'explicit', ttl: '30m' });
    const sent = upstream.requests[0]?.body;
    expect(sent?.prompt_cache_options).toEqual({ mode: 'explicit' });
    expect(sent?.messages).toEqual([
      {
        role: 'developer',
        content: [
          { type: 'text', text: 'A long shared prefix.', prompt_cache_breakpoint: breakpoint },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'text', text: 'The question.', prompt_cache_breakpoint: breakpoint }],
      },
    ]);
    expect((await client.responses.retrieve(response.id)).prompt_cache_options).toEqual({
      mode: 'explicit',
      ttl: '30m',
    });
  });

  it('runs a function tool that leaves strict out as OpenAI does: strict when its schema can be, not otherwise', async () => {
    const closable = {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: ['string', 'null'] } },
      required: ['city', 'unit'],
    };
    // An optional property that is not nullable: strict mode cannot take it.
    const optional = { type: 'object', properties: { city: { type: 'string' } } };
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Weather?',
      tools: [
        { type: 'function', name: 'closable', parameters: closable } as never,
        { type: 'function', name: 'optional', parameters: optional } as never,
        { type: 'function', name: 'chosen', parameters: closable, strict: false },
      ],
    });
    const sent = upstream.requests[0]?.body?.tools as { function: Record<string, unknown> }[];
    expect(sent.map((t) => t.function)).toEqual([
      { name: 'closable', parameters: { ...closable, additionalProperties: false }, strict: true },
      { name: 'optional', parameters: optional },
      { name: 'chosen', parameters: closable, strict: false },
    ]);
    expect(response.tools.map((t) => (t.type === 'function' ? [t.name, t.strict] : null))).toEqual([
      ['closable', true],
      ['optional', false],
      ['chosen', false],
    ]);
  });
});

/** Streams these chat chunks as the upstream's SSE body, then `[DONE]`. */
function sseChunks(chunks: readonly Record<string, unknown>[]): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  };
}

const CHUNK = {
  id: 'chatcmpl-calls',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
};
const USAGE = { prompt_tokens: 30, completion_tokens: 20, total_tokens: 50 };

/** One streamed chunk of the first choice. */
function deltaChunk(delta: Record<string, unknown>, finish: string | null = null) {
  return { ...CHUNK, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

/** An upstream JSON answer with this message (finished with tool_calls when it calls any). */
function answerWith(message: Record<string, unknown>) {
  return json(200, {
    ...completionFor({ model: 'gpt-4o-mini' }),
    choices: [
      {
        index: 0,
        message: { role: 'assistant', refusal: null, ...message },
        logprobs: null,
        finish_reason: message.tool_calls === undefined ? 'stop' : 'tool_calls',
      },
    ],
    usage: USAGE,
  });
}

const TWO_TOOLS: OpenAI.Responses.Tool[] = ['get_weather', 'get_time'].map((name) => ({
  type: 'function',
  name,
  parameters: { type: 'object', properties: {} },
  strict: false,
}));

/** A response with what differs between two answers to the same reply left out: ids and times. */
function comparable(response: object): unknown {
  const {
    id: _id,
    created_at: _c,
    completed_at: _d,
    output_text: _t,
    ...rest
  } = response as {
    id: unknown;
    created_at: unknown;
    completed_at: unknown;
    output_text?: unknown;
    output: { id?: unknown }[];
  };
  return { ...rest, output: rest.output.map(({ id: _itemId, ...item }) => item) };
}

/** Every event of a streamed response, in the order the client got them. */
async function eventsOf(params: ResponseCreateParamsNonStreaming): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of await client.responses.create({ ...params, stream: true })) {
    events.push(event);
  }
  return events;
}

/** The events that name an output item, grouped by its index, in the order they came. */
function itemEvents(events: readonly ResponseStreamEvent[]): Map<number, ResponseStreamEvent[]> {
  const byItem = new Map<number, ResponseStreamEvent[]>();
  for (const event of events) {
    if (!('output_index' in event)) continue;
    byItem.set(event.output_index, [...(byItem.get(event.output_index) ?? []), event]);
  }
  return byItem;
}

describe('streamed and JSON answers of the same reply', () => {
  it('streams two tool calls whose arguments interleave, each item whole and in order, ending as the JSON answer does', async () => {
    upstream.enqueue(
      sseChunks([
        deltaChunk({
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              index: 0,
              id: 'call_a',
              type: 'function',
              function: { name: 'get_weather', arguments: '' },
            },
            {
              index: 1,
              id: 'call_b',
              type: 'function',
              function: { name: 'get_time', arguments: '' },
            },
          ],
        }),
        deltaChunk({
          tool_calls: [
            { index: 0, function: { arguments: '{"city":' } },
            { index: 1, function: { arguments: '{"zone":' } },
          ],
        }),
        deltaChunk({
          tool_calls: [
            { index: 0, function: { arguments: '"Oslo"}' } },
            { index: 1, function: { arguments: '"CET"}' } },
          ],
        }),
        deltaChunk({}, 'tool_calls'),
        { ...CHUNK, choices: [], usage: USAGE },
      ]),
    );
    const request = { model: 'gpt-4o-mini', input: 'Weather and time in Oslo?', tools: TWO_TOOLS };
    const events = await eventsOf(request);
    const dump = JSON.stringify(events);
    expect(
      events.map((event) => event.sequence_number),
      dump,
    ).toEqual(events.map((_, i) => i));
    const expected = [
      { name: 'get_weather', call_id: 'call_a', arguments: '{"city":"Oslo"}' },
      { name: 'get_time', call_id: 'call_b', arguments: '{"zone":"CET"}' },
    ];
    const byItem = itemEvents(events);
    expect([...byItem.keys()], dump).toEqual([0, 1]);
    let next = events.findIndex((event) => event.type === 'response.output_item.added');
    for (const [index, call] of expected.entries()) {
      const own = byItem.get(index) ?? [];
      // One item's events come together, none of another's between them.
      expect(events.slice(next, next + own.length), dump).toEqual(own);
      next += own.length;
      const types = own.map((event) => event.type);
      expect(types[0], dump).toBe('response.output_item.added');
      expect(types.slice(1, -2).every((t) => t === 'response.function_call_arguments.delta')).toBe(
        true,
      );
      expect(types.slice(-2), dump).toEqual([
        'response.function_call_arguments.done',
        'response.output_item.done',
      ]);
      const deltas = own.flatMap((event) =>
        event.type === 'response.function_call_arguments.delta' ? [event.delta] : [],
      );
      expect(deltas.join(''), dump).toBe(call.arguments);
      expect(own.at(-2), dump).toMatchObject({ arguments: call.arguments });
      expect(own.at(-1), dump).toMatchObject({
        item: { type: 'function_call', status: 'completed', ...call },
      });
    }
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error(`no completed event: ${dump}`);
    upstream.enqueue(
      answerWith({
        content: null,
        tool_calls: expected.map(({ name, call_id, arguments: args }) => ({
          id: call_id,
          type: 'function',
          function: { name, arguments: args },
        })),
      }),
    );
    const answered = await client.responses.create(request);
    expect(comparable(completed.response), dump).toEqual(comparable(answered));
  });

  it('shows no empty message beside tool calls, as JSON and as a stream, nor keeps one in the conversation', async () => {
    const call = {
      id: 'call_w',
      type: 'function',
      function: { name: 'get_weather', arguments: '{}' },
    };
    const conversation = await client.conversations.create({});
    upstream.enqueue(answerWith({ content: '', tool_calls: [call] }));
    const request = {
      model: 'gpt-4o-mini',
      input: 'Weather?',
      tools: TWO_TOOLS,
      conversation: conversation.id,
    };
    const answered = await client.responses.create(request);
    expect(
      answered.output.map((item) => item.type),
      JSON.stringify(answered),
    ).toEqual(['function_call']);
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    expect(
      items.data.map((item) => item.type),
      JSON.stringify(items.data),
    ).toEqual(['message', 'function_call']);
    upstream.enqueue(
      sseChunks([
        deltaChunk({ role: 'assistant', content: '' }),
        deltaChunk({ tool_calls: [{ index: 0, ...call }] }),
        deltaChunk({}, 'tool_calls'),
        { ...CHUNK, choices: [], usage: USAGE },
      ]),
    );
    const events = await eventsOf({ ...request, conversation: undefined });
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error(JSON.stringify(events));
    expect(comparable(completed.response)).toEqual(
      comparable({ ...answered, conversation: undefined }),
    );
  });

  it('answers an empty reply with one empty message, as JSON and as a stream', async () => {
    upstream.enqueue(answerWith({ content: '' }));
    const answered = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say nothing' });
    expect(answered.output, JSON.stringify(answered)).toMatchObject([
      { type: 'message', status: 'completed', content: [{ type: 'output_text', text: '' }] },
    ]);
    upstream.enqueue(
      sseChunks([
        deltaChunk({ role: 'assistant', content: '' }),
        deltaChunk({}, 'stop'),
        { ...CHUNK, choices: [], usage: USAGE },
      ]),
    );
    const events = await eventsOf({ model: 'gpt-4o-mini', input: 'Say nothing' });
    const dump = JSON.stringify(events);
    expect(
      events.map((event) => event.type),
      dump,
    ).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error(dump);
    expect(comparable(completed.response)).toEqual(comparable(answered));
  });
});

describe('bounded request fields', () => {
  /** The error body a refused call answers with; fails the test when the call is accepted. */
  async function refusal(call: Promise<unknown>): Promise<unknown> {
    const err = await call.catch((e: unknown) => e);
    if (!(err instanceof BadRequestError)) throw new Error(`not refused: ${JSON.stringify(err)}`);
    return err.error;
  }

  it('refuses metadata and user beyond their bounds with the same 400 chat completions gives', async () => {
    const crowded = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const cases: Record<string, unknown>[] = [
      { metadata: crowded },
      { metadata: { ['k'.repeat(65)]: 'v' } },
      { metadata: { note: 'v'.repeat(513) } },
      { metadata: { n: 1 } },
      { user: 'u'.repeat(257) },
    ];
    const params: unknown[] = [];
    for (const extra of cases) {
      const responses = await refusal(
        client.responses.create({
          model: 'gpt-4o-mini',
          input: 'x',
          ...extra,
        } as ResponseCreateParamsNonStreaming),
      );
      const chat = await refusal(
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'x' }],
          ...extra,
        } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
      );
      expect(responses, JSON.stringify(extra).slice(0, 80)).toEqual(chat);
      params.push((responses as { param: unknown }).param);
    }
    expect(params).toEqual(['metadata', 'metadata', 'metadata.note', 'metadata.n', 'user']);
    expect(upstream.requests).toHaveLength(0);
    const full = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`${i}`.padStart(64, 'k'), 'v'.repeat(512)]),
    );
    const accepted = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'x',
      metadata: full,
      user: 'u'.repeat(256),
    });
    expect(accepted.metadata).toEqual(full);
  });

  it('refuses max_output_tokens out of range as a value error, and truncation or service_tier it does not know', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [
        { max_output_tokens: 15 },
        {
          message:
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 15 instead.",
          code: 'integer_below_min_value',
        },
      ],
      [
        { max_output_tokens: 1e12 },
        {
          message:
            "Invalid 'max_output_tokens': integer above maximum value. Expected a value <= 2147483647, but got 1000000000000 instead.",
          code: 'integer_above_max_value',
        },
      ],
      [{ max_output_tokens: 100.5 }, { param: 'max_output_tokens', code: 'invalid_type' }],
      [{ max_tool_calls: 'abc' }, { param: 'max_tool_calls', code: 'invalid_type' }],
      [
        { stream: false, stream_options: { include_obfuscation: false } },
        {
          message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
          param: 'stream_options',
          code: null,
        },
      ],
      [
        { truncation: 'sometimes' },
        {
          message:
            "Invalid value for 'truncation': 'sometimes'. Supported values are: 'auto' and 'disabled'.",
          param: 'truncation',
          code: 'invalid_value',
        },
      ],
      [
        { service_tier: 'fast' },
        {
          message:
            "Invalid value for 'service_tier': 'fast'. Supported values are: 'auto', 'default', 'flex', 'scale' and 'priority'.",
          param: 'service_tier',
          code: 'invalid_value',
        },
      ],
    ];
    for (const [extra, error] of cases) {
      const body = await refusal(
        client.responses.create({
          model: 'gpt-4o-mini',
          input: 'x',
          ...extra,
        } as ResponseCreateParamsNonStreaming),
      );
      expect(body, JSON.stringify(extra)).toMatchObject({
        type: 'invalid_request_error',
        ...error,
      });
    }
    expect(upstream.requests).toHaveLength(0);
    for (const cap of [16, 2 ** 31 - 1]) {
      const response = await client.responses.create({
        model: 'gpt-4o-mini',
        input: 'x',
        max_output_tokens: cap,
        truncation: 'auto',
        service_tier: 'flex',
      });
      expect(response.max_output_tokens).toBe(cap);
      expect(upstream.requests.at(-1)?.body).toMatchObject({
        max_completion_tokens: cap,
        service_tier: 'flex',
      });
    }
  });
});

describe('other clients on the Responses API', () => {
  it('serves the Vercel AI SDK default provider: generateText, streamText and generateObject', async () => {
    const provider = createOpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1` });
    const generated = await generateText({ model: provider('gpt-4o-mini'), prompt: 'Say hello' });
    expect(generated.text).toBe('Hello from upstream');
    upstream.enqueue(sse(['Hel', 'lo']));
    const streamed = streamText({ model: provider('gpt-4o-mini'), prompt: 'Say hello' });
    let text = '';
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe('Hello');
    upstream.enqueue((req, res) =>
      json(200, completionFor(req.body, '{"city":"Oslo","temp":21}'))(req, res),
    );
    const object = await generateObject({
      model: provider('gpt-4o-mini'),
      schema: z.object({ city: z.string(), temp: z.number() }),
      prompt: 'Weather in Oslo as JSON',
    });
    expect(object.object).toEqual({ city: 'Oslo', temp: 21 });
    expect(upstream.requests.at(-1)?.body.response_format).toMatchObject({ type: 'json_schema' });
  });

  it('serves the Vercel AI SDK a multi-turn conversation with a tool round trip, its earlier answer sent as a stored reference', async () => {
    // The Responses bodies the SDK sends, to see it refer to stored items instead of resending them.
    const bodies: { input?: { type?: string }[] }[] = [];
    const provider = createOpenAI({
      apiKey: key,
      baseURL: `${gateway.baseURL}/v1`,
      fetch: async (url, init) => {
        bodies.push(JSON.parse(String(init?.body)));
        return fetch(url, init);
      },
    });
    upstream.enqueue(toolCall('get_weather', '{"city":"Oslo"}'));
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'Oslo: 12 °C.'))(req, res));
    const tools = {
      get_weather: tool({
        description: 'Current weather in a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, celsius: 12 }),
      }),
    };
    const first = await generateText({
      model: provider('gpt-4o-mini'),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(2),
    });
    expect(first.text).toBe('Oslo: 12 °C.');
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'Pack a coat.'))(req, res));
    const second = await generateText({
      model: provider('gpt-4o-mini'),
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        ...first.response.messages,
        { role: 'user', content: 'What should I wear?' },
      ],
      tools,
    });
    expect(second.text).toBe('Pack a coat.');
    const referenced = bodies.map(
      (body) => (body.input ?? []).filter((item) => item.type === 'item_reference').length,
    );
    // The assistant's earlier answer comes back as a reference to the stored message.
    expect(referenced).toEqual([0, 0, 1]);
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"city":"Oslo","celsius":12}' },
      { role: 'assistant', content: 'Oslo: 12 °C.' },
      { role: 'user', content: 'What should I wear?' },
    ]);
  });

  it('serves LangChain ChatOpenAI with useResponsesApi a second turn with the first answer in its history', async () => {
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: key,
      configuration: { baseURL: `${gateway.baseURL}/v1` },
      useResponsesApi: true,
      maxRetries: 0,
    });
    const question = new HumanMessage('Say hello');
    const answer = await model.invoke([question]);
    upstream.enqueue((req, res) => json(200, completionFor(req.body, 'Hello again'))(req, res));
    const next = await model.invoke([question, answer, new HumanMessage('Once more')]);
    expect(next.text).toBe('Hello again');
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'Say hello' },
      { role: 'assistant', content: 'Hello from upstream' },
      { role: 'user', content: 'Once more' },
    ]);
  });

  it('serves LangChain ChatOpenAI with useResponsesApi: invoke and stream', async () => {
    const model = new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: key,
      configuration: { baseURL: `${gateway.baseURL}/v1` },
      useResponsesApi: true,
      maxRetries: 0,
    });
    const answer = await model.invoke('Say hello');
    expect(answer.text).toBe('Hello from upstream');
    upstream.enqueue(sse(['Hel', 'lo']));
    let streamed = '';
    for await (const chunk of await model.stream('Say hello')) streamed += chunk.text;
    expect(streamed).toBe('Hello');
  });
});
