import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf } from '../../src/storage/rows-of.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const clock = manualClock(Date.UTC(2030, 0, 1));
let upstream: FakeUpstream;
let gateway: TestApp;
let answers = 0;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback((req, res) =>
    json(200, completionFor(req.body, `Answer ${++answers}`))(req, res),
  );
  // Entries would live 30 days; stored text is kept for one.
  gateway = await createTestApp(
    {
      UPSTREAM_BASE_URL: upstream.url,
      CACHE: 'on',
      CACHE_TTL_S: String(30 * 24 * 60 * 60),
      RETENTION_CONTENT_DAYS: '1',
      RETENTION_ROWS_DAYS: '90',
    },
    { clock },
  );
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function cachedQuestions(): Promise<number> {
  const result = await gateway.deps.database.db.execute(
    sql`select count(*)::int as n from cache_entries`,
  );
  return Number(rowsOf<{ n: number }>(result)[0]?.n);
}

it('keeps a cached answer no longer than retention keeps stored text', async () => {
  const client = gateway.openai((await gateway.createKey()).key);
  const ask = () =>
    client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ZEBRA-7731?' }] })
      .withResponse();

  expect((await ask()).response.headers.get('x-tollgate-cache')).toBe('miss');
  await settleLog(gateway.deps);
  await gateway.deps.cache.flush();
  clock.advance(DAY_MS / 2);
  const hit = await ask();
  expect(hit.response.headers.get('x-tollgate-cache')).toBe('hit');
  expect(hit.data.choices[0]?.message.content).toBe('Answer 1');

  clock.advance(DAY_MS);
  await gateway.deps.retention.run();
  await gateway.deps.cache.maintain();
  expect(await cachedQuestions()).toBe(0);
  const after = await ask();
  expect(after.response.headers.get('x-tollgate-cache')).toBe('miss');
  expect(after.data.choices[0]?.message.content).toBe('Answer 2');
});
