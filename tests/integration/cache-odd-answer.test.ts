import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('12: an upstream answer without a string model', () => {
  it('12: is answered and recorded on the miss and on the cache hit that replays it', async () => {
    upstream.setFallback((req, res) =>
      json(200, { ...completionFor(req.body, 'no model here'), model: 42 })(req, res),
    );
    const { key } = await gateway.createKey({ name: 'odd-model' });
    const ask = async () => {
      const res = await gateway.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'an answer without a model' }],
        }),
      });
      const text = await res.text();
      await settleLog(gateway.deps);
      return { status: res.status, text, cache: res.headers.get('x-tollgate-cache') };
    };
    const miss = await ask();
    expect(miss.status, miss.text).toBe(200);
    expect(miss.cache).toBe('miss');
    const hit = await ask();
    expect(hit.status, hit.text).toBe(200);
    expect(hit.cache, 'the second ask is served from the cache').toBe('hit');
    expect(hit.text).toContain('no model here');
    const rows = await gateway.deps.database.db
      .select({ cacheStatus: interactions.cacheStatus, status: interactions.status })
      .from(interactions)
      .orderBy(sql`created_at, id`);
    expect(rows.map((r) => r.status)).toEqual([200, 200]);
    expect(rows.map((r) => r.cacheStatus)).toEqual(['miss', 'hit']);
  });
});
