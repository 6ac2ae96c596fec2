import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import type { AnalyticsBody } from '../helpers/analytics-client.js';
import { getJson } from '../helpers/analytics-client.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const T0 = Date.UTC(2031, 5, 1, 12, 0, 0);
const HEADER = 'x-tollgate-session-id';

type SessionsPage = AnalyticsBody & { data?: { id: string; requests: number }[] };

describe('sessions paging while sessions stay active', () => {
  const clock = manualClock(T0);
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let chat: { key: string };
  let reader: { key: string };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback(ok);
    gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' }, { clock });
    await insertTenant(gateway.deps.database.db, 'acme');
    chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function turn(session: string): Promise<void> {
    await gateway
      .openai(chat.key)
      .chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `turn of ${session}` }] },
        { headers: { [HEADER]: session } },
      );
    await settleLog(gateway.deps);
    clock.advance(1_000);
  }

  async function page(cursor: string | null | undefined): Promise<SessionsPage> {
    const url = `/analytics/sessions?limit=1${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await getJson<SessionsPage>(gateway, url, reader.key);
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  it('lists every session once when a session not yet listed gets new activity between pages', async () => {
    for (const session of ['oldest', 'middle', 'newest']) await turn(session);
    const first = await page(undefined);
    expect(first.data?.map((s) => s.id)).toEqual(['newest']);
    // The oldest session, not listed yet, becomes the most recently active one; a new one starts.
    await turn('oldest');
    await turn('started-later');
    const seen = [...(first.data ?? [])];
    let cursor = first.next_cursor;
    while (cursor) {
      const next = await page(cursor);
      seen.push(...(next.data ?? []));
      cursor = next.next_cursor;
    }
    // Paging reads the sessions as they were at the first page: each once, with its numbers then.
    expect(seen.map((s) => [s.id, s.requests])).toEqual([
      ['newest', 1],
      ['middle', 1],
      ['oldest', 1],
    ]);
    // A listing started now shows the later activity.
    const again = await getJson<SessionsPage>(gateway, '/analytics/sessions', reader.key);
    expect(again.body.data?.map((s) => [s.id, s.requests])).toEqual([
      ['started-later', 1],
      ['oldest', 2],
      ['newest', 1],
      ['middle', 1],
    ]);
  });
});
