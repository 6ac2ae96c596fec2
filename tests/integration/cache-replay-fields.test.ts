import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cacheEntries } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_MAX_RETRIES: '0' });
  const { key } = await gateway.createKey();
  client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

function chatCount(): number {
  return upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
}

/** Waits for the background work and writes the cache's queue. */
async function settle(): Promise<void> {
  await settleLog(gateway.server.deps);
  await gateway.server.deps.cache.flush();
}

const base = { id: 'chatcmpl-kept', created: 1_760_000_000, model: 'gpt-4o-mini-2024-07-18' };
const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

/**
 * A streamed answer of one choice, as OpenAI sends it: the deltas, the finish reason, any chunks
 * without choices (`top`), then the usage chunk and `[DONE]`.
 */
function streamed(
  deltas: readonly Record<string, unknown>[],
  finish: string,
  top: readonly Record<string, unknown>[] = [],
) {
  return (_req: unknown, res: ServerResponse) => {
    const chunk = (fields: Record<string, unknown>) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...fields })}\n\n`;
    const choice = (delta: Record<string, unknown>, finishReason: string | null) => ({
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      usage: null,
    });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const delta of deltas) res.write(chunk(choice(delta, null)));
    res.write(chunk(choice({}, finish)));
    for (const fields of top) res.write(chunk({ choices: [], usage: null, ...fields }));
    res.end(`${chunk({ choices: [], usage })}data: [DONE]\n\n`);
  };
}

/** The SDK's stream helper's final completion, and the refusal logprobs its events gave. */
async function viaStreamHelper(params: ChatCompletionCreateParamsNonStreaming) {
  const stream = client.chat.completions.stream({
    ...params,
    stream: true,
    stream_options: { include_usage: true },
  });
  const refusalLogprobs: unknown[] = [];
  stream.on('logprobs.refusal.done', (e) => refusalLogprobs.push(e.refusal));
  const response = await stream.finalChatCompletion();
  await settle();
  return { final: response, refusalLogprobs };
}

/** The JSON answer and its cache status. */
async function viaJson(params: ChatCompletionCreateParamsNonStreaming) {
  const { data, response } = await client.chat.completions.create(params).withResponse();
  await settle();
  return { body: data, cache: response.headers.get('x-tollgate-cache') };
}

describe('what a cached answer keeps when it is replayed', () => {
  it("replays a refusal with its token logprobs, as the SDK's stream helper reads them", async () => {
    const token = (t: string) => ({
      token: t,
      logprob: -0.25,
      bytes: [...Buffer.from(t)],
      top_logprobs: [],
    });
    const logprobs = { content: null, refusal: [token('I '), token('cannot '), token('help.')] };
    upstream.enqueue(
      json(200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, refusal: 'I cannot help.' },
            logprobs,
            finish_reason: 'stop',
          },
        ],
        usage,
      }),
    );
    const params = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'How do I pick a lock?' }],
      logprobs: true,
    };
    const miss = await viaJson(params);
    expect(miss.cache).toBe('miss');
    const replay = await viaStreamHelper(params);
    expect(chatCount()).toBe(1);
    expect(replay.final.choices[0]?.message.refusal).toBe('I cannot help.');
    expect(replay.final.choices[0]?.logprobs, JSON.stringify(replay.final)).toEqual(logprobs);
    expect(replay.refusalLogprobs).toEqual([logprobs.refusal]);
  });
});

describe('what a streamed answer keeps when it is assembled', () => {
  it('keeps a spoken answer whole: a JSON hit gives the audio the SDK assembled from the stream', async () => {
    // The provider keeps the audio an hour; the entry lives no longer than that.
    const audioExpiry = Math.floor(Date.now() / 1000) + 3600;
    upstream.enqueue(
      streamed(
        [
          {
            role: 'assistant',
            content: null,
            refusal: null,
            audio: { id: 'audio_1', transcript: '' },
          },
          { audio: { transcript: 'Hello ' } },
          { audio: { transcript: 'there.' } },
          { audio: { data: 'UklG' } },
          { audio: { data: 'RiQA' } },
          { audio: { id: 'audio_1', expires_at: audioExpiry } },
        ],
        'stop',
      ),
    );
    const params = {
      model: 'gpt-4o-mini',
      modalities: ['text' as const, 'audio' as const],
      audio: { voice: 'alloy' as const, format: 'pcm16' as const },
      messages: [{ role: 'user' as const, content: 'Say hello there.' }],
    };
    const live = await viaStreamHelper(params);
    const audio = live.final.choices[0]?.message.audio;
    expect(audio).toEqual({
      id: 'audio_1',
      data: 'UklGRiQA',
      transcript: 'Hello there.',
      expires_at: audioExpiry,
    });
    const hit = await viaJson(params);
    expect(hit.cache).toBe('hit');
    expect(hit.body.choices[0]?.message.audio, JSON.stringify(hit.body)).toEqual(audio);
    expect(chatCount()).toBe(1);
  });

  it('never replays a spoken answer after its audio has expired at the provider', async () => {
    const spoken = (expiresAt: number) =>
      json(200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              audio: { id: 'audio_2', data: 'UklG', transcript: 'Hi.', expires_at: expiresAt },
            },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
      });
    const ask = (content: string) =>
      viaJson({
        model: 'gpt-4o-mini',
        modalities: ['text', 'audio'],
        audio: { voice: 'alloy', format: 'pcm16' },
        messages: [{ role: 'user', content }],
      });
    // Audio already gone at the provider: a replay would hand out an id it refuses; not stored.
    const gone = Math.floor(Date.now() / 1000) - 60;
    upstream.enqueue(spoken(gone), spoken(gone));
    expect((await ask('Say hi.')).cache).toBe('miss');
    expect((await ask('Say hi.')).cache).toBe('miss');
    expect(chatCount()).toBe(2);
    // Audio kept for a minute more: stored, and its entry expires with the audio, not a day later.
    const soon = Math.floor(Date.now() / 1000) + 60;
    upstream.enqueue(spoken(soon));
    expect((await ask('Say hi again.')).cache).toBe('miss');
    expect((await ask('Say hi again.')).cache).toBe('hit');
    const rows = await gateway.server.deps.database.db
      .select({ expiresAt: cacheEntries.expiresAt })
      .from(cacheEntries);
    expect(rows.map((r) => r.expiresAt.getTime())).toContain(soon * 1000);
  });

  it('keeps a deprecated function_call, answers it from the cache, and replays it as a stream', async () => {
    upstream.enqueue(
      streamed(
        [
          {
            role: 'assistant',
            content: null,
            function_call: { name: 'get_weather', arguments: '' },
          },
          { function_call: { arguments: '{"city":' } },
          { function_call: { arguments: '"Oslo"}' } },
        ],
        'function_call',
      ),
    );
    const params = {
      model: 'gpt-4o-mini',
      functions: [{ name: 'get_weather', parameters: { type: 'object', properties: {} } }],
      messages: [{ role: 'user' as const, content: 'What is the weather in Oslo?' }],
    };
    const live = await viaStreamHelper(params);
    const call = { name: 'get_weather', arguments: '{"city":"Oslo"}' };
    expect(live.final.choices[0]?.message.function_call).toEqual(call);
    const hit = await viaJson(params);
    expect(hit.cache, JSON.stringify(hit.body)).toBe('hit');
    expect(hit.body.choices[0]).toMatchObject({
      message: { role: 'assistant', content: null, function_call: call },
      finish_reason: 'function_call',
    });
    const replay = await viaStreamHelper(params);
    expect(replay.final).toEqual(live.final);
    expect(chatCount()).toBe(1);
  });
});

describe("the completion's own fields beside its choices", () => {
  const moderation = {
    input: { type: 'moderation_results', model: 'omni-moderation-latest', results: [] },
    output: { type: 'moderation_results', model: 'omni-moderation-latest', results: [] },
  };

  it('keeps the moderation results of a streamed answer for a JSON hit', async () => {
    upstream.enqueue(
      streamed([{ role: 'assistant', content: 'It is fine.' }], 'stop', [{ moderation }]),
    );
    const params = {
      model: 'gpt-4o-mini',
      moderation: { model: 'omni-moderation-latest' },
      messages: [{ role: 'user' as const, content: 'Is this sentence fine?' }],
    } as ChatCompletionCreateParamsNonStreaming;
    const live = await viaStreamHelper(params);
    expect(live.final.moderation).toEqual(moderation);
    const hit = await viaJson(params);
    expect(hit.cache).toBe('hit');
    expect(hit.body.moderation, JSON.stringify(hit.body)).toEqual(moderation);
    expect(chatCount()).toBe(1);
  });

  it('replays the moderation results of a JSON answer to a streaming client', async () => {
    const answer = {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Yes, it is.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
      moderation,
    };
    upstream.enqueue(json(200, answer));
    const params = {
      model: 'gpt-4o-mini',
      moderation: { model: 'omni-moderation-latest' },
      messages: [{ role: 'user' as const, content: 'Is that one fine too?' }],
    } as ChatCompletionCreateParamsNonStreaming;
    const miss = await viaJson(params);
    expect(miss.body).toEqual(answer);
    const replay = await viaStreamHelper(params);
    expect(replay.final, JSON.stringify(replay.final)).toMatchObject({ moderation, usage });
    expect(replay.final.choices[0]?.message.content).toBe('Yes, it is.');
    expect(chatCount()).toBe(1);
  });
});

describe('custom tool calls', () => {
  const tools = [
    { type: 'custom' as const, custom: { name: 'shell', description: 'Runs a command.' } },
  ];
  const call = { id: 'call_sh', type: 'custom', custom: { name: 'shell', input: 'echo hello' } };

  /** The tool-call deltas and finish reasons a streaming client reads, chunk by chunk. */
  async function streamedCalls(content: string) {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [{ role: 'user', content }],
      stream: true,
    });
    const calls: unknown[] = [];
    const finishes: unknown[] = [];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        calls.push(...(choice.delta.tool_calls ?? []));
        if (choice.finish_reason) finishes.push(choice.finish_reason);
      }
    }
    await settle();
    return { calls, finishes };
  }

  it('replays a custom tool call of a JSON answer to a streaming client', async () => {
    upstream.enqueue(
      json(200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, refusal: null, tool_calls: [call] },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage,
      }),
    );
    const params = {
      model: 'gpt-4o-mini',
      tools,
      messages: [{ role: 'user' as const, content: 'Say hello in the shell.' }],
    };
    expect((await viaJson(params)).body.choices[0]?.message.tool_calls).toEqual([call]);
    const replay = await streamedCalls('Say hello in the shell.');
    expect(replay.calls).toEqual([{ index: 0, ...call }]);
    expect(replay.finishes).toEqual(['tool_calls']);
    expect(chatCount()).toBe(1);
  });

  it('keeps a streamed custom tool call, its input joined, for a JSON hit', async () => {
    upstream.enqueue(
      streamed(
        [
          { role: 'assistant', content: null },
          {
            tool_calls: [
              { index: 0, id: 'call_sh', type: 'custom', custom: { name: 'shell', input: '' } },
            ],
          },
          { tool_calls: [{ index: 0, custom: { input: 'echo ' } }] },
          { tool_calls: [{ index: 0, custom: { input: 'hello' } }] },
        ],
        'tool_calls',
      ),
    );
    const live = await streamedCalls('Greet from the shell.');
    expect(live.finishes).toEqual(['tool_calls']);
    const hit = await viaJson({
      model: 'gpt-4o-mini',
      tools,
      messages: [{ role: 'user', content: 'Greet from the shell.' }],
    });
    expect(hit.cache, JSON.stringify(hit.body)).toBe('hit');
    expect(hit.body.choices[0]?.message.tool_calls).toEqual([call]);
    expect(chatCount()).toBe(1);
  });
});

describe('function tool calls', () => {
  const tools = [
    {
      type: 'function' as const,
      function: { name: 'get_weather', parameters: { type: 'object' } },
    },
    { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object' } } },
  ];
  const call = (index: number, id: string, name: string, args: string) => ({
    index,
    id,
    type: 'function',
    function: { name, arguments: args },
  });

  it('keeps a name repeated on every delta of a call once, as the SDK assembles it', async () => {
    // Parallel calls in many deltas, each delta naming its call again (as some OpenAI-compatible
    // servers stream them).
    upstream.enqueue(
      streamed(
        [
          { role: 'assistant', content: null, tool_calls: [call(0, 'call_w', 'get_weather', '')] },
          { tool_calls: [call(0, 'call_w', 'get_weather', '{"city":')] },
          { tool_calls: [call(0, 'call_w', 'get_weather', '"Oslo"}')] },
          { tool_calls: [call(1, 'call_t', 'get_time', '{"tz":')] },
          { tool_calls: [call(1, 'call_t', 'get_time', '"CET"}')] },
        ],
        'tool_calls',
      ),
    );
    const params = {
      model: 'gpt-4o-mini',
      tools,
      messages: [{ role: 'user' as const, content: 'Weather and time in Oslo?' }],
    };
    const live = await viaStreamHelper(params);
    const calls = [
      {
        id: 'call_w',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
      },
      { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
    ];
    expect(live.final.choices[0]?.message.tool_calls).toEqual(calls);
    const hit = await viaJson(params);
    expect(hit.cache).toBe('hit');
    expect(hit.body.choices[0]?.message.tool_calls).toEqual(calls);
    const replay = await viaStreamHelper(params);
    expect(replay.final).toEqual(live.final);
    expect(chatCount()).toBe(1);
  });

  it('replays an answer of tool calls only with content null, as OpenAI streams it', async () => {
    upstream.enqueue(
      streamed(
        [
          { role: 'assistant', content: null, tool_calls: [call(0, 'call_w', 'get_weather', '')] },
          { tool_calls: [{ index: 0, function: { arguments: '{"city":"Rome"}' } }] },
        ],
        'tool_calls',
      ),
    );
    const params = {
      model: 'gpt-4o-mini',
      tools,
      messages: [{ role: 'user' as const, content: 'Weather in Rome?' }],
    };
    /** The content a client joins from the deltas, null until one carries a string. */
    const joinedContent = async () => {
      const stream = await client.chat.completions.create({ ...params, stream: true });
      let content: string | null = null;
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta.content;
        if (typeof piece === 'string') content = (content ?? '') + piece;
      }
      await settle();
      return content;
    };
    expect(await joinedContent()).toBeNull();
    const replayed = await joinedContent();
    expect(chatCount()).toBe(1);
    expect(replayed).toBeNull();
  });
});
