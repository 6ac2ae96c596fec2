import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import type { ResponseItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GatewayError } from '../../src/http/errors.js';
import { toChatCompletionsBody } from '../../src/http/responses/chat-body.js';
import { newItemId } from '../../src/http/responses/item-ids.js';
import { toResponseObject } from '../../src/http/responses/response-object.js';
import { parseResponsesRequest } from '../../src/http/responses/responses-request.js';
import { storedOutputItems } from '../../src/http/responses/stored-items.js';
import { ResponsesStreamTranslator } from '../../src/http/responses/stream-translator.js';

/** What the scripted "upstream" answers next: a completion, streamed in small chunks when asked. */
const script: ChatCompletion[] = [];
/** The chat-completions bodies the translation produced, one per request. */
const sent: Record<string, unknown>[] = [];
/** The Responses bodies the clients sent. */
const received: Record<string, unknown>[] = [];
/** Output items of earlier answers by id: what `item_reference` inputs resolve to. */
const stored = new Map<string, ResponseItem>();

function completion(
  content: string | null,
  toolCalls: ChatCompletionMessageToolCall[] = [],
): ChatCompletion {
  return {
    id: 'chatcmpl-scripted',
    object: 'chat.completion',
    created: 1_750_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: 21,
      completion_tokens: 9,
      total_tokens: 30,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
}

/** The id of a scripted completion whose stream fails after the first text delta. */
const FAILING_ID = 'chatcmpl-fails';

function weatherCall(args = '{"city":"Oslo"}'): ChatCompletionMessageToolCall {
  return {
    id: 'call_weather1',
    type: 'function',
    function: { name: 'get_weather', arguments: args },
  };
}

/** A completion as an OpenAI upstream streams it: role, text in 3-character pieces, calls in pieces, usage. */
function chunksOf(answer: ChatCompletion): ChatCompletionChunk[] {
  const base = {
    id: answer.id,
    object: 'chat.completion.chunk' as const,
    created: 1,
    model: answer.model,
  };
  const at = (
    delta: ChatCompletionChunk.Choice['delta'],
    finish: ChatCompletionChunk.Choice['finish_reason'] = null,
  ) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const choice = answer.choices[0];
  if (choice === undefined) return [];
  const chunks: ChatCompletionChunk[] = [at({ role: 'assistant', content: '' })];
  const text = choice.message.content ?? '';
  for (let i = 0; i < text.length; i += 3) chunks.push(at({ content: text.slice(i, i + 3) }));
  (choice.message.tool_calls ?? []).forEach((call, index) => {
    if (call.type !== 'function') return;
    const args = call.function.arguments;
    chunks.push(
      at({
        tool_calls: [
          {
            index,
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: '' },
          },
        ],
      }),
    );
    for (let i = 0; i < args.length; i += 4) {
      chunks.push(at({ tool_calls: [{ index, function: { arguments: args.slice(i, i + 4) } }] }));
    }
  });
  chunks.push(at({}, choice.finish_reason));
  chunks.push({ ...base, choices: [], usage: answer.usage });
  return chunks;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/v1/responses') {
    res.writeHead(404).end();
    return;
  }
  const body = await readJson(req);
  received.push(body as Record<string, unknown>);
  try {
    const request = parseResponsesRequest(body);
    sent.push(toChatCompletionsBody(request, [], stored) as unknown as Record<string, unknown>);
    const scripted = script.shift();
    if (scripted === undefined) throw new Error('No scripted answer left');
    const context = { id: newItemId('resp'), createdAt: 1_750_000_000, request };
    if (!request.stream) {
      const response = toResponseObject(scripted, context);
      for (const item of storedOutputItems(response)) stored.set(item.id, item);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(response));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const translator = new ResponsesStreamTranslator(context);
    res.write(translator.start());
    for (const chunk of chunksOf(scripted)) {
      // A scripted failure: the upstream dies after its first words.
      if (scripted.id === FAILING_ID && chunk.choices[0]?.delta.content === '') continue;
      res.write(translator.push(chunk));
      if (scripted.id === FAILING_ID) {
        res.end(
          translator.fail({
            message: 'The upstream provider failed to answer.',
            code: 'upstream_error',
          }),
        );
        return;
      }
    }
    res.end(translator.finish());
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    res.writeHead(error.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(error.body()));
  }
}

let server: Server;
let baseURL: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error), type: 'server_error' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  script.length = 0;
  sent.length = 0;
  received.length = 0;
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

describe('openai-node', () => {
  const client = () => new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 });

  it('creates a response with instructions and reads output_text and usage', async () => {
    script.push(completion('Hello there, traveller.'));
    const response = await client().responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'Say hello',
      temperature: 0.2,
      max_output_tokens: 50,
    });
    expect(response.output_text, JSON.stringify(response)).toBe('Hello there, traveller.');
    expect(response.id).toMatch(/^resp_[0-9a-f]{50}$/);
    expect(response.status).toBe('completed');
    expect(response.instructions).toBe('Be brief.');
    expect(response.usage).toEqual({
      input_tokens: 21,
      input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 30,
    });
    expect(sent[0]).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0.2,
      max_completion_tokens: 50,
    });
  });

  it('streams named events in order with the text in deltas', async () => {
    script.push(completion('Streaming works.'));
    const stream = await client().responses.create({
      model: 'gpt-4o-mini',
      input: 'Stream please',
      stream: true,
    });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    let final: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') final = event.response;
    }
    expect(text).toBe('Streaming works.');
    expect(sequence).toEqual(types.map((_, i) => i));
    expect([...new Set(types)]).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(final?.usage?.total_tokens, JSON.stringify(final)).toBe(30);
    expect(sent[0]?.stream_options).toEqual({ include_usage: true });
  });

  it('gives the final response of responses.stream with its text', async () => {
    script.push(completion('Final answer here.'));
    const stream = client().responses.stream({ model: 'gpt-4o-mini', input: 'Go' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Final answer here.');
    expect(deltas.join('')).toBe('Final answer here.');
  });

  it('makes a function tool round trip with function_call and function_call_output', async () => {
    script.push(completion(null, [weatherCall()]), completion('It is 12 °C in Oslo.'));
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Oslo?' }];
    const first = await client().responses.create({
      model: 'gpt-4o-mini',
      input,
      tools: [weatherTool],
    });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call, JSON.stringify(first)).toMatchObject({
      type: 'function_call',
      call_id: 'call_weather1',
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
      status: 'completed',
    });
    if (call?.type !== 'function_call') throw new Error('no function call');
    expect(call.id).toMatch(/^fc_/);
    const second = await client().responses.create({
      model: 'gpt-4o-mini',
      tools: [weatherTool],
      input: [
        ...input,
        call,
        { type: 'function_call_output', call_id: call.call_id, output: '{"celsius":12}' },
      ],
    });
    expect(second.output_text).toBe('It is 12 °C in Oslo.');
    expect(sent[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_weather1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_weather1', content: '{"celsius":12}' },
    ]);
    expect(sent[1]?.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather in a city',
          parameters: weatherTool.parameters,
          strict: true,
        },
      },
    ]);
  });

  it('streams a function call whose arguments arrive in pieces', async () => {
    script.push(completion('Let me check.', [weatherCall('{"city":"Bergen"}')]));
    const stream = client().responses.stream({
      model: 'gpt-4o-mini',
      input: 'Weather in Bergen?',
      tools: [weatherTool],
    });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) =>
      argumentDeltas.push(event.delta),
    );
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Let me check.');
    expect(final.output.map((item) => item.type)).toEqual(['message', 'function_call']);
    expect(final.output[1]).toMatchObject({
      arguments: '{"city":"Bergen"}',
      call_id: 'call_weather1',
    });
    expect(argumentDeltas.length).toBeGreaterThan(1);
    expect(argumentDeltas.join('')).toBe('{"city":"Bergen"}');
  });

  it('throws an APIError when the stream fails midway, after the text so far', async () => {
    script.push({ ...completion('Partial answer that never ends.'), id: FAILING_ID });
    const stream = await client().responses.create({
      model: 'gpt-4o-mini',
      input: 'Go',
      stream: true,
    });
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).message).toContain(
      'The upstream provider failed to answer.',
    );
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.failed',
    ]);
  });

  it('parses a json_schema text format with responses.parse', async () => {
    script.push(completion('{"name":"Ada","age":36}'));
    const Person = z.object({ name: z.string(), age: z.number() });
    const response = await client().responses.parse({
      model: 'gpt-4o-mini',
      input: 'Who?',
      text: { format: zodTextFormat(Person, 'person') },
    });
    expect(response.output_parsed).toEqual({ name: 'Ada', age: 36 });
    expect(sent[0]?.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'person', strict: true },
    });
  });

  it('gets a 400 naming the parameter for a built-in tool', async () => {
    const failure = await client()
      .responses.create({ model: 'gpt-4o-mini', input: 'Search', tools: [{ type: 'web_search' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools[0].type');
  });
});

describe('Vercel AI SDK with the default provider', () => {
  const model = () => createOpenAI({ apiKey: 'sk-test', baseURL })('gpt-4o-mini');

  it('generates text', async () => {
    script.push(completion('Generated by the AI SDK.'));
    const result = await generateText({ model: model(), system: 'Be kind.', prompt: 'Hi' });
    expect(result.text).toBe('Generated by the AI SDK.');
    expect(result.usage.inputTokens).toBe(21);
    expect(result.usage.outputTokens).toBe(9);
    expect(sent[0]?.messages).toEqual([
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('streams text that arrives', async () => {
    script.push(completion('Text arrives in pieces.'));
    const errors: unknown[] = [];
    const result = streamText({
      model: model(),
      prompt: 'Hi',
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(errors).toEqual([]);
    expect(text).toBe('Text arrives in pieces.');
    expect((await result.usage).totalTokens).toBe(30);
  });

  it('makes a tool round trip', async () => {
    script.push(completion(null, [weatherCall()]), completion('Oslo: 12 °C.'));
    const result = await generateText({
      model: model(),
      prompt: 'Weather in Oslo?',
      tools: {
        get_weather: tool({
          description: 'Current weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, celsius: 12 }),
        }),
      },
      stopWhen: stepCountIs(2),
    });
    expect(result.text).toBe('Oslo: 12 °C.');
    expect(result.steps[0]?.toolCalls[0]).toMatchObject({
      toolName: 'get_weather',
      input: { city: 'Oslo' },
    });
    expect(sent[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_weather1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_weather1', content: '{"city":"Oslo","celsius":12}' },
    ]);
  });

  it('reports a stream that fails midway as an error', async () => {
    script.push({ ...completion('Partial answer that never ends.'), id: FAILING_ID });
    const errors: unknown[] = [];
    const result = streamText({
      model: model(),
      prompt: 'Go',
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Par');
    expect(String((errors[0] as { message?: string } | undefined)?.message)).toContain(
      'The upstream provider failed to answer.',
    );
  });

  it('streams a tool round trip', async () => {
    script.push(completion(null, [weatherCall()]), completion('Streamed: Oslo is 12 °C.'));
    const result = streamText({
      model: model(),
      prompt: 'Weather in Oslo?',
      tools: {
        get_weather: tool({
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, celsius: 12 }),
        }),
      },
      stopWhen: stepCountIs(2),
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Streamed: Oslo is 12 °C.');
    expect((await result.steps)[0]?.toolCalls[0]).toMatchObject({ input: { city: 'Oslo' } });
  });

  it('resolves the item_reference it sends for an earlier answer', async () => {
    script.push(completion('Nice to meet you, Ada.'), completion('Your name is Ada.'));
    const first = await generateText({ model: model(), prompt: 'My name is Ada.' });
    const second = await generateText({
      model: model(),
      messages: [
        { role: 'user', content: 'My name is Ada.' },
        ...first.response.messages,
        { role: 'user', content: 'What is my name?' },
      ],
    });
    expect(second.text).toBe('Your name is Ada.');
    const input = received[1]?.input as Record<string, unknown>[];
    expect(input[1], JSON.stringify(input)).toMatchObject({ type: 'item_reference' });
    expect(sent[1]?.messages).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);
  });

  it('generates an object', async () => {
    script.push(completion('{"name":"Grace","age":45}'));
    const result = await generateObject({
      model: model(),
      schema: z.object({ name: z.string(), age: z.number() }),
      prompt: 'Who?',
    });
    expect(result.object).toEqual({ name: 'Grace', age: 45 });
    expect(sent[0]?.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { strict: true },
    });
  });
});

describe('LangChain ChatOpenAI with useResponsesApi', () => {
  const chat = () =>
    new ChatOpenAI({
      model: 'gpt-4o-mini',
      apiKey: 'sk-test',
      configuration: { baseURL },
      useResponsesApi: true,
      maxRetries: 0,
    });

  it('invokes', async () => {
    script.push(completion('LangChain answer.'));
    const message = await chat().invoke([
      ['system', 'Be short.'],
      ['human', 'Hello'],
    ]);
    expect(message.text).toBe('LangChain answer.');
    expect(message.usage_metadata?.total_tokens).toBe(30);
    expect(received[0]?.input, JSON.stringify(received[0])).toBeDefined();
    expect(sent[0]?.messages).toEqual([
      { role: 'system', content: 'Be short.' },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('streams', async () => {
    script.push(completion('Streamed through LangChain.'));
    let text = '';
    for await (const chunk of await chat().stream('Hello')) text += chunk.text;
    expect(text).toBe('Streamed through LangChain.');
  });
});
