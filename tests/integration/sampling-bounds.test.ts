import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

interface Refusal {
  status: number;
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function refusalOf(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OpenAI.APIError) {
      return { status: err.status ?? 0, error: err.error as Refusal['error'] };
    }
    throw err;
  }
  throw new Error('expected a refusal');
}

const messages = [{ role: 'user' as const, content: 'Name a colour.' }];

/**
 * OpenAI refuses sampling fields out of their ranges with a 400 naming the field; so does the
 * gateway, before the request is spent on an upstream call or answered from the cache.
 */
describe('sampling fields out of range', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) => json(200, completionFor(req.body, 'Blue.'))(req, res));
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
    });
    const k = await gateway.createKey();
    client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it.each([
    [
      { temperature: 2.5 },
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
      'decimal_above_max_value',
    ],
    [
      { temperature: -0.1 },
      "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -0.1 instead.",
      'decimal_below_min_value',
    ],
    [
      { top_p: 1.5 },
      "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead.",
      'decimal_above_max_value',
    ],
    [
      { presence_penalty: -3 },
      "Invalid 'presence_penalty': decimal below minimum value. Expected a value >= -2, but got -3 instead.",
      'decimal_below_min_value',
    ],
    [
      { frequency_penalty: 2.01 },
      "Invalid 'frequency_penalty': decimal above maximum value. Expected a value <= 2, but got 2.01 instead.",
      'decimal_above_max_value',
    ],
    [
      { logprobs: true, top_logprobs: 21 },
      "Invalid 'top_logprobs': integer above maximum value. Expected a value <= 20, but got 21 instead.",
      'integer_above_max_value',
    ],
    [
      { n: 0 },
      "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
      'integer_below_min_value',
    ],
  ])(
    'chat completions: %o is a 400 in OpenAI words, with no upstream call',
    async (extra, message, code) => {
      const before = upstream.requests.length;
      const refused = await refusalOf(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages, ...extra }),
      );
      const param = Object.keys(extra).at(-1);
      expect(refused).toEqual({
        status: 400,
        error: { message, type: 'invalid_request_error', param, code },
      });
      const streamed = await refusalOf(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, ...extra }),
      );
      expect(streamed).toEqual(refused);
      expect(upstream.requests.length).toBe(before);
    },
  );

  it('chat completions: wrong types of the sampling fields are refused as types', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ presence_penalty: 'high' }, 'presence_penalty'],
      [{ logprobs: 'yes' }, 'logprobs'],
      [{ top_logprobs: 2.5 }, 'top_logprobs'],
      [{ seed: 1.5 }, 'seed'],
    ];
    for (const [extra, param] of cases) {
      const refused = await refusalOf(
        client.post('/chat/completions', { body: { model: 'gpt-4o-mini', messages, ...extra } }),
      );
      expect(refused.status).toBe(400);
      expect(refused.error).toMatchObject({ param, code: 'invalid_type' });
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('chat completions: the ends of each range still go upstream', async () => {
    const before = upstream.requests.length;
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      temperature: 2,
      top_p: 0,
      presence_penalty: -2,
      frequency_penalty: 2,
      logprobs: true,
      top_logprobs: 20,
      seed: 7,
    });
    expect(answer.choices[0]?.message.content).toBe('Blue.');
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)?.body).toMatchObject({ temperature: 2, top_logprobs: 20 });
  });

  it('Responses API: temperature, top_p and top_logprobs out of range are 400s naming them', async () => {
    const before = upstream.requests.length;
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { temperature: 3 },
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
        'decimal_above_max_value',
      ],
      [
        { top_p: -1 },
        "Invalid 'top_p': decimal below minimum value. Expected a value >= 0, but got -1 instead.",
        'decimal_below_min_value',
      ],
      [
        { top_logprobs: -1 },
        "Invalid 'top_logprobs': integer below minimum value. Expected a value >= 0, but got -1 instead.",
        'integer_below_min_value',
      ],
    ];
    for (const [extra, message, code] of cases) {
      const refused = await refusalOf(
        client.responses.create({ model: 'gpt-4o-mini', input: 'Name a colour.', ...extra }),
      );
      const param = Object.keys(extra)[0];
      expect(refused).toEqual({
        status: 400,
        error: { message, type: 'invalid_request_error', param, code },
      });
    }
    expect(upstream.requests.length).toBe(before);
  });
});
