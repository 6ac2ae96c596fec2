import { eq } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // The cache is on (the default): a malformed answer must not be stored.
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
  client = gateway.openai((await gateway.createKey()).key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback(ok);
});

/** The interaction row of a request, as the database holds it. */
async function rowOf(requestId: string | null) {
  await settleLog(gateway.deps);
  const rows = await gateway.deps.database.db
    .select({
      status: interactions.status,
      errorCode: interactions.errorCode,
      cacheStatus: interactions.cacheStatus,
    })
    .from(interactions)
    .where(eq(interactions.id, requestId ?? ''));
  return rows[0];
}

/** 200 bodies that parse as JSON but are not a chat completion. */
const MALFORMED: [string, unknown][] = [
  ['an array', []],
  ['a string', 'hello'],
  ['choices holding null', { id: 'x', object: 'chat.completion', choices: [null] }],
  ['choices that is not an array', { choices: 'nope', usage: { prompt_tokens: 'x' } }],
  ['a choice without a message', { object: 'chat.completion', choices: [{ index: 0 }] }],
];

describe('a 200 from the upstream that is not a chat completion', () => {
  it.each(MALFORMED)(
    'with %s is a 502 upstream_error on chat completions, retried, recorded and never cached',
    async (name, body) => {
      upstream.setFallback(json(200, body));
      const question = {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: `a malformed answer: ${name}` }],
      };
      const err = await client.chat.completions.create(question).catch((e: unknown) => e);
      expect(err, String(err)).toBeInstanceOf(OpenAI.APIError);
      const failed = err as InstanceType<typeof OpenAI.APIError>;
      expect(failed.status, JSON.stringify(failed.error)).toBe(502);
      expect(failed.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
      // Like a body that is not JSON: every retry the gateway allows, then the failure.
      expect(upstream.requests).toHaveLength(3);
      const row = await rowOf(failed.headers?.get('x-request-id') ?? null);
      expect(row, 'the failed request has its row').toEqual({
        status: 502,
        errorCode: 'upstream_error',
        cacheStatus: 'miss',
      });

      upstream.setFallback(ok);
      const again = await client.chat.completions.create(question).withResponse();
      expect(again.response.headers.get('x-tollgate-cache'), 'nothing was cached').toBe('miss');
      expect(again.data.choices[0]?.message.content).toBe('Hello from upstream');
    },
  );

  it('is retried, and the retry that gets a chat completion answers the client', async () => {
    upstream.enqueue(json(200, { choices: [null] }));
    upstream.setFallback((req, res) => json(200, completionFor(req.body, 'second try'))(req, res));
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'a retried malformed answer' }],
    });
    expect(answer.choices[0]?.message.content).toBe('second try');
    expect(upstream.requests).toHaveLength(2);
  });

  it.each(MALFORMED)(
    'with %s is a 502 upstream_error on /v1/responses, recorded as one',
    async (name, body) => {
      upstream.setFallback(json(200, body));
      const err = await client.responses
        .create(
          { model: 'gpt-4o-mini', input: `a malformed answer: ${name}` },
          // The chat tests above cached a good answer to the same question.
          { headers: { 'cache-control': 'no-cache' } },
        )
        .catch((e: unknown) => e);
      expect(err, String(err)).toBeInstanceOf(OpenAI.APIError);
      const failed = err as InstanceType<typeof OpenAI.APIError>;
      expect(failed.status, JSON.stringify(failed.error)).toBe(502);
      expect(failed.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
      const row = await rowOf(failed.headers?.get('x-request-id') ?? null);
      expect(row?.status, 'the failed request has its row').toBe(502);
      expect(row?.errorCode).toBe('upstream_error');
    },
  );
});
