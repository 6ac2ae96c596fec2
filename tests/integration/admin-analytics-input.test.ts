import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import { recordInteraction } from '../helpers/analytics-seed.js';
import { createCsvReader } from '../helpers/csv-reader.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const ANALYTICS_PATHS = ['/analytics/interactions', '/analytics/summary', '/analytics/export'];

/** Real dates whose zone moves the instant they name out of the years 0001 to 9998 (UTC). */
const TIMES_OUT_OF_RANGE = [
  '0001-01-01T00:00:00+05:00',
  '0001-01-01T04:59:59.999+05:00',
  '0001-01-01T00:00:00+14:00',
  '9998-12-31T23:59:59-14:00',
  '9998-12-31T10:00:00-14:00',
  '9998-12-31T23:00:00-01:00',
];

/** Dates and times that are not a real instant of the years 0001 to 9998. */
const BAD_TIMES = [
  '2026-02-30',
  '2026-02-30T00:00:00Z',
  '2025-02-29',
  '2026-13-01',
  '2026-04-31T12:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T10:60:00Z',
  '2026-01-01T10:00:00+25:00',
  '99999-01-01',
  '9999-01-01',
  '+275760-09-13T00:00:01Z',
  '-000001-01-01T00:00:00Z',
  '0000-01-01',
  '2026-1-1',
  '1',
  '-1',
  'yesterday',
];

function cursorOf(createdAt: string, id = '01a2023b-28a3-7e82-99b7-d0b88c224f3d'): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

describe.each(storageDrivers())('admin and analytics input on $name', (driver) => {
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let deps: Deps;
  let reader: { key: string; id: string; tenantId: string };
  let admin: { key: string; id: string; tenantId: string };

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    target = await driver.create();
    ({ gateway, deps } = await startAnalyticsGateway(target));
    await insertTenant(deps.database.db, 'acme');
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    admin = await gateway.createKey({ tenant: 'acme', scopes: ['admin'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    vi.useRealTimers();
  });

  beforeEach(async () => {
    await deps.database.db.execute(sql`truncate interactions, audit_log`);
  });

  async function send(method: string, path: string, body?: string) {
    const res = await gateway.request(path, {
      method,
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, text: await res.text() };
  }

  it('11: answers 400 naming the parameter for every impossible or malformed date, on every analytics route', async () => {
    for (const path of ANALYTICS_PATHS) {
      for (const param of ['from', 'to']) {
        for (const value of BAD_TIMES) {
          const url = `${path}?${param}=${encodeURIComponent(value)}`;
          const res = await getJson(gateway, url, reader.key);
          expect(res.status, `${url}: ${res.text}`).toBe(400);
          expect(res.body.error, `${url}: ${res.text}`).toMatchObject({
            type: 'invalid_request_error',
            param,
            code: 'invalid_value',
          });
        }
      }
    }
  });

  it('11: answers 400 naming the parameter for a date its zone moves out of the years 0001 to 9998, on every analytics route', async () => {
    for (const path of [...ANALYTICS_PATHS, '/analytics/sessions']) {
      for (const param of ['from', 'to']) {
        for (const value of TIMES_OUT_OF_RANGE) {
          const url = `${path}?${param}=${encodeURIComponent(value)}`;
          const res = await getJson(gateway, url, reader.key);
          expect(res.status, `${url}: ${res.text}`).toBe(400);
          expect(res.body.error, `${url}: ${res.text}`).toMatchObject({
            type: 'invalid_request_error',
            param,
            code: 'invalid_value',
          });
        }
      }
    }
  });

  it('11: reads valid dates exactly, a time without a zone as UTC, and the years 0001 to 9998', async () => {
    for (const [value, iso] of [
      ['2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['2026-02-28T23:59:59.999999Z', '2026-02-28T23:59:59.999Z'],
      ['2026-03-01T01:30:00+01:30', '2026-03-01T00:00:00.000Z'],
      ['2026-03-01 00:00', '2026-03-01T00:00:00.000Z'],
      ['0001-01-01', '0001-01-01T00:00:00.000Z'],
      ['9998-12-31T23:59:59Z', '9998-12-31T23:59:59.000Z'],
      ['0001-01-01T05:00:00+05:00', '0001-01-01T00:00:00.000Z'],
      ['0001-01-01T00:00:00-14:00', '0001-01-01T14:00:00.000Z'],
      ['9998-12-31T09:59:59-14:00', '9998-12-31T23:59:59.000Z'],
      ['9998-12-31T23:59:59+14:00', '9998-12-31T09:59:59.000Z'],
    ]) {
      const res = await getJson(
        gateway,
        `/analytics/summary?from=${encodeURIComponent(value)}`,
        reader.key,
      );
      expect(res.status, `${value}: ${res.text}`).toBe(200);
      expect(res.body.filter, value).toMatchObject({ from: iso });
    }
  });

  it('11: answers an export with a bad date 400 before any byte of the file, never 200 and a cut body', async () => {
    for (const query of ['from=99999-01-01', 'to=0000-01-01', 'from=2026-02-30', 'model=a%00b']) {
      const res = await gateway.request(`/analytics/export?format=csv&${query}`, {
        headers: { authorization: `Bearer ${reader.key}` },
      });
      const text = await res.text();
      expect(res.status, `${query}: ${text}`).toBe(400);
      expect(res.headers.get('content-type'), query).toContain('application/json');
      expect(JSON.parse(text).error.type, query).toBe('invalid_request_error');
    }
  });

  it('11: refuses an impossible cursor timestamp with 400 cursor', async () => {
    for (const createdAt of [
      '2026-02-30 00:00:00+00',
      '2026-13-01 00:00:00+00',
      '99999-01-01 00:00:00+00',
      '2026-01-01 25:00:00+00',
    ]) {
      const res = await getJson(
        gateway,
        `/analytics/interactions?cursor=${cursorOf(createdAt)}`,
        reader.key,
      );
      expect(res.status, `${createdAt}: ${res.text}`).toBe(400);
      expect(res.body.error, res.text).toMatchObject({ param: 'cursor' });
    }
  });

  it('11: refuses NUL characters in analytics filters, admin paths, queries and bodies with 400', async () => {
    for (const path of ANALYTICS_PATHS) {
      for (const param of [
        'key_id',
        'model',
        'provider',
        'end_user',
        'tenant_id',
        'cache_status',
      ]) {
        const res = await getJson(gateway, `${path}?${param}=a%00b`, admin.key);
        expect(res.status, `${path} ${param}: ${res.text}`).toBe(400);
        expect(res.body.error, res.text).toMatchObject({ param, code: 'invalid_value' });
      }
    }
    const calls: [string, string, string | undefined, string | null][] = [
      ['GET', '/admin/keys/a%00b', undefined, null],
      ['GET', '/analytics/interactions/a%00b', undefined, null],
      ['GET', '/admin/keys?tenant=a%00b', undefined, 'tenant'],
      ['PATCH', '/admin/keys/a%00b', '{"name":"x"}', null],
      ['POST', '/admin/keys/a%00b/revoke', undefined, null],
      ['POST', '/admin/tenants/a%00b/forget', undefined, null],
      ['POST', '/admin/keys', '{"name":"a\\u0000b"}', 'name'],
      ['POST', '/admin/keys', '{"name":"x","tenant":"a\\u0000b"}', 'tenant'],
      ['POST', '/admin/keys', '{"name":"x","models":["gpt\\u0000"]}', 'models'],
      ['POST', '/admin/tenants', '{"name":"a\\u0000b"}', 'name'],
    ];
    for (const [method, path, body, param] of calls) {
      const res = await send(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
      expect(JSON.parse(res.text).error, res.text).toMatchObject({
        type: 'invalid_request_error',
        param,
      });
    }
  });

  it('11: answers 400 for expires_in values that overflow, on create and update', async () => {
    const created = await send('POST', '/admin/keys', '{"name":"overflow"}');
    expect(created.status, created.text).toBe(201);
    const id = JSON.parse(created.text).id as string;
    for (const value of ['1e300', '"1e300s"', '"999999999999999d"', '9007199254740993']) {
      for (const [method, path] of [
        ['POST', '/admin/keys'],
        ['PATCH', `/admin/keys/${id}`],
      ] as const) {
        const res = await send(method, path, `{"name":"x","expires_in":${value}}`);
        expect(res.status, `${method} ${value}: ${res.text}`).toBe(400);
        expect(JSON.parse(res.text).error, res.text).toMatchObject({ param: 'expires_in' });
      }
    }
  });

  it('13: exports end-user text a spreadsheet would run as a formula quoted and prefixed with a single quote', async () => {
    const cells = ['=HYPERLINK("http://evil.test","x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'];
    for (const endUser of cells) {
      await recordInteraction(deps, { tenantId: reader.tenantId, keyId: reader.id, endUser });
    }
    await recordInteraction(deps, {
      tenantId: reader.tenantId,
      keyId: reader.id,
      endUser: 'plain-user',
    });
    const res = await gateway.request('/analytics/export?format=csv', {
      headers: { authorization: `Bearer ${reader.key}` },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    for (const cell of cells) {
      expect(text, cell).toContain(`,"'${cell.replaceAll('"', '""')}",`);
    }
    const [header, ...records] = createCsvReader().push(text);
    const column = header?.indexOf('end_user') ?? -1;
    expect(records.map((r) => r[column]).sort()).toEqual(
      [...cells.map((c) => `'${c}`), 'plain-user'].sort(),
    );
  });

  it('15: a key creation the database refuses logs no hash, statement or parameter', async () => {
    await deps.database.db.execute(
      sql.raw(`alter table api_keys add constraint refuse_named check (name <> 'doomed')`),
    );
    try {
      const before = gateway.logs.length;
      const res = await send('POST', '/admin/keys', '{"name":"doomed"}');
      expect(res.status, res.text).toBe(500);
      const lines = gateway.logs.slice(before).join('');
      expect(lines).toContain('unhandled error');
      expect(lines).not.toMatch(/[0-9a-f]{32}/);
      expect(lines).not.toContain('params');
      expect(lines).not.toContain('insert into');
      expect(lines).not.toContain('doomed');
    } finally {
      await deps.database.db.execute(sql.raw('alter table api_keys drop constraint refuse_named'));
    }
  });
});
