import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsJson } from '../../src/routes/analytics-json.js';
import { rollUpPending } from '../../src/storage/queries/analytics-rollups.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson, type RowJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

/**
 * `group_by=provider` and the `provider` filter, over rows made by real requests through a gateway
 * with two upstreams: one model served by `primary` with `backup` as its fallback, one by `backup`
 * alone, cache hits of both, and requests refused before any upstream (no provider).
 */

const DAY = 86_400_000;
const T0 = Date.UTC(2031, 2, 3, 5, 0, 0);
/** The built-in list prices (USD per million input and output tokens) of the models asked for. */
const PRICES: Record<string, [number, number]> = {
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4o': [2.5, 10],
};

interface SummaryBody {
  group_by: string;
  filter: Record<string, unknown>;
  data: (MetricsJson & { group: string | null })[];
  totals: MetricsJson;
}

/** An upstream that answers with usage of its own size (`base` prompt tokens and up), failing on `failOn`. */
function provider(base: number, failOn: string): UpstreamHandler {
  return (req, res) => {
    const text = JSON.stringify(req.body.messages);
    if (text.includes(failOn)) {
      return json(500, { error: { message: 'down', type: 'server_error' } })(req, res);
    }
    const usage = {
      prompt_tokens: base + text.length,
      completion_tokens: 7 + (text.length % 5),
      total_tokens: 0,
    };
    return json(200, { ...completionFor(req.body, `answer ${text.length}`), usage })(req, res);
  };
}

function routingFile(primaryUrl: string, backupUrl: string): string {
  const file = join(tmpdir(), `tollgate-analytics-provider-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      upstreams: {
        primary: { baseURL: primaryUrl, apiKey: 'sk-primary-0000000000' },
        backup: { baseURL: backupUrl, apiKey: 'sk-backup-1111111111' },
      },
      models: { 'gpt-4o-mini': ['primary', 'backup'], 'gpt-4o': ['backup'] },
    }),
  );
  return file;
}

/** The numbers a summary group should hold, added up from exported rows. */
function expectedOf(rows: RowJson[]) {
  const num = (r: RowJson, field: string) => (typeof r[field] === 'number' ? r[field] : 0);
  const hit = (r: RowJson) => r.cache_status === 'hit' || r.cache_status === 'semantic-hit';
  let cost = 0;
  for (const r of rows) {
    const price = PRICES[String(r.upstream_model ?? r.model)];
    if (price && !hit(r))
      cost += (num(r, 'prompt_tokens') * price[0] + num(r, 'completion_tokens') * price[1]) / 1e6;
  }
  return {
    requests: rows.length,
    errors: rows.filter((r) => Number(r.status) >= 400).length,
    cache_hits: rows.filter(hit).length,
    prompt_tokens: rows.reduce((t, r) => t + num(r, 'prompt_tokens'), 0),
    completion_tokens: rows.reduce((t, r) => t + num(r, 'completion_tokens'), 0),
    estimated_cost_usd: cost,
  };
}

describe.each(storageDrivers())('summary by provider on $name', (driver) => {
  const clock = manualClock(T0);
  let target: TestDatabaseTarget;
  let primary: FakeUpstream;
  let backup: FakeUpstream;
  let gateway: TestApp;
  let reader: { key: string };

  beforeAll(async () => {
    primary = await startFakeUpstream();
    backup = await startFakeUpstream();
    primary.setFallback(provider(100, 'down'));
    backup.setFallback(provider(2_000, 'broken'));
    target = await driver.create();
    ({ gateway } = await startAnalyticsGateway(
      target,
      {
        TOLLGATE_CONFIG: routingFile(primary.url, backup.url),
        UPSTREAM_MAX_RETRIES: '0',
        CACHE: 'on',
        // Exact repeats only: a semantic hit of another day's question would move no row between
        // providers, but would make which upstream was called depend on the embedder.
        CACHE_SEMANTIC_THRESHOLD: '1',
      },
      { clock },
    ));
    await insertTenant(gateway.deps.database.db, 'acme');
    const chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    const limited = await gateway.createKey({ tenant: 'acme', scopes: ['chat'], rpm: 1 });
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    const client = gateway.openai(chat.key);
    const ask = (model: string, content: string) =>
      client.chat.completions
        .create({ model, messages: [{ role: 'user', content }] })
        .catch((err: unknown) => err);
    // Four days, each: primary's answer and its cache hit, a fallback from primary to backup,
    // backup's answer and its cache hit, a failure on backup, and three requests refused before
    // any upstream (a body that is not a chat request, a model no upstream serves, a rate limit).
    for (const [day, word] of ['alpha', 'bravo', 'charlie', 'delta'].entries()) {
      const steps: (() => Promise<unknown>)[] = [
        () => ask('gpt-4o-mini', `question ${word}`),
        () => ask('gpt-4o-mini', `question ${word}`),
        () => ask('gpt-4o-mini', `down, then backup ${word}`),
        () => ask('gpt-4o', `big question ${word}`),
        () => ask('gpt-4o', `big question ${word}`),
        () => ask('gpt-4o', `broken ${word}`),
        () =>
          gateway.request('/v1/chat/completions', {
            method: 'POST',
            headers: { authorization: `Bearer ${chat.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4o-mini', messages: 'not a list' }),
          }),
        () => ask('gpt-unknown', `nobody serves ${word}`),
        async () => {
          const limitedClient = gateway.openai(limited.key) as OpenAI;
          for (const n of [1, 2]) {
            await limitedClient.chat.completions
              .create({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: `rpm ${word} ${n}` }],
              })
              .catch((err: unknown) => err);
          }
        },
      ];
      for (const step of steps) {
        await step();
        await settleLog(gateway.deps);
        clock.advance(40 * 60_000);
      }
      clock.set(T0 + (day + 1) * DAY);
    }
    await settleLog(gateway.deps);
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    await primary?.close();
    await backup?.close();
  });

  const summary = (query: string) =>
    getJson<SummaryBody>(gateway, `/analytics/summary?${query}`, reader.key);

  async function exported(query: string): Promise<RowJson[]> {
    const res = await gateway.request(`/analytics/export?format=ndjson&${query}`, {
      headers: { authorization: `Bearer ${reader.key}` },
    });
    expect(res.status).toBe(200);
    return (await res.text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as RowJson);
  }

  function expectGroup(actual: MetricsJson | undefined, rows: RowJson[], label: string): void {
    const { estimated_cost_usd, ...counts } = expectedOf(rows);
    expect(actual, label).toMatchObject(counts);
    expect(actual?.estimated_cost_usd, label).toBeCloseTo(estimated_cost_usd, 5);
  }

  it('groups the rows by the provider that answered, and those refused before any upstream as null', async () => {
    const rows = await exported('');
    const count = (p: string | null) => rows.filter((r) => r.provider === p).length;
    // Per day: primary 1 answer + 1 hit; backup 1 fallback + 1 answer + 1 hit + 1 failure;
    // 3 refused (400, 404, and the second of two rate-limited requests is 429, the first primary's).
    expect(rows).toHaveLength(4 * 10);
    expect([count('primary'), count('backup'), count(null)]).toEqual([4 * 3, 4 * 4, 4 * 3]);
    const refused = rows.filter((r) => r.provider === null).map((r) => r.status);
    expect([...new Set(refused)].sort()).toEqual([400, 404, 429]);
    expect(rows.filter((r) => r.provider === 'backup' && r.model === 'gpt-4o-mini')).toHaveLength(
      4,
    );
    // Busiest first; the group without a provider after a named one with as many requests.
    const byProvider = await summary('group_by=provider');
    expect(byProvider.status, byProvider.text).toBe(200);
    expect(byProvider.body.data.map((g) => [g.group, g.requests])).toEqual([
      ['backup', 16],
      ['primary', 12],
      [null, 12],
    ]);
  });

  it("gives each provider's requests, tokens and cost as the rows add up, refused requests as null", async () => {
    const wholeDays = `from=${new Date(T0 - 5 * 3_600_000).toISOString()}&to=${new Date(T0 + 3 * DAY - 5 * 3_600_000).toISOString()}`;
    const partialDays = `from=${new Date(T0 + 3 * 3_600_000).toISOString()}&to=${new Date(T0 + 3 * DAY + 7_200_000).toISOString()}`;
    for (const moment of ['deltas pending', 'folded']) {
      for (const range of ['', wholeDays, partialDays]) {
        const rows = await exported(range);
        const res = await summary(`group_by=provider${range ? `&${range}` : ''}`);
        expect(res.status, res.text).toBe(200);
        expect(res.body.group_by).toBe('provider');
        const label = `${moment} ${range}`;
        const groups = res.body.data.map((g) => g.group);
        expect(groups, label).toHaveLength(3);
        expect(new Set(groups), label).toEqual(new Set(['backup', 'primary', null]));
        for (const name of ['primary', 'backup', null]) {
          const group = res.body.data.find((g) => g.group === name);
          expectGroup(
            group,
            rows.filter((r) => r.provider === name),
            `${label} ${name}`,
          );
        }
        expectGroup(res.body.totals, rows, `${label} totals`);
        // The groups add up to the totals, which every other grouping gives too.
        for (const field of [
          'requests',
          'errors',
          'prompt_tokens',
          'estimated_cost_usd',
        ] as const) {
          const sum = res.body.data.reduce((t, g) => t + g[field], 0);
          expect(sum, `${label} ${field}`).toBeCloseTo(res.body.totals[field], 5);
        }
        for (const other of ['day', 'hour', 'model', 'key', 'end_user', 'cache_status']) {
          const byOther = await summary(`group_by=${other}${range ? `&${range}` : ''}`);
          const { estimated_cost_usd, savings, ...rest } = byOther.body.totals;
          expect(res.body.totals, `${label} vs ${other}`).toMatchObject(rest);
          expect(res.body.totals.estimated_cost_usd).toBeCloseTo(estimated_cost_usd, 5);
          expect(res.body.totals.savings.total_usd).toBeCloseTo(savings.total_usd, 5);
        }
      }
      await rollUpPending(gateway.deps.database.db);
    }
  });

  it('filters the summary, the export and the log by provider', async () => {
    const all = await exported('');
    const backupRows = all.filter((r) => r.provider === 'backup');
    const res = await summary('group_by=model&provider=backup');
    expect(res.status, res.text).toBe(200);
    expect(res.body.filter).toMatchObject({ provider: 'backup' });
    expectGroup(res.body.totals, backupRows, 'totals');
    expect(res.body.data.map((g) => [g.group, g.requests])).toEqual([
      ['gpt-4o', 12],
      ['gpt-4o-mini', 4],
    ]);
    const byDay = await summary('group_by=day&provider=primary');
    expectGroup(
      byDay.body.totals,
      all.filter((r) => r.provider === 'primary'),
      'primary by day',
    );
    const exportedBackup = await exported('provider=backup');
    expect(exportedBackup.map((r) => r.id)).toEqual(backupRows.map((r) => r.id));
    const listed = await getJson(
      gateway,
      '/analytics/interactions?provider=backup&limit=1000',
      reader.key,
    );
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data?.map((r) => r.id).sort()).toEqual(backupRows.map((r) => r.id).sort());
    const none = await summary('group_by=provider&provider=nobody');
    expect(none.body).toMatchObject({ data: [], totals: { requests: 0 } });
  });

  it('reads whole days of a provider from the daily rollups', async () => {
    const db = gateway.deps.database.db;
    const day = new Date(T0 + DAY).toISOString().slice(0, 10);
    const next = new Date(T0 + 2 * DAY).toISOString().slice(0, 10);
    const range = `from=${day}T00:00:00Z&to=${next}T00:00:00Z`;
    const before = await summary(`group_by=provider&${range}`);
    // A delta no log row stands for: only a summary that reads the rollups sees it.
    await db.execute(sql`insert into interaction_rollup_pending (day, tenant_id, model,
        upstream_model, status, cache_status, provider, requests, prompt_tokens, completion_tokens,
        tokens_saved_cache, tokens_saved_cache_unsplit, tokens_saved_compression, cached_tokens,
        reasoning_tokens)
      values (${day}::timestamp, (select id from tenants where name = 'acme'), 'gpt-4o', 'gpt-4o',
        200, 'miss', 'ghost', 5, 50, 5, 55, 0, 0, 0, 0)`);
    try {
      const rolled = await summary(`group_by=provider&${range}`);
      expect(rolled.body.data.find((g) => g.group === 'ghost')?.requests).toBe(5);
      expect(rolled.body.totals.requests).toBe(before.body.totals.requests + 5);
      const fromLog = await summary(`group_by=hour&${range}&provider=ghost`);
      expect(fromLog.body.totals.requests).toBe(0);
    } finally {
      await db.execute(sql`delete from interaction_rollup_pending where provider = 'ghost'`);
    }
  });
});
