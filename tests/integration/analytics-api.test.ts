import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { listAudit } from '../../src/storage/queries/audit-log.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { forgetTenant } from '../../src/tenants/tenant-admin.js';
import type { RowJson } from '../helpers/analytics-client.js';
import { getJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import { recordInteraction, seedRows } from '../helpers/analytics-seed.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const T0 = new Date('2025-05-01T00:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

describe.each(storageDrivers())('analytics API on $name', (driver) => {
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let deps: Deps;
  let reader: { key: string; id: string; tenantId: string };
  let contentReader: { key: string; id: string; tenantId: string };
  let other: { key: string; id: string; tenantId: string };
  let admin: { key: string; id: string; tenantId: string };
  let chatOnly: { key: string };

  beforeAll(async () => {
    // The gateway's periodic jobs (the rollup fold above all) do not run here: on a slow machine
    // a fold of the seeded rows would hold the database while these tests read it.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    target = await driver.create();
    ({ gateway, deps } = await startAnalyticsGateway(target));
    for (const name of ['acme', 'globex', 'ops', 'initech'])
      await insertTenant(deps.database.db, name);
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    contentReader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:content'] });
    other = await gateway.createKey({ tenant: 'globex', scopes: ['analytics:content'] });
    admin = await gateway.createKey({ tenant: 'ops', scopes: ['admin'] });
    chatOnly = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  beforeEach(async () => {
    await deps.database.db.execute(sql`truncate interactions, audit_log`);
  });

  async function listAll(path: string, key: string): Promise<RowJson[]> {
    const rows: RowJson[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const url: string = cursor ? `${path}${sep}cursor=${cursor}` : path;
      const page = await getJson(gateway, url, key);
      expect(page.status, page.text).toBe(200);
      rows.push(...(page.body.data ?? []));
      cursor = page.body.next_cursor ?? null;
    } while (cursor);
    return rows;
  }

  it('lists only the caller tenant rows, newest first, as snake_case metadata without ciphertext', async () => {
    const mine = await seedRows(deps.database.db, [
      { tenantId: reader.tenantId, createdAt: minutes(1), endUser: 'alice' },
      { tenantId: reader.tenantId, createdAt: minutes(2) },
    ]);
    await seedRows(deps.database.db, [{ tenantId: other.tenantId, createdAt: minutes(3) }]);
    const res = await getJson(gateway, '/analytics/interactions', reader.key);
    expect(res.status, res.text).toBe(200);
    expect(res.body.object).toBe('list');
    expect(res.body.has_more).toBe(false);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.data?.map((r) => r.id)).toEqual([mine[1]?.id, mine[0]?.id]);
    expect(res.body.data?.[1]).toMatchObject({
      created_at: minutes(1).toISOString(),
      tenant_id: reader.tenantId,
      end_user: 'alice',
      model: 'gpt-4o-mini',
      status: 200,
      prompt_tokens: 10,
      completion_tokens: 5,
      has_content: false,
    });
    expect(res.text).not.toMatch(/request_enc|response_enc|requestEnc/);
  });

  it('applies each filter: time range, key, model, status, cache status and end user', async () => {
    const t = reader.tenantId;
    const rows = await seedRows(deps.database.db, [
      { tenantId: t, createdAt: minutes(1), keyId: 'key_a', model: 'gpt-4o', endUser: 'u1' },
      { tenantId: t, createdAt: minutes(2), keyId: 'key_b', status: 429, cacheStatus: 'hit' },
      { tenantId: t, createdAt: minutes(3), keyId: 'key_a', status: 502, cacheStatus: null },
      { tenantId: t, createdAt: minutes(4), endUser: 'u2', cacheStatus: 'semantic-hit' },
    ]);
    const ids = (n: number[]) => n.map((i) => rows[i]?.id);
    const cases: [string, number[]][] = [
      [`from=${minutes(2).toISOString()}&to=${minutes(4).toISOString()}`, [2, 1]],
      ['key_id=key_a', [2, 0]],
      ['model=gpt-4o', [0]],
      ['status=429', [1]],
      ['status=error', [2, 1]],
      ['status=ok', [3, 0]],
      ['cache_status=hit', [1]],
      ['cache_status=none', [2]],
      ['end_user=u2', [3]],
      ['key_id=key_a&status=error', [2]],
    ];
    for (const [query, expected] of cases) {
      const res = await getJson(gateway, `/analytics/interactions?${query}`, reader.key);
      expect(res.status, `${query}: ${res.text}`).toBe(200);
      expect(
        res.body.data?.map((r) => r.id),
        query,
      ).toEqual(ids(expected));
    }
  });

  it('rejects a malformed filter, limit or cursor with 400 naming the parameter', async () => {
    for (const [query, param] of [
      ['from=yesterday', 'from'],
      ['status=teapot', 'status'],
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
    ]) {
      const res = await getJson(gateway, `/analytics/interactions?${query}`, reader.key);
      expect(res.status, res.text).toBe(400);
      expect(res.text).toContain(`"param":"${param}"`);
    }
  });

  it('pages by cursor without gaps or repeats while new rows keep arriving', async () => {
    const t = reader.tenantId;
    const seeded = await seedRows(
      deps.database.db,
      Array.from({ length: 95 }, (_, i) => ({
        tenantId: t,
        // Pairs of rows share a timestamp, so the id must break ties.
        createdAt: minutes(Math.floor(i / 2)),
      })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const url: string = `/analytics/interactions?limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await getJson(gateway, url, reader.key);
      expect(res.status, res.text).toBe(200);
      seen.push(...(res.body.data ?? []).map((r) => r.id));
      cursor = res.body.next_cursor ?? null;
      // Newer and older rows land between pages, as a busy gateway writes them.
      await seedRows(deps.database.db, [
        { tenantId: t, createdAt: minutes(1000 + page) },
        { tenantId: t, createdAt: minutes(-1000 - page) },
      ]);
      page++;
    } while (cursor);
    const original = new Set(seeded.map((r) => r.id));
    const fromOriginal = seen.filter((id) => original.has(id));
    expect(new Set(seen).size, 'no row appears twice').toBe(seen.length);
    expect(fromOriginal.length, 'every row that existed at the start appears').toBe(95);
    expect(page).toBeGreaterThanOrEqual(10);
  });

  it('refuses a key without an analytics scope with 403 insufficient_scope on every route', async () => {
    for (const path of [
      '/analytics/interactions',
      '/analytics/interactions/00000000-0000-7000-8000-000000000001',
      '/analytics/summary',
      '/analytics/export',
    ]) {
      const res = await getJson(gateway, path, chatOnly.key);
      expect(res.status, `${path}: ${res.text}`).toBe(403);
      expect(res.body.error?.code).toBe('insufficient_scope');
    }
  });

  it('never shows another tenant rows through the list, detail, summary or export', async () => {
    const [theirs] = await seedRows(deps.database.db, [
      { tenantId: other.tenantId, createdAt: minutes(1), endUser: 'globex-user', model: 'o3' },
    ]);
    const list = await getJson(gateway, '/analytics/interactions', contentReader.key);
    expect(list.body.data, list.text).toEqual([]);
    const asTenant = await getJson(
      gateway,
      `/analytics/interactions?tenant_id=${other.tenantId}`,
      contentReader.key,
    );
    expect(asTenant.status, asTenant.text).toBe(403);
    const detail = await getJson(
      gateway,
      `/analytics/interactions/${theirs?.id}`,
      contentReader.key,
    );
    const unknown = await getJson(
      gateway,
      '/analytics/interactions/00000000-0000-7000-8000-00000000abcd',
      contentReader.key,
    );
    expect(detail.status, detail.text).toBe(404);
    expect(detail.body.error?.code).toBe(unknown.body.error?.code);
    const summary = await getJson(gateway, '/analytics/summary?group_by=model', contentReader.key);
    expect(summary.body.totals, summary.text).toMatchObject({ requests: 0 });
    expect(summary.body.data).toEqual([]);
    for (const format of ['csv', 'ndjson']) {
      const res = await gateway.request(`/analytics/export?format=${format}`, {
        headers: { authorization: `Bearer ${contentReader.key}` },
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).not.toContain(theirs?.id ?? 'missing');
      expect(text).not.toContain('globex-user');
    }
  });

  it('lets an admin key read any tenant, or one chosen with tenant_id', async () => {
    await seedRows(deps.database.db, [
      { tenantId: reader.tenantId, createdAt: minutes(1) },
      { tenantId: other.tenantId, createdAt: minutes(2) },
    ]);
    const all = await listAll('/analytics/interactions', admin.key);
    expect(new Set(all.map((r) => r.tenant_id))).toEqual(
      new Set([reader.tenantId, other.tenantId]),
    );
    const one = await listAll(`/analytics/interactions?tenant_id=${other.tenantId}`, admin.key);
    expect(one.map((r) => r.tenant_id)).toEqual([other.tenantId]);
  });

  it('lets an admin key name a tenant by name with tenant_id on every route, and answers 400 tenant_id for an unknown one', async () => {
    await seedRows(deps.database.db, [
      { tenantId: reader.tenantId, createdAt: minutes(1), sessionId: 'shared-thread' },
      { tenantId: other.tenantId, createdAt: minutes(2), sessionId: 'shared-thread' },
      { tenantId: other.tenantId, createdAt: minutes(3), sessionId: 'shared-thread' },
    ]);
    const list = await getJson(gateway, '/analytics/interactions?tenant_id=globex', admin.key);
    expect(list.status, list.text).toBe(200);
    expect(
      list.body.data?.map((r) => r.tenant_id),
      list.text,
    ).toEqual([other.tenantId, other.tenantId]);

    const summary = await getJson(gateway, '/analytics/summary?tenant_id=globex', admin.key);
    expect(summary.status, summary.text).toBe(200);
    expect(summary.body.filter, summary.text).toMatchObject({ tenant_id: other.tenantId });
    expect(summary.body.totals, summary.text).toMatchObject({ requests: 2 });

    const exported = await gateway.request('/analytics/export?format=ndjson&tenant_id=globex', {
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const lines = (await exported.text()).trim().split('\n');
    expect(exported.status, lines.join('\n')).toBe(200);
    expect(
      lines.map((l) => (JSON.parse(l) as RowJson).tenant_id),
      lines.join('\n'),
    ).toEqual([other.tenantId, other.tenantId]);

    const sessions = await getJson(gateway, '/analytics/sessions?tenant_id=globex', admin.key);
    expect(sessions.status, sessions.text).toBe(200);
    expect(sessions.body.data, sessions.text).toMatchObject([
      { id: 'shared-thread', tenant_id: other.tenantId, requests: 2 },
    ]);
    const thread = await getJson(
      gateway,
      '/analytics/sessions/shared-thread?tenant_id=acme',
      admin.key,
    );
    expect(thread.status, thread.text).toBe(200);
    expect(thread.body, thread.text).toMatchObject({ tenant_id: reader.tenantId, requests: 1 });

    for (const path of [
      '/analytics/interactions',
      '/analytics/summary',
      '/analytics/export',
      '/analytics/sessions',
      '/analytics/sessions/shared-thread',
    ]) {
      const res = await getJson(gateway, `${path}?tenant_id=nobody-inc`, admin.key);
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.body.error, `${path}: ${res.text}`).toMatchObject({
        type: 'invalid_request_error',
        param: 'tenant_id',
      });
    }
  });

  it('lets a key without admin name its own tenant by name, and refuses any other tenant with 403', async () => {
    await seedRows(deps.database.db, [
      { tenantId: reader.tenantId, createdAt: minutes(1) },
      { tenantId: other.tenantId, createdAt: minutes(2) },
    ]);
    const own = await getJson(gateway, '/analytics/interactions?tenant_id=acme', reader.key);
    expect(own.status, own.text).toBe(200);
    expect(
      own.body.data?.map((r) => r.tenant_id),
      own.text,
    ).toEqual([reader.tenantId]);
    for (const path of [
      '/analytics/interactions',
      '/analytics/summary',
      '/analytics/export',
      '/analytics/sessions',
    ]) {
      for (const tenant of ['globex', other.tenantId, 'nobody-inc']) {
        const res = await getJson(gateway, `${path}?tenant_id=${tenant}`, reader.key);
        expect(res.status, `${path} ${tenant}: ${res.text}`).toBe(403);
        expect(res.body.error?.code, res.text).toBe('insufficient_scope');
      }
    }
  });

  it('shows decrypted content only to a key with analytics:content, and audits each read', async () => {
    const id = await recordInteraction(deps, {
      tenantId: reader.tenantId,
      keyId: reader.id,
      request: { messages: [{ role: 'user', content: 'SECRET-PROMPT-4411' }] },
      response: { choices: [{ message: { content: 'SECRET-ANSWER-9902' } }] },
    });
    const plain = await getJson(gateway, `/analytics/interactions/${id}`, reader.key);
    expect(plain.status, plain.text).toBe(200);
    expect(plain.body).toMatchObject({ id, has_content: true });
    expect(plain.body).not.toHaveProperty('content');
    expect(plain.text).not.toContain('SECRET-');
    expect(await listAudit(deps.database.db)).toEqual([]);

    const full = await getJson(gateway, `/analytics/interactions/${id}`, contentReader.key);
    expect(full.status, full.text).toBe(200);
    expect(full.body.content_status).toBe('ok');
    expect(full.body.content).toEqual({
      request: { messages: [{ role: 'user', content: 'SECRET-PROMPT-4411' }] },
      response: { choices: [{ message: { content: 'SECRET-ANSWER-9902' } }] },
    });
    const audit = await listAudit(deps.database.db);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: contentReader.id,
      tenantId: reader.tenantId,
      action: 'analytics.read_content',
      targetId: id,
    });
  });

  it('answers content null with content_status tenant_forgotten once the tenant is forgotten', async () => {
    const victim = await gateway.createKey({ tenant: 'initech', scopes: ['analytics:content'] });
    const id = await recordInteraction(deps, { tenantId: victim.tenantId, keyId: victim.id });
    await forgetTenant(deps.database.db, victim.tenantId, {
      actor: 'test',
      tenantKeys: deps.tenantKeys,
    });
    // The tenant's own keys are revoked with it: an administrator with content scope reads it.
    const auditor = await gateway.createKey({
      tenant: 'ops',
      scopes: ['admin', 'analytics:content'],
    });
    const res = await getJson(gateway, `/analytics/interactions/${id}`, auditor.key);
    expect(res.status, res.text).toBe(200);
    expect(res.body.content).toBeNull();
    expect(res.body.content_status).toBe('tenant_forgotten');
    expect(res.body.model).toBe('gpt-4o-mini');
  });
});
