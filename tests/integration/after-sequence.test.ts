import { eq } from 'drizzle-orm';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCacheKeys } from '../../src/cache/scope.js';
import { parseChatRequest } from '../../src/http/chat-request.js';
import type { Outcome } from '../../src/http/env.js';
import type { VerifiedKey } from '../../src/keys/key-verifier.js';
import { afterSequence } from '../../src/pipeline/after.js';
import type { FinishedRequest } from '../../src/pipeline/finished-request.js';
import type { Ticket } from '../../src/ratelimit/rate-limiter.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let key: string;
let verified: VerifiedKey;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // The cache is on (the default), so the sequence takes its cache step.
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
  key = (await gateway.createKey({ maxConcurrency: 1 })).key;
  const check = await gateway.deps.keys.verify(key);
  if (!check.ok) throw new Error(`the test key does not verify: ${check.reason}`);
  verified = check.key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** A chat request answered 200, as the after-response step finds it once the answer is sent. */
function answered(content: string, admission?: Ticket): FinishedRequest & { key: VerifiedKey } {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] };
  const request = parseChatRequest(JSON.stringify(body), body);
  const keys = deriveCacheKeys({
    tenantId: verified.tenantId,
    model: request.model,
    body: request.body,
  });
  return {
    id: uuidv7(),
    clientRequestId: undefined,
    sessionId: undefined,
    receivedAt: Date.now(),
    startedAt: gateway.deps.clock.monotonic(),
    endpoint: 'chat.completions',
    key: verified,
    askedModel: 'gpt-4o-mini',
    request,
    admission,
    slot: undefined,
    compression: undefined,
    cacheStatus: 'miss',
    cacheHit: undefined,
    cachePlan: { keys, embedding: null, numbers: undefined },
  };
}

function outcomeWith(completion: unknown): Outcome {
  return {
    status: 200,
    errorCode: null,
    upstreamFailure: null,
    completion: completion as ChatCompletion,
    provider: 'default',
    upstreamModel: 'gpt-4o-mini',
    ttftMs: null,
    upstreamMs: 1,
    upstreamStatus: 200,
    attempts: 1,
    latencyMs: 2,
    fromCache: false,
    complete: true,
  };
}

async function statusOfRow(id: string): Promise<number | undefined> {
  const rows = await gateway.deps.database.db
    .select({ status: interactions.status })
    .from(interactions)
    .where(eq(interactions.id, id));
  return rows[0]?.status;
}

describe('the after-response sequence', () => {
  it('records the row of an answer whose shape the cache step cannot read', async () => {
    const odd: unknown[] = [[], 'hello', { choices: [null] }, { choices: 'nope' }, null];
    const requests = odd.map((completion, i) => {
      const f = answered(`an odd answer ${i}`);
      return { f, done: afterSequence(gateway.deps, f, outcomeWith(completion), null) };
    });
    for (const { done } of requests) await done;
    await settleLog(gateway.deps);
    for (const [i, { f }] of requests.entries()) {
      expect(await statusOfRow(f.id), `the row of ${JSON.stringify(odd[i])}`).toBe(200);
    }
  });

  it('records the row and frees the concurrency slot when settling the reservation fails', async () => {
    const admitted = await gateway.deps.rateLimiter.admit(
      { keyId: verified.id, tenantId: verified.tenantId, key: { maxConcurrency: 1 } },
      10,
    );
    if (!admitted.ok) throw new Error(`not admitted: ${admitted.reason}`);
    const ticket: Ticket = {
      reservedTokens: admitted.ticket.reservedTokens,
      holdsSlot: admitted.ticket.holdsSlot,
      settle: async () => {
        throw new Error('the limit store is gone');
      },
      release: () => admitted.ticket.release(),
    };
    const f = answered('a reservation that cannot be settled', ticket);
    await afterSequence(
      gateway.deps,
      f,
      outcomeWith({ choices: [{ index: 0, message: { role: 'assistant', content: 'x' } }] }),
      null,
    );
    await settleLog(gateway.deps);
    expect(await statusOfRow(f.id), 'the row is recorded').toBe(200);
    // The key allows one request at a time: this one is admitted only if the slot was freed.
    const res = await gateway.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'next' }] }),
    });
    expect(res.status, await res.text()).toBe(200);
  });
});
