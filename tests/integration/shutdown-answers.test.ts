import { eq } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
  // The stop's drain has ended: a request that reaches its upstream call from now on (it was
  // reading its body, waiting on the rate limiter or the cache) is answered, not sent upstream.
  gateway.deps.shutdown.begin();
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** What a call ended with: the error it threw, or null when it succeeded. */
function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => null,
    (err: unknown) => err,
  );
}

/** The failure, which must be an APIError. */
function apiError(failure: unknown, label: string): InstanceType<typeof OpenAI.APIError> {
  expect(failure, `${label}: ${String(failure)}`).toBeInstanceOf(OpenAI.APIError);
  return failure as InstanceType<typeof OpenAI.APIError>;
}

/** The interaction row of a request, once the after-response work has run. */
async function rowOf(requestId: string | null | undefined) {
  await settleLog(gateway.deps);
  const rows = await gateway.deps.database.db
    .select({ status: interactions.status, errorCode: interactions.errorCode })
    .from(interactions)
    .where(eq(interactions.id, requestId ?? ''));
  return rows[0];
}

describe('a request that reaches the upstream once the stop has begun', () => {
  it('is answered 503 shutting_down for the SDK to retry elsewhere, with the upstream not asked, on every endpoint', async () => {
    const { key } = await gateway.createKey();
    const client = gateway.openai(key);
    const calls = {
      chat: () =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'a question too late' }],
        }),
      stream: () =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: 'a stream too late' }],
        }),
      responses: () => client.responses.create({ model: 'gpt-4o-mini', input: 'too late' }),
      embeddings: () =>
        client.embeddings.create({ model: 'text-embedding-3-small', input: 'too late' }),
    };
    const asked = upstream.requests.length;
    const failures: [string, unknown][] = [];
    for (const [endpoint, call] of Object.entries(calls)) {
      failures.push([endpoint, await failureOf(call())]);
    }
    expect(upstream.requests.length - asked).toBe(0);
    for (const [endpoint, failure] of failures) {
      const err = apiError(failure, endpoint);
      expect({ endpoint, status: err.status, code: err.code, type: err.type }).toEqual({
        endpoint,
        status: 503,
        code: 'shutting_down',
        type: 'server_error',
      });
      expect(err.message).toContain('The gateway is shutting down; retry the request.');
      expect(err.headers?.get('x-should-retry'), endpoint).toBe('true');
      expect(err.headers?.get('retry-after'), endpoint).toBe('1');
      expect(await rowOf(err.requestID), endpoint).toEqual({
        status: 503,
        errorCode: 'shutting_down',
      });
    }
  });

  it("charges the key's tokens per minute nothing for it", async () => {
    // Each request reserves over half the key's tokens: a reservation left standing would refuse
    // the second with a 429.
    const { key } = await gateway.createKey({ tpm: 300 });
    const client = gateway.openai(key);
    const ask = () =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        max_tokens: 200,
        messages: [{ role: 'user', content: 'one of two' }],
      });
    for (const attempt of ['first', 'second']) {
      const err = apiError(await failureOf(ask()), attempt);
      expect({ attempt, status: err.status, code: err.code }).toEqual({
        attempt,
        status: 503,
        code: 'shutting_down',
      });
      await settleLog(gateway.deps);
    }
  });
});
