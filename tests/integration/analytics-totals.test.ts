import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson } from '../helpers/analytics-client.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2031, 0, 10, 6, 0, 0);
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'house-model'];

type Totals = Record<string, number | null>;
interface SummaryBody {
  data: (Totals & { group: string })[];
  totals: Totals;
}

describe('summary numbers against the exported rows', () => {
  const clock = manualClock(T0);
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let reader: { key: string };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) => {
      const text = JSON.stringify(req.body.messages);
      if (text.includes('fail')) return json(500, { error: { message: 'down' } })(req, res);
      // A stream that ends before its usage chunk: its row's tokens are the gateway's estimate.
      if (req.body.stream === true) return sse(['Hello', ' there'], { endAfter: 4 })(req, res);
      const body = completionFor(req.body, `answer to ${text.length}`);
      const usage = {
        prompt_tokens: 1_000 + text.length,
        completion_tokens: 37 + (text.length % 11),
        total_tokens: 0,
        prompt_tokens_details: { cached_tokens: text.length % 3 === 0 ? 512 : 0 },
      };
      return json(200, { ...body, usage })(req, res);
    });
    gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'on' }, { clock });
    await insertTenant(gateway.deps.database.db, 'acme');
    const chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    const client = gateway.openai(chat.key);
    // Five days, eight requests a day five hours apart: misses, each asked again (cache hits),
    // failures, and streams cut before their usage (estimated tokens).
    for (let i = 0; i < 40; i++) {
      const question = i % 7 === 6 ? `fail ${i}` : `question ${Math.floor(i / 2)}`;
      const request = {
        model: MODELS[Math.floor(i / 2) % 3] ?? 'gpt-4o',
        messages: [{ role: 'user' as const, content: `${question}   with  spaces` }],
        user: `user-${i % 4}`,
      };
      if (i % 5 === 2) {
        await (async () => {
          for await (const _chunk of await client.chat.completions.create({
            ...request,
            stream: true,
          }));
        })().catch(() => undefined);
      } else await client.chat.completions.create(request).catch(() => undefined);
      clock.advance(5 * 3_600_000 + 17_000);
    }
    await settleLog(gateway.deps);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function exported(query: string): Promise<Record<string, number | string | null>[]> {
    const res = await gateway.request(`/analytics/export?format=ndjson&${query}`, {
      headers: { authorization: `Bearer ${reader.key}` },
    });
    expect(res.status).toBe(200);
    return (await res.text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }

  const sum = (rows: Record<string, unknown>[], field: string) =>
    rows.reduce((total, r) => total + (typeof r[field] === 'number' ? r[field] : 0), 0);

  it('totals what the exported rows add up to, on whole days and partial ones, by every grouping', async () => {
    for (const range of [
      '',
      `from=${new Date(T0 + 3 * 3_600_000).toISOString()}&to=${new Date(T0 + 3 * DAY + 7_200_000).toISOString()}`,
    ]) {
      const rows = await exported(range);
      const hits = rows.filter(
        (r) => r.cache_status === 'hit' || r.cache_status === 'semantic-hit',
      );
      expect(hits.length, 'some answers come from the cache').toBeGreaterThan(0);
      const estimated = rows.filter((r) => (r.usage_estimated as unknown) === true);
      expect(estimated.length, 'some token counts are estimates').toBeGreaterThan(0);
      const expected = {
        requests: rows.length,
        errors: rows.filter((r) => Number(r.status) >= 400).length,
        cache_hits: hits.length,
        prompt_tokens: sum(rows, 'prompt_tokens'),
        completion_tokens: sum(rows, 'completion_tokens'),
        cached_tokens: sum(rows, 'cached_tokens'),
        tokens_saved_compression: sum(rows, 'tokens_saved_compression'),
        usage_estimated_requests: estimated.length,
        usage_estimated_tokens:
          sum(estimated, 'prompt_tokens') + sum(estimated, 'completion_tokens'),
      };
      for (const groupBy of [
        'day',
        'hour',
        'model',
        'key',
        'end_user',
        'cache_status',
        'provider',
      ]) {
        const res = await getJson<SummaryBody>(
          gateway,
          `/analytics/summary?group_by=${groupBy}${range ? `&${range}` : ''}`,
          reader.key,
        );
        expect(res.status, res.text).toBe(200);
        expect(res.body.totals, `${groupBy} ${range}`).toMatchObject(expected);
        for (const field of [
          'requests',
          'prompt_tokens',
          'estimated_cost_usd',
          'usage_estimated_requests',
          'usage_estimated_tokens',
        ]) {
          const groups = res.body.data.reduce((t, g) => t + Number(g[field]), 0);
          expect(groups, `${groupBy} ${field}`).toBeCloseTo(Number(res.body.totals[field]), 5);
        }
      }
    }
  });
});
