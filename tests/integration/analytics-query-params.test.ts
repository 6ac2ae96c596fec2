import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { getJson } from '../helpers/analytics-client.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const SESSION = 'params-check';

/** Every analytics route, with the parameters it takes besides the filters. */
const LIST_ROUTES = [
  '/analytics/interactions',
  '/analytics/summary',
  '/analytics/export',
  '/analytics/sessions',
  `/analytics/sessions/${SESSION}`,
];

describe('analytics query parameters', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let reader: { key: string };
  let rowId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback(ok);
    gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
    await insertTenant(gateway.deps.database.db, 'acme');
    const chat = await gateway.createKey({ tenant: 'acme', scopes: ['chat'] });
    reader = await gateway.createKey({ tenant: 'acme', scopes: ['analytics:read'] });
    const client = gateway.openai(chat.key, { headers: { 'x-tollgate-session-id': SESSION } });
    for (const model of ['gpt-4o', 'gpt-4o-mini']) {
      const { response } = await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: `hello ${model}` }] })
        .withResponse();
      rowId = response.headers.get('x-request-id') ?? '';
    }
    await settleLog(gateway.deps);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function expect400(path: string, param: string, code: string) {
    const res = await getJson(gateway, path, reader.key);
    expect(res.status, `${path}: ${res.text}`).toBe(400);
    expect(res.body.error, `${path}: ${res.text}`).toMatchObject({
      type: 'invalid_request_error',
      param,
      code,
    });
    expect(res.body.error?.message).toContain(`'${param}'`);
  }

  it('refuses a misspelt or unknown parameter with 400 naming it, instead of ignoring the filter', async () => {
    const all = await getJson(gateway, '/analytics/interactions', reader.key);
    expect(all.body.data).toHaveLength(2);
    for (const path of LIST_ROUTES) {
      await expect400(`${path}?modle=gpt-4o`, 'modle', 'unknown_parameter');
      await expect400(`${path}?model=gpt-4o&tenant=acme`, 'tenant', 'unknown_parameter');
    }
    // A parameter of another route is unknown here too.
    await expect400('/analytics/interactions?group_by=model', 'group_by', 'unknown_parameter');
    await expect400('/analytics/summary?format=csv', 'format', 'unknown_parameter');
    await expect400('/analytics/export?limit=5', 'limit', 'unknown_parameter');
    await expect400(`/analytics/interactions/${rowId}?model=x`, 'model', 'unknown_parameter');
    // The parameters each route documents are still taken.
    for (const path of [
      '/analytics/interactions?limit=1&model=gpt-4o&status=ok&cache_status=none&session=params-check',
      '/analytics/summary?group_by=model&from=2020-01-01&to=2999-01-01&end_user=x&key_id=k',
      '/analytics/export?format=ndjson&tenant_id=acme',
      '/analytics/sessions?limit=5',
      `/analytics/sessions/${SESSION}?limit=1`,
    ]) {
      const res = await getJson(gateway, path, reader.key);
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
  });

  it('refuses a parameter given twice with 400 naming it, whichever value comes first', async () => {
    for (const path of LIST_ROUTES) {
      await expect400(`${path}?model=gpt-4o&model=nothing`, 'model', 'invalid_value');
      await expect400(`${path}?model=nothing&model=gpt-4o`, 'model', 'invalid_value');
      await expect400(`${path}?from=2020-01-01&from=2021-01-01`, 'from', 'invalid_value');
    }
    await expect400('/analytics/interactions?limit=1&limit=1', 'limit', 'invalid_value');
  });

  it("refuses a range whose 'to' is before its 'from' with 400 naming 'to'; an empty range answers nothing", async () => {
    for (const path of LIST_ROUTES) {
      await expect400(`${path}?from=2030-01-01&to=2020-01-01`, 'to', 'invalid_value');
      await expect400(
        `${path}?from=2025-01-01T10:00:00%2B02:00&to=2025-01-01T07:59:59Z`,
        'to',
        'invalid_value',
      );
    }
    const empty = await getJson(
      gateway,
      '/analytics/interactions?from=2025-01-01T10:00:00%2B02:00&to=2025-01-01T08:00:00Z',
      reader.key,
    );
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body.data).toEqual([]);
  });

  it('refuses an unknown cache_status with 400 instead of answering no rows', async () => {
    for (const path of LIST_ROUTES) {
      await expect400(`${path}?cache_status=hits`, 'cache_status', 'invalid_value');
    }
    const counts: Record<string, number> = {};
    for (const value of ['hit', 'semantic-hit', 'miss', 'bypass', 'none']) {
      const res = await getJson(
        gateway,
        `/analytics/interactions?cache_status=${value}`,
        reader.key,
      );
      expect(res.status, res.text).toBe(200);
      counts[value] = res.body.data?.length ?? -1;
    }
    // With CACHE=off every request bypasses the cache.
    expect(counts).toEqual({ hit: 0, 'semantic-hit': 0, miss: 0, bypass: 2, none: 0 });
  });
});
