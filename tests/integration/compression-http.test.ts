import { eq } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { apiKeys } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;
let keyId: string;

const SPACED = 'Please   summarise    this:\n\n\n\n\nThe  quick   brown fox.   \n\n\n\nThanks!   ';

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // The same prompt is sent repeatedly to watch what reaches the upstream: no cache here.
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  ({ key, id: keyId } = await gateway.createKey());
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(async () => {
  upstream.requests.length = 0;
  await gateway.server.deps.database.db
    .update(apiKeys)
    .set({ compression: null })
    .where(eq(apiKeys.id, keyId));
  gateway.server.deps.keys.invalidate(key.slice(3, 15));
});

function client(headers: Record<string, string> = {}) {
  return new OpenAI({
    apiKey: key,
    baseURL: `${gateway.baseURL}/v1`,
    maxRetries: 0,
    defaultHeaders: headers,
  });
}

/** The text of the first message the upstream received in request `index`. */
function sentContent(index: number): string | undefined {
  const messages = upstream.requests[index]?.body.messages as { content: string }[] | undefined;
  return messages?.[0]?.content;
}

describe('prompt compression through the gateway', () => {
  it('compresses in safe mode by default, says how many tokens it saved, and records it', async () => {
    const { response } = await client()
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: SPACED }],
      })
      .withResponse();
    const saved = Number(response.headers.get('x-tollgate-tokens-saved'));
    expect(saved).toBeGreaterThan(0);
    const sent = sentContent(0);
    expect(sent).toBe('Please summarise this:\n\nThe quick brown fox.\n\nThanks!');
    await settleLog(gateway.server.deps);
    const row = await findInteraction(
      gateway.server.deps.database.db,
      response.headers.get('x-request-id') ?? '',
    );
    expect(row).toMatchObject({
      compressionMode: 'safe',
      tokensSavedCompression: saved,
      promptTokens: 12,
    });
    expect(row?.promptTokensBeforeCompression).toBe(12 + saved);
  });

  it('sends the exact bytes the client sent when the header says off', async () => {
    const raw = `{ "messages" : [ {"content": ${JSON.stringify(SPACED)}, "role":"user"} ],\n  "model":"gpt-4o-mini", "temperature": 1.0 }`;
    const res = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-tollgate-compression': 'off',
      },
      body: raw,
    });
    expect(res.status, await res.text()).toBe(200);
    expect(res.headers.get('x-tollgate-tokens-saved')).toBe('0');
    expect(upstream.requests[0]?.rawBody).toBe(raw);
  });

  it("follows the key's default, and lets the header override it", async () => {
    await gateway.server.deps.database.db
      .update(apiKeys)
      .set({ compression: 'off' })
      .where(eq(apiKeys.id, keyId));
    gateway.server.deps.keys.invalidate(key.slice(3, 15));
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: SPACED }] };
    await client().chat.completions.create(body);
    expect(sentContent(0)).toBe(SPACED);
    await client({ 'x-tollgate-compression': 'safe' }).chat.completions.create(body);
    expect(sentContent(1)).not.toBe(SPACED);
  });

  it('removes repeated paragraphs from long context only in aggressive mode', async () => {
    const paragraph =
      'The committee reviewed the quarterly figures and agreed that the regional offices should report their travel costs separately from their training costs, starting next quarter.';
    const doc = Array.from({ length: 40 }, (_, i) => `Section ${i}: ${paragraph}`).join('\n\n');
    const longContext = `${doc}\n\n${doc}`;
    const ask = (mode: string) =>
      client({ 'x-tollgate-compression': mode })
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: longContext }],
        })
        .withResponse();
    const safe = Number((await ask('safe')).response.headers.get('x-tollgate-tokens-saved'));
    const aggressive = Number(
      (await ask('aggressive')).response.headers.get('x-tollgate-tokens-saved'),
    );
    expect(aggressive, `safe saved ${safe}, aggressive ${aggressive}`).toBeGreaterThan(safe + 1000);
    const sent = sentContent(1) ?? '';
    for (let i = 0; i < 40; i++) expect(sent).toContain(`Section ${i}:`);
  });

  it('rejects an unknown compression mode with 400 naming the header', async () => {
    const res = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-tollgate-compression': 'max',
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await res.json()) as { error: { param: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error.param).toBe('x-tollgate-compression');
  });
});
