import { mkdtempSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readViewStats } from '../../src/storage/queries/analytics-views.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson } from '../helpers/analytics-client.js';
import { seedRows } from '../helpers/analytics-seed.js';
import type { FakeUpstream, RecordedRequest } from '../helpers/fake-upstream.js';
import { chunksFor, completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { openMigratedPglite } from '../helpers/pglite-template.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';
import { lend } from '../helpers/test-deps.js';

/** What the fake provider bills each call: 1,536 of 2,000 prompt tokens from its prompt cache. */
const USAGE = {
  prompt_tokens: 2000,
  completion_tokens: 300,
  total_tokens: 2300,
  prompt_tokens_details: { cached_tokens: 1536, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0 },
};

/** gpt-4.1's list price: $2 input, $0.50 cached input, $8 output per million tokens. */
const SAVED_PER_CALL_USD = (1536 * (2 - 0.5)) / 1e6;
const COST_PER_CALL_USD = ((2000 - 1536) * 2 + 1536 * 0.5 + 300 * 8) / 1e6;
/**
 * What a cache hit on such an answer saves: what the upstream would have billed again, its prompt
 * tokens at the input rate and its completion tokens at the output rate (the provider's cached
 * rate left aside, as the README says).
 */
const SAVED_BY_HIT_USD = (2000 * 2 + 300 * 8) / 1e6;

function withUsage(req: RecordedRequest, res: ServerResponse): void {
  if (req.body.stream !== true) {
    json(200, { ...completionFor(req.body), usage: USAGE })(req, res);
    return;
  }
  const chunks = chunksFor(String(req.body.model), ['Hel', 'lo'], true);
  chunks[chunks.length - 1] = { ...chunks[chunks.length - 1], usage: USAGE };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(`${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
}

const SYSTEM = { role: 'system' as const, content: 'You answer questions about ACME invoices.' };

interface Savings {
  exact_cache: { requests: number; tokens: number; usd: number };
  semantic_cache: { requests: number; tokens: number; usd: number };
  compression: { tokens: number; usd: number };
  provider_cache: { tokens: number; usd: number };
  total_usd: number;
}

describe('the provider prompt cache', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback(withUsage);
    gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_MAX_RETRIES: '0' });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  beforeEach(() => {
    upstream.requests.length = 0;
  });

  it('keeps cached and reasoning tokens on each row and shows their saving in the summary and the views', async () => {
    const key = await gateway.createKey({ scopes: ['chat', 'analytics:read'] });
    const client = gateway.openai(key.key);
    const ask = (content: string) => ({
      model: 'gpt-4.1',
      messages: [SYSTEM, { role: 'user' as const, content }],
    });

    const first = await client.chat.completions.create(ask('What is due in May?'));
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(1536);
    const stream = await client.chat.completions.create({ ...ask('And in June?'), stream: true });
    for await (const _ of stream) {
      // drain
    }
    const response = await client.responses.create({
      model: 'gpt-4.1',
      instructions: SYSTEM.content,
      input: 'And in July?',
    });
    expect(response.usage?.input_tokens_details.cached_tokens).toBe(1536);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(128);
    await settleLog(gateway.deps);
    // The same question again: Tollgate's own cache answers it.
    const hit = await client.chat.completions.create(ask('What is due in May?')).withResponse();
    expect(hit.response.headers.get('x-tollgate-cache')).toBe('hit');
    await settleLog(gateway.deps);

    const rows = await getJson(gateway, '/analytics/interactions', key.key);
    expect(rows.status, rows.text).toBe(200);
    const facts = rows.body.data?.map((r) =>
      [r.endpoint, r.stream, r.cache_status, r.cached_tokens, r.reasoning_tokens].join(' '),
    );
    expect(facts?.sort(), rows.text).toEqual([
      'chat.completions false hit  ',
      'chat.completions false miss 1536 128',
      'chat.completions true miss 1536 128',
      'responses false miss 1536 128',
    ]);

    // The hit's row: what it saved, and how much of that was the answer's completion tokens.
    const hitRow = rows.body.data?.find((r) => r.cache_status === 'hit');
    expect(hitRow, rows.text).toMatchObject({
      prompt_tokens: null,
      completion_tokens: null,
      tokens_saved_cache: 2300,
      tokens_saved_cache_completion: 300,
    });

    const summary = await getJson<{ totals: Record<string, unknown> & { savings: Savings } }>(
      gateway,
      '/analytics/summary?group_by=day',
      key.key,
    );
    expect(summary.status, summary.text).toBe(200);
    const t = summary.body.totals;
    expect(t.cached_tokens, summary.text).toBe(3 * 1536);
    expect(t.reasoning_tokens, summary.text).toBe(3 * 128);
    expect(t.unpriced_requests, summary.text).toBe(0);
    expect(t.estimated_cost_usd as number).toBeCloseTo(3 * COST_PER_CALL_USD, 9);
    const { savings } = t;
    expect(savings.provider_cache.tokens, summary.text).toBe(3 * 1536);
    expect(savings.provider_cache.usd).toBeCloseTo(3 * SAVED_PER_CALL_USD, 9);
    expect(savings.exact_cache, summary.text).toMatchObject({ requests: 1, tokens: 2300 });
    expect(savings.exact_cache.usd).toBeCloseTo(SAVED_BY_HIT_USD, 9);
    expect(savings.semantic_cache, summary.text).toEqual({ requests: 0, tokens: 0, usd: 0 });
    expect(savings.total_usd).toBeCloseTo(
      savings.exact_cache.usd + savings.compression.usd + savings.provider_cache.usd,
      9,
    );

    for (const view of ['daily', 'hourly'] as const) {
      const [row, ...rest] = await readViewStats(gateway.deps.database.db, view, key.tenantId);
      expect(rest, view).toEqual([]);
      expect(row, view).toMatchObject({
        requests: 4,
        cacheHits: 1,
        cachedTokens: 3 * 1536,
        reasoningTokens: 3 * 128,
        unpricedRequests: 0,
      });
      expect(row?.savingsProviderCacheUsd, view).toBeCloseTo(3 * SAVED_PER_CALL_USD, 9);
      expect(row?.estimatedCostUsd, view).toBeCloseTo(3 * COST_PER_CALL_USD, 9);
      expect(row?.savingsCacheUsd, view).toBeCloseTo(SAVED_BY_HIT_USD, 9);
    }
  });

  it('keeps a cached or reasoning count within its total when a provider reports more', async () => {
    const key = await gateway.createKey({ scopes: ['chat', 'analytics:read'] });
    const client = gateway.openai(key.key);
    upstream.enqueue((req, res) =>
      json(200, {
        ...completionFor(req.body),
        usage: {
          prompt_tokens: 100,
          completion_tokens: 10,
          total_tokens: 110,
          prompt_tokens_details: { cached_tokens: 150 },
          completion_tokens_details: { reasoning_tokens: 25 },
        },
      })(req, res),
    );
    await client.chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'A provider counting past the total' }],
    });
    await settleLog(gateway.deps);
    const rows = await getJson(gateway, '/analytics/interactions', key.key);
    const row = rows.body.data?.[0];
    expect([
      row?.prompt_tokens,
      row?.cached_tokens,
      row?.completion_tokens,
      row?.reasoning_tokens,
    ]).toEqual([100, 100, 10, 10]);
    // Priced as the metrics price it: all 100 prompt tokens at the cached rate, none below zero.
    const summary = await getJson<{ totals: { estimated_cost_usd: number } }>(
      gateway,
      `/analytics/summary?key_id=${key.id}`,
      key.key,
    );
    // $0.00013, as the summary rounds it to millionths.
    expect(summary.body.totals.estimated_cost_usd).toBeCloseTo(0.00013, 9);
  });

  it('sends one prompt_cache_key for a tenant and prefix, another for another tenant or prefix', async () => {
    await insertTenant(gateway.deps.database.db, 'acme');
    await insertTenant(gateway.deps.database.db, 'globex');
    const acme = gateway.openai((await gateway.createKey({ tenant: 'acme' })).key);
    const globex = gateway.openai((await gateway.createKey({ tenant: 'globex' })).key);
    const tools = [
      { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } },
    ];
    const request = (system: string, user: string) => ({
      model: 'gpt-4.1',
      messages: [
        { role: 'system' as const, content: system },
        { role: 'user' as const, content: user },
      ],
      tools,
    });
    const send = (client: OpenAI, system: string, user: string) =>
      client.chat.completions.create(request(system, user));
    await send(acme, SYSTEM.content, 'first');
    await send(acme, SYSTEM.content, 'second, different question');
    const stream = await acme.chat.completions.create({
      ...request(SYSTEM.content, 'third, streamed'),
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }
    await send(globex, SYSTEM.content, 'first');
    await send(acme, 'You answer questions about ACME payroll.', 'first');
    await acme.responses.create({
      model: 'gpt-4.1',
      instructions: SYSTEM.content,
      input: 'x',
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' }, strict: false }],
    });

    const keys = upstream.requests.map((r) => r.body.prompt_cache_key);
    const [a1, a2, a3, b1, aOther] = keys;
    expect(a1, JSON.stringify(keys)).toMatch(/^tg-[A-Za-z0-9_-]{32}$/);
    expect(a2).toBe(a1);
    expect(a3).toBe(a1);
    expect(b1).not.toBe(a1);
    expect(aOther).not.toBe(a1);
    // A Responses request is translated to chat completions and gets its key the same way.
    expect(keys[5]).toMatch(/^tg-/);
    expect(new Set([a1, b1, aOther]).size).toBe(3);
  });

  it("passes a client's own prompt_cache_key unchanged, and otherwise adds one before the client's bytes", async () => {
    const key = await gateway.createKey();
    const raw = `{ "model" : "gpt-4.1",\n  "messages": [{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}], "seed": 1.0 }`;
    const post = (body: string) =>
      gateway.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body,
      });
    expect((await post(raw)).status).toBe(200);
    const own = raw.replace('"seed": 1.0', '"seed": 1.0, "prompt_cache_key": "my-app-v1"');
    expect((await post(own)).status).toBe(200);
    const noPrefix = `{"model":"gpt-4.1","messages":[{"role":"user","content":"hello"}]}`;
    expect((await post(noPrefix)).status).toBe(200);

    const [added, kept, none] = upstream.requests;
    const addedKey = String(added?.body.prompt_cache_key);
    expect(addedKey).toMatch(/^tg-/);
    expect(added?.rawBody).toBe(`{"prompt_cache_key":${JSON.stringify(addedKey)},${raw.slice(1)}`);
    expect(kept?.rawBody).toBe(own);
    expect(none?.rawBody).toBe(noPrefix);
  });

  it('leaves requests as sent with PROMPT_CACHE_KEY=off', async () => {
    const off = await createTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
      PROMPT_CACHE_KEY: 'off',
    });
    try {
      const client = off.openai((await off.createKey()).key);
      await client.chat.completions.create({
        model: 'gpt-4.1',
        messages: [SYSTEM, { role: 'user', content: 'hi' }],
      });
      expect(upstream.requests.map((r) => r.body.prompt_cache_key)).toEqual([undefined]);
    } finally {
      await off.close();
    }
  });

  it("prices the views with the gateway's own price table, rewritten at every start", async () => {
    const database = await openMigratedPglite();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-prices-'));
    const viewOnce = async (input: number, cachedInput: number) => {
      const file = join(dir, `prices-${input}.json`);
      const house = {
        input_per_mtok_usd: input,
        cached_input_per_mtok_usd: cachedInput,
        output_per_mtok_usd: 2,
      };
      writeFileSync(file, JSON.stringify({ as_of: '2030-01-01', models: { house } }));
      const started = await createTestApp({ TOLLGATE_PRICES: file }, { database: lend(database) });
      try {
        const [row] = await readViewStats(started.deps.database.db, 'hourly', 'acme');
        return row;
      } finally {
        await started.close();
      }
    };
    try {
      await insertTenant(database.db, 'acme');
      await seedRows(database.db, [
        {
          tenantId: 'acme',
          createdAt: new Date('2030-01-02T10:00:00Z'),
          model: 'house',
          promptTokens: 1000,
          completionTokens: 0,
          cachedTokens: 400,
        },
      ]);
      const first = await viewOnce(1, 0.5);
      expect(first?.savingsProviderCacheUsd).toBeCloseTo((400 * 0.5) / 1e6, 12);
      expect(first?.estimatedCostUsd).toBeCloseTo((600 * 1 + 400 * 0.5) / 1e6, 12);
      const second = await viewOnce(3, 1);
      expect(second?.savingsProviderCacheUsd).toBeCloseTo((400 * 2) / 1e6, 12);
      expect(second?.unpricedRequests).toBe(0);
    } finally {
      await database.close();
    }
  });
});
