import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/deps.js';
import type { MetricsJson } from '../../src/routes/analytics-json.js';
import { rollUpPending } from '../../src/storage/queries/analytics-rollups.js';
import { readViewStats } from '../../src/storage/queries/analytics-views.js';
import { selectRows } from '../../src/storage/queries/raw-rows.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import { seedBulkRows, seedRows } from '../helpers/analytics-seed.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

/** The answer's numbers, typed as the route declares them. */
type Metrics = MetricsJson;
interface SummaryBody {
  group_by: string;
  data: (Metrics & { group: string | null })[];
  totals: Metrics;
}

/** Histogram percentiles: every estimate lies within 2^(1/16) - 1 = 4.4% of the exact value. */
/** The same totals; money may differ in its last digit, as sums are added in another order. */
const MONEY = [
  'estimated_cost_usd',
  'estimated_savings_usd',
  'estimated_savings_cache_usd',
  'estimated_savings_compression_usd',
  'estimated_savings_provider_cache_usd',
] as const;

function expectSameTotals(actual: Metrics, expected: Metrics): void {
  const withoutMoney = (m: Metrics) => {
    const copy: Record<string, unknown> = { ...m };
    for (const k of [...MONEY, 'savings']) delete copy[k];
    return copy;
  };
  expect(withoutMoney(actual)).toEqual(withoutMoney(expected));
  for (const k of MONEY) expect(actual[k], k).toBeCloseTo(expected[k], 5);
}

function expectWithin(actual: number | null, exact: number, relative = 0.044): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? 0) - exact) / exact).toBeLessThanOrEqual(relative);
}

describe.each(storageDrivers())('analytics summary on $name', (driver) => {
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let deps: Deps;
  let reader: { key: string; id: string; tenantId: string };

  beforeAll(async () => {
    // The gateway's periodic jobs (the rollup fold above all) run only when a test calls them:
    // on a slow machine a fold between two reads would change what these tests compare.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    target = await driver.create();
    ({ gateway, deps } = await startAnalyticsGateway(target));
    await insertTenant(deps.database.db, 'acme');
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  beforeEach(async () => {
    await deps.database.db.execute(sql`truncate interactions, audit_log`);
  });

  const summary = (query: string) =>
    getJson<SummaryBody>(gateway, `/analytics/summary?${query}`, reader.key);

  async function seedFour() {
    const t = reader.tenantId;
    await seedRows(deps.database.db, [
      {
        tenantId: t,
        createdAt: new Date('2025-05-01T00:10:00Z'),
        model: 'gpt-4o',
        keyId: 'key_a',
        promptTokens: 1000,
        completionTokens: 500,
        latencyMs: 100,
        ttftMs: 50,
        tokensSavedCompression: 200,
      },
      {
        tenantId: t,
        createdAt: new Date('2025-05-01T00:20:00Z'),
        model: 'gpt-4o',
        keyId: 'key_a',
        status: 500,
        promptTokens: 100,
        completionTokens: 0,
        latencyMs: 300,
      },
      {
        tenantId: t,
        createdAt: new Date('2025-05-01T01:10:00Z'),
        model: 'gpt-4o-mini',
        upstreamModel: 'gpt-4o-mini-2024-07-18',
        keyId: 'key_b',
        cacheStatus: 'hit',
        promptTokens: 2000,
        completionTokens: 1000,
        latencyMs: 10,
        ttftMs: 5,
      },
      {
        tenantId: t,
        createdAt: new Date('2025-05-02T00:00:00Z'),
        model: 'house-model',
        keyId: 'key_b',
        endUser: 'bob',
        promptTokens: 10,
        completionTokens: 10,
        latencyMs: 200,
      },
    ]);
  }

  it('totals requests, errors, percentiles, tokens, savings and estimated cost', async () => {
    await seedFour();
    const res = await summary('group_by=day');
    expect(res.status, res.text).toBe(200);
    const totals = res.body.totals;
    expect(totals).toMatchObject({
      requests: 4,
      errors: 1,
      cache_hits: 1,
      prompt_tokens: 3110,
      completion_tokens: 1510,
      tokens_saved_cache: 3000,
      tokens_saved_compression: 200,
      unpriced_requests: 1,
    });
    // Percentiles come from log-scale histograms: within 4.4% of percentile_cont's answer.
    expectWithin(totals.latency_p50_ms, 150);
    expectWithin(totals.latency_p95_ms, 285);
    expectWithin(totals.ttft_p50_ms, 27.5);
    expectWithin(totals.ttft_p95_ms, 47.75);
    // gpt-4o: 1000 in + 500 out, then 100 in; the cache hit and the unpriced model cost nothing.
    expect(totals.estimated_cost_usd).toBeCloseTo(0.00775, 9);
    // The hit (dated gpt-4o-mini: 2000 in, 1000 out) plus 200 compressed gpt-4o input tokens.
    expect(totals.estimated_savings_usd).toBeCloseTo(0.0009 + 0.0005, 9);
  });

  it("prices a hit's saved completion tokens at the output rate, and counts as unpriced only requests that used tokens", async () => {
    const t = reader.tenantId;
    const at = (minute: number) => new Date(Date.UTC(2025, 4, 3, 0, minute));
    await seedRows(deps.database.db, [
      // A hit as the gateway records it now: no usage of its own, the saving and its split.
      {
        tenantId: t,
        createdAt: at(1),
        cacheStatus: 'hit',
        promptTokens: null,
        completionTokens: null,
        tokensSavedCache: 3000,
        tokensSavedCacheCompletion: 1000,
      },
      // A hit recorded before the split was kept: its saving is priced at the input rate.
      {
        tenantId: t,
        createdAt: at(2),
        cacheStatus: 'semantic-hit',
        promptTokens: null,
        completionTokens: null,
        tokensSavedCache: 3000,
      },
      // A model without a price: answered (money left out), refused and failed (nothing spent).
      { tenantId: t, createdAt: at(3), model: 'house-model' },
      {
        tenantId: t,
        createdAt: at(4),
        model: 'house-model',
        status: 400,
        errorCode: 'invalid_type',
        cacheStatus: null,
        promptTokens: null,
        completionTokens: null,
      },
      {
        tenantId: t,
        createdAt: at(5),
        model: null,
        status: 400,
        errorCode: 'invalid_json',
        cacheStatus: null,
        promptTokens: null,
        completionTokens: null,
      },
      {
        tenantId: t,
        createdAt: at(6),
        model: 'house-model',
        status: 502,
        errorCode: 'upstream_error',
        cacheStatus: null,
        promptTokens: null,
        completionTokens: null,
      },
    ]);
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    const split = (2000 * 0.15 + 1000 * 0.6) / 1e6;
    const unsplit = (3000 * 0.15) / 1e6;
    // Whole days come from the rollups and their deltas, hours from the log: the same answer.
    for (const by of ['day', 'hour']) {
      const res = await summary(`group_by=${by}&from=2025-05-03T00:00:00Z&to=2025-05-04T00:00:00Z`);
      expect(res.status, res.text).toBe(200);
      const totals = res.body.totals;
      expect(totals, by).toMatchObject({ requests: 6, errors: 3, unpriced_requests: 1 });
      expect(totals.estimated_savings_cache_usd, by).toBeCloseTo(split + unsplit, 12);
      expect(totals.savings.exact_cache.usd, by).toBeCloseTo(split, 12);
      expect(totals.savings.semantic_cache.usd, by).toBeCloseTo(unsplit, 12);
    }
    const byModel = await summary(
      'group_by=model&from=2025-05-03T00:00:00Z&to=2025-05-04T00:00:00Z',
    );
    const unpriced = byModel.body.data.map((g) => [g.group, g.requests, g.unpriced_requests]);
    expect(unpriced).toEqual([
      ['house-model', 3, 1],
      ['gpt-4o-mini', 2, 0],
      [null, 1, 0],
    ]);
  });

  it('groups by hour, day, model, key, end user and cache status', async () => {
    await seedFour();
    const groups = async (by: string) =>
      (await summary(`group_by=${by}`)).body.data.map((g) => [g.group, g.requests]);
    expect(await groups('day')).toEqual([
      ['2025-05-01T00:00:00Z', 3],
      ['2025-05-02T00:00:00Z', 1],
    ]);
    expect(await groups('hour')).toEqual([
      ['2025-05-01T00:00:00Z', 2],
      ['2025-05-01T01:00:00Z', 1],
      ['2025-05-02T00:00:00Z', 1],
    ]);
    expect(await groups('model')).toEqual([
      ['gpt-4o', 2],
      ['gpt-4o-mini', 1],
      ['house-model', 1],
    ]);
    expect(await groups('key')).toEqual([
      ['key_a', 2],
      ['key_b', 2],
    ]);
    expect(await groups('end_user')).toEqual([
      [null, 3],
      ['bob', 1],
    ]);
    expect(await groups('cache_status')).toEqual([
      ['miss', 3],
      ['hit', 1],
    ]);
  });

  it('applies the same filters as the log, and answers zeros when nothing matches', async () => {
    await seedFour();
    const errors = await summary('status=error&group_by=model');
    expect(errors.body.totals.requests, errors.text).toBe(1);
    expect(errors.body.data.map((g) => g.group)).toEqual(['gpt-4o']);
    const none = await summary('from=2030-01-01T00:00:00Z');
    expect(none.status, none.text).toBe(200);
    expect(none.body.data).toEqual([]);
    expect(none.body.totals).toMatchObject({ requests: 0, latency_p50_ms: null });
    const bad = await summary('group_by=week');
    expect(bad.status, bad.text).toBe(400);
  });

  it('gives in the SQL views the same numbers as the summary route', async () => {
    await seedBulkRows(deps.database.db, reader.tenantId, 20_000, new Date('2025-05-01T20:00:00Z'));
    const totals = (await summary('group_by=day')).body.totals;
    for (const view of ['daily', 'hourly'] as const) {
      const rows = await readViewStats(deps.database.db, view, reader.tenantId);
      const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
      expect({
        requests: sum((r) => r.requests),
        errors: sum((r) => r.errors),
        cache_hits: sum((r) => r.cacheHits),
        prompt_tokens: sum((r) => r.promptTokens),
        completion_tokens: sum((r) => r.completionTokens),
        tokens_saved_cache: sum((r) => r.tokensSavedCache),
        tokens_saved_compression: sum((r) => r.tokensSavedCompression),
        cached_tokens: sum((r) => r.cachedTokens),
        reasoning_tokens: sum((r) => r.reasoningTokens),
        usage_estimated_requests: sum((r) => r.usageEstimatedRequests),
        usage_estimated_tokens: sum((r) => r.usageEstimatedTokens),
        unpriced_requests: sum((r) => r.unpricedRequests),
      }).toEqual({
        requests: totals.requests,
        errors: totals.errors,
        cache_hits: totals.cache_hits,
        prompt_tokens: totals.prompt_tokens,
        completion_tokens: totals.completion_tokens,
        tokens_saved_cache: totals.tokens_saved_cache,
        tokens_saved_compression: totals.tokens_saved_compression,
        cached_tokens: totals.cached_tokens,
        reasoning_tokens: totals.reasoning_tokens,
        usage_estimated_requests: totals.usage_estimated_requests,
        usage_estimated_tokens: totals.usage_estimated_tokens,
        unpriced_requests: totals.unpriced_requests,
      });
      expect(totals.cached_tokens).toBeGreaterThan(0);
      expect(totals.usage_estimated_requests).toBeGreaterThan(0);
      // The views price by model_prices, the gateway's table written at start-up.
      const money: [string, number, number][] = [
        ['cost', sum((r) => r.estimatedCostUsd), totals.estimated_cost_usd],
        ['cache', sum((r) => r.savingsCacheUsd), totals.estimated_savings_cache_usd],
        [
          'compression',
          sum((r) => r.savingsCompressionUsd),
          totals.estimated_savings_compression_usd,
        ],
        [
          'provider cache',
          sum((r) => r.savingsProviderCacheUsd),
          totals.estimated_savings_provider_cache_usd,
        ],
      ];
      for (const [name, fromView, fromApi] of money) {
        expect(fromApi, name).toBeGreaterThan(0);
        expect(fromView, `${view} ${name}`).toBeCloseTo(fromApi, 4);
      }
    }
    for (const [view, by] of [
      ['daily', 'day'],
      ['hourly', 'hour'],
    ] as const) {
      const perBucket = (await summary(`group_by=${by}&model=o3`)).body.data;
      const viewO3 = (await readViewStats(deps.database.db, view, reader.tenantId)).filter(
        (r) => r.model === 'o3',
      );
      expect(viewO3.length).toBe(perBucket.length);
      expect(viewO3.length).toBeGreaterThan(0);
      viewO3.forEach((r, i) => {
        const g = perBucket[i];
        expect(r.bucket).toBe(g?.group);
        expect(r.requests).toBe(g?.requests);
        expect(r.latencyP50Ms).toBe(g?.latency_p50_ms);
        expect(r.latencyP95Ms).toBe(g?.latency_p95_ms);
      });
    }
  });

  it('answers the same from the daily rollups, their pending deltas and the log', async () => {
    const start = new Date('2025-05-01T20:00:00Z');
    await seedBulkRows(deps.database.db, reader.tenantId, 20_000, start);
    const totalsOf = async (query: string) => (await summary(query)).body.totals;
    // group_by=hour always reads the log; group_by=day reads whole days from the rollups.
    const fromLog = await totalsOf('group_by=hour');
    const pending = await totalsOf('group_by=day');
    expectSameTotals(pending, fromLog);
    expect(await rollUpPending(deps.database.db, 3_000)).toBe(20_000);
    const folded = await totalsOf('group_by=day');
    expectSameTotals(folded, fromLog);
    expect(folded.requests).toBe(20_000);
    // A range that starts and ends inside a day: rollups for the whole day, the log for the ends.
    const range = 'from=2025-05-01T22:30:00Z&to=2025-05-03T02:15:00Z';
    expectSameTotals(
      await totalsOf(`group_by=day&${range}`),
      await totalsOf(`group_by=hour&${range}`),
    );
    expect((await totalsOf(`group_by=day&${range}`)).requests).toBe(11_000);
    // Filters every source understands, and ones only the log has.
    expectSameTotals(
      await totalsOf('group_by=model&status=error&cache_status=hit'),
      await totalsOf('group_by=key&status=error&cache_status=hit'),
    );
  });

  it('estimates percentiles within 4.4% of the exact values', async () => {
    await seedBulkRows(deps.database.db, reader.tenantId, 20_000, new Date('2025-05-01T20:00:00Z'));
    await rollUpPending(deps.database.db);
    const [exact] = await selectRows<Record<string, number>>(
      deps.database.db,
      sql`select percentile_cont(0.5) within group (order by latency_ms) as l50,
        percentile_cont(0.95) within group (order by latency_ms) as l95,
        percentile_cont(0.5) within group (order by ttft_ms) as t50,
        percentile_cont(0.95) within group (order by ttft_ms) as t95
      from interactions`,
    );
    const totals = (await summary('group_by=day')).body.totals;
    expectWithin(totals.latency_p50_ms, Number(exact?.l50));
    expectWithin(totals.latency_p95_ms, Number(exact?.l95));
    expectWithin(totals.ttft_p50_ms, Number(exact?.t50));
    expectWithin(totals.ttft_p95_ms, Number(exact?.t95));
  });

  it('keeps the rollups equal to the log when rows are deleted, and refuses metadata edits', async () => {
    const start = new Date('2025-05-01T20:00:00Z');
    await seedBulkRows(deps.database.db, reader.tenantId, 20_000, start);
    await rollUpPending(deps.database.db);
    await deps.database.db.execute(
      sql`delete from interactions where created_at < ${'2025-05-02T00:00:00Z'}::timestamptz`,
    );
    const fromLog = (await summary('group_by=hour')).body.totals;
    expect(fromLog.requests).toBe(20_000 - 4 * 3600);
    expectSameTotals((await summary('group_by=day')).body.totals, fromLog);
    await rollUpPending(deps.database.db);
    const days = (await summary('group_by=day')).body;
    expectSameTotals(days.totals, fromLog);
    expect(days.data.map((g) => g.group)).toEqual(['2025-05-02T00:00:00Z']);
    await expect(
      deps.database.db.execute(sql`update interactions set status = 200 where status = 500`),
    ).rejects.toThrow();
    expectSameTotals((await summary('group_by=day')).body.totals, fromLog);
  });

  it("refuses an edit of a hit's saved completion tokens, which the rollups count", async () => {
    await seedRows(deps.database.db, [
      {
        tenantId: reader.tenantId,
        createdAt: new Date('2025-05-03T10:00:00Z'),
        model: 'gpt-4o',
        cacheStatus: 'hit',
        promptTokens: null,
        completionTokens: null,
        tokensSavedCache: 3000,
        tokensSavedCacheCompletion: 1000,
      },
    ]);
    await rollUpPending(deps.database.db);
    const range = 'from=2025-05-03T00:00:00Z&to=2025-05-04T00:00:00Z';
    const before = (await summary(`group_by=day&${range}`)).body.totals;
    await expect(
      deps.database.db.execute(sql`update interactions set tokens_saved_cache_completion = 0`),
    ).rejects.toThrow();
    // Whole days (rollups) and hours (the log) still price the saving alike.
    expectSameTotals((await summary(`group_by=hour&${range}`)).body.totals, before);
    expect(before.estimated_savings_cache_usd).toBeCloseTo((2000 * 2.5 + 1000 * 10) / 1e6, 9);
  });
});
