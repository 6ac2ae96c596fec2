import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function chat(key: string, clientId: string) {
  return fetch(`${gateway.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'x-request-id': clientId,
    },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe("a client's x-request-id", () => {
  it('never makes two answered requests share a row, across tenants too', async () => {
    const a = await gateway.createKey({ tenant: 'default' });
    const other = await insertTenant(gateway.server.deps.database.db, 'second-tenant');
    const b = await gateway.createKey({ tenant: other.id, name: 'b' });
    const shared = '00000000-0000-0000-0000-000000000000';
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => chat(i % 2 === 0 ? a.key : b.key, shared)),
    );
    const ids = new Set<string>();
    for (const res of answers) {
      expect(res.status, await res.text()).toBe(200);
      expect(res.headers.get('x-client-request-id')).toBe(shared);
      ids.add(res.headers.get('x-request-id') ?? '');
    }
    expect(ids.size).toBe(25);
    await settleLog(gateway.server.deps);
    const db = gateway.server.deps.database.db;
    const rows = await db
      .select({ id: interactions.id })
      .from(interactions)
      .where(eq(interactions.clientRequestId, shared));
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(gateway.server.deps.writer.metrics.duplicateRows).toBe(0);
  });

  it('keeps a sane token and drops one that is too long or not a token', async () => {
    const k = await gateway.createKey({ name: 'c' });
    const sane = await chat(k.key, 'trace-42.alpha:beta');
    expect(sane.headers.get('x-client-request-id')).toBe('trace-42.alpha:beta');
    const long = await chat(k.key, 'x'.repeat(129));
    expect(long.status).toBe(200);
    expect(long.headers.get('x-client-request-id')).toBeNull();
    const spaced = await chat(k.key, 'two words');
    expect(spaced.headers.get('x-client-request-id')).toBeNull();
    await settleLog(gateway.server.deps);
    const db = gateway.server.deps.database.db;
    const [row] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(interactions)
      .where(
        and(eq(interactions.keyId, k.id), eq(interactions.clientRequestId, 'trace-42.alpha:beta')),
      );
    expect(row?.n).toBe(1);
  });
});
