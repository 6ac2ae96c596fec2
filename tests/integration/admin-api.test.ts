import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listApiKeys } from '../../src/storage/queries/api-keys.js';
import type { AuditEntry } from '../../src/storage/queries/audit-log.js';
import { listAudit } from '../../src/storage/queries/audit-log.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

interface KeyJson {
  id: string;
  object: string;
  public_id: string;
  prefix: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  rpm: number | null;
  tpm: number | null;
  max_concurrency: number | null;
  compression: string | null;
  models: string[] | null;
  expires_at: string | null;
  cache_enabled: boolean;
  revoked_at: string | null;
  created_at: string;
  last_used_at: string | null;
  key?: string;
}

interface TenantJson {
  id: string;
  name: string;
  created_at: string;
  forgotten_at: string | null;
  revoked_keys?: number;
}

interface Reply<T> {
  status: number;
  text: string;
  json: T;
}

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

let upstream: FakeUpstream;
let gateway: TestApp;
let adminKey: string;
let adminKeyId: string;
/** Every full key the admin API handed out. */
const issuedKeys: string[] = [];
/** Every response body except the one creation response that must carry the key. */
const seen: string[] = [];

async function call<T = KeyJson>(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string | null; raw?: string } = {},
): Promise<Reply<T>> {
  const key = options.key === undefined ? adminKey : options.key;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await gateway.request(path, {
    method,
    headers,
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  const isCreation = method === 'POST' && path === '/admin/keys' && res.status === 201;
  if (!isCreation) seen.push(text);
  return { status: res.status, text, json: JSON.parse(text) as T };
}

async function createKeyOverHttp(
  body: Record<string, unknown>,
): Promise<KeyJson & { key: string }> {
  const r = await call('POST', '/admin/keys', body);
  expect(r.status, r.text).toBe(201);
  const key = r.json.key ?? '';
  expect(key, r.text).toMatch(/^tg_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/);
  issuedKeys.push(key);
  return { ...r.json, key };
}

async function models(key: string) {
  const res = await gateway.request('/v1/models', {
    headers: { authorization: `Bearer ${key}` },
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, text, json: JSON.parse(text) as { data?: { id: string }[] } };
}

/** Asks a chat question and answers the cache header, once the answer is stored. */
async function cacheOf(key: string, question: string): Promise<string | null> {
  const res = await gateway.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question }] }),
  });
  const text = await res.text();
  seen.push(text);
  expect(res.status, text).toBe(200);
  await settleLog(gateway.deps);
  await gateway.deps.cache.flush();
  return res.headers.get('x-tollgate-cache');
}

async function auditRows(): Promise<AuditEntry[]> {
  return listAudit(gateway.deps.database.db, { limit: 1000 });
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url });
  const admin = await gateway.createKey({ name: 'root admin', scopes: ['admin'] });
  adminKey = admin.key;
  adminKeyId = admin.id;
  issuedKeys.push(admin.key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('access to the admin API', () => {
  it('refuses a request without a key with 401 invalid_api_key', async () => {
    for (const [method, path, body] of [
      ['GET', '/admin/keys', undefined],
      ['POST', '/admin/keys', { name: 'x' }],
      ['GET', '/admin/tenants', undefined],
      ['POST', '/admin/tenants', { name: 'x' }],
    ] as const) {
      const r = await call<ErrorJson>(method, path, body, { key: null });
      expect(r.status, r.text).toBe(401);
      expect(r.json.error.code, r.text).toBe('invalid_api_key');
    }
  });

  it('refuses a key without the admin scope with 403 insufficient_scope and changes nothing', async () => {
    const chat = await gateway.createKey({ name: 'chat only', scopes: ['chat', 'analytics:read'] });
    const before = (await call<{ data: KeyJson[] }>('GET', '/admin/keys')).json.data.length;
    for (const [method, path, body] of [
      ['GET', '/admin/keys', undefined],
      ['POST', '/admin/keys', { name: 'sneaky', scopes: ['admin'] }],
      ['POST', `/admin/keys/${chat.id}/revoke`, undefined],
      ['POST', '/admin/tenants', { name: 'sneaky' }],
    ] as const) {
      const r = await call<ErrorJson>(method, path, body, { key: chat.key });
      expect(r.status, r.text).toBe(403);
      expect(r.json.error.code, r.text).toBe('insufficient_scope');
    }
    const after = await call<{ data: KeyJson[] }>('GET', '/admin/keys');
    expect(after.json.data.length, after.text).toBe(before);
    expect((await models(chat.key)).status).toBe(200);
  });
});

describe('key administration', () => {
  it('creates a key, shown once with its secret, that works on /v1/models at once', async () => {
    const created = await createKeyOverHttp({
      name: 'billing service',
      scopes: ['chat'],
      rpm: 600,
      tpm: 100_000,
      max_concurrency: 4,
      models: ['gpt-4o-mini'],
      expires_in: '30d',
    });
    expect(created).toMatchObject({
      object: 'api_key',
      name: 'billing service',
      scopes: ['chat'],
      rpm: 600,
      tpm: 100_000,
      max_concurrency: 4,
      models: ['gpt-4o-mini'],
      revoked_at: null,
    });
    expect(created.key.startsWith(created.prefix), JSON.stringify(created)).toBe(true);
    const expiresInDays = (Date.parse(created.expires_at ?? '') - Date.now()) / 86_400_000;
    expect(expiresInDays, JSON.stringify(created)).toBeGreaterThan(29.9);
    expect(expiresInDays, JSON.stringify(created)).toBeLessThanOrEqual(30);

    const listed = await models(created.key);
    expect(listed.status, listed.text).toBe(200);
    expect(
      listed.json.data?.map((m) => m.id),
      listed.text,
    ).toEqual(['gpt-4o-mini']);
  });

  it('creates a key with defaults: scope chat, no limits, every model, no expiry, tenant default', async () => {
    const created = await createKeyOverHttp({ name: 'defaults' });
    expect(created, JSON.stringify(created)).toMatchObject({
      scopes: ['chat'],
      rpm: null,
      tpm: null,
      max_concurrency: null,
      compression: null,
      models: null,
      expires_at: null,
      cache_enabled: true,
    });
    const tenants = await call<{ data: TenantJson[] }>('GET', '/admin/tenants');
    const tenant = tenants.json.data.find((t) => t.id === created.tenant_id);
    expect(tenant?.name, tenants.text).toBe('default');
  });

  it('lists keys of every tenant, and only one tenant with ?tenant=', async () => {
    const tenant = await call<TenantJson>('POST', '/admin/tenants', { name: 'list-co' });
    expect(tenant.status, tenant.text).toBe(201);
    const inTenant = await createKeyOverHttp({ name: 'list-co key', tenant: 'list-co' });
    const elsewhere = await createKeyOverHttp({ name: 'elsewhere' });

    const all = await call<{ object: string; data: KeyJson[] }>('GET', '/admin/keys');
    expect(all.status, all.text).toBe(200);
    expect(all.json.object, all.text).toBe('list');
    const ids = all.json.data.map((k) => k.id);
    expect(ids, all.text).toEqual(expect.arrayContaining([inTenant.id, elsewhere.id, adminKeyId]));

    for (const ref of [tenant.json.id, 'list-co']) {
      const one = await call<{ data: KeyJson[] }>(
        'GET',
        `/admin/keys?tenant=${encodeURIComponent(ref)}`,
      );
      expect(one.status, one.text).toBe(200);
      expect(
        one.json.data.map((k) => k.id),
        one.text,
      ).toEqual([inTenant.id]);
    }
  });

  it('reads one key by id or by public id, without its secret', async () => {
    const created = await createKeyOverHttp({ name: 'readable' });
    for (const ref of [created.id, created.public_id]) {
      const r = await call('GET', `/admin/keys/${ref}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json, r.text).toMatchObject({ id: created.id, name: 'readable' });
      expect(r.json.key, r.text).toBeUndefined();
    }
  });

  it('updates name, scopes, limits, models and expiry; null clears a limit; the change applies at once', async () => {
    const created = await createKeyOverHttp({
      name: 'changing',
      rpm: 10,
      models: ['gpt-4o-mini'],
    });
    expect((await models(created.key)).json.data?.map((m) => m.id)).toEqual(['gpt-4o-mini']);

    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const changed = await call('PATCH', `/admin/keys/${created.id}`, {
      name: 'changed',
      scopes: ['chat', 'analytics:read'],
      rpm: null,
      tpm: 5000,
      max_concurrency: 2,
      models: ['gpt-4o', 'gpt-4o-mini'],
      expires_at: expiresAt,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json, changed.text).toMatchObject({
      name: 'changed',
      scopes: ['chat', 'analytics:read'],
      rpm: null,
      tpm: 5000,
      max_concurrency: 2,
      models: ['gpt-4o', 'gpt-4o-mini'],
      expires_at: expiresAt,
    });
    const listed = await models(created.key);
    expect(
      listed.json.data?.map((m) => m.id),
      listed.text,
    ).toEqual(['gpt-4o', 'gpt-4o-mini']);

    const cleared = await call('PATCH', `/admin/keys/${created.id}`, {
      models: null,
      expires_at: null,
    });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.json, cleared.text).toMatchObject({ models: null, expires_at: null, tpm: 5000 });
  });

  it("turns a key's cache off and on again: a repeated question is bypass, then a hit once cache_enabled is true", async () => {
    const created = await createKeyOverHttp({ name: 'nocache', cache_enabled: false });
    expect(created.cache_enabled, JSON.stringify(created)).toBe(false);
    const question = 'What does a cache-less key hear twice?';
    expect(await cacheOf(created.key, question)).toBe('bypass');
    expect(await cacheOf(created.key, question)).toBe('bypass');

    const read = await call('GET', `/admin/keys/${created.id}`);
    expect(read.json.cache_enabled, read.text).toBe(false);
    const listed = await call<{ data: KeyJson[] }>('GET', '/admin/keys');
    const inList = listed.json.data.find((k) => k.id === created.id);
    expect(inList?.cache_enabled, listed.text).toBe(false);

    const on = await call('PATCH', `/admin/keys/${created.id}`, { cache_enabled: true });
    expect(on.status, on.text).toBe(200);
    expect(on.json.cache_enabled, on.text).toBe(true);
    expect(await cacheOf(created.key, question)).toBe('miss');
    expect(await cacheOf(created.key, question)).toBe('hit');

    const off = await call('PATCH', `/admin/keys/${created.id}`, { cache_enabled: false });
    expect(off.json.cache_enabled, off.text).toBe(false);
    expect(await cacheOf(created.key, question)).toBe('bypass');
  });

  it('revokes a key, which stops working on this process right away', async () => {
    const created = await createKeyOverHttp({ name: 'short-lived', models: ['gpt-4o-mini'] });
    expect((await models(created.key)).status).toBe(200);

    const revoked = await call('POST', `/admin/keys/${created.id}/revoke`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json.revoked_at, revoked.text).not.toBeNull();

    const refused = await models(created.key);
    expect(refused.status, refused.text).toBe(401);
    expect(refused.text).toContain('revoked');

    const again = await call('POST', `/admin/keys/${created.id}/revoke`);
    expect(again.status, again.text).toBe(200);
    expect(again.json.revoked_at, again.text).toBe(revoked.json.revoked_at);
  });

  it('answers 404 for an unknown key id on read, update and revoke', async () => {
    for (const [method, path, body] of [
      ['GET', '/admin/keys/key_AAAAAAAAAAAA', undefined],
      ['PATCH', '/admin/keys/key_AAAAAAAAAAAA', { rpm: 5 }],
      ['POST', '/admin/keys/AAAAAAAAAAAA/revoke', undefined],
    ] as const) {
      const r = await call<ErrorJson>(method, path, body);
      expect(r.status, r.text).toBe(404);
      expect(r.json.error.type, r.text).toBe('invalid_request_error');
    }
  });
});

describe('request validation', () => {
  it.each([
    ['a missing name', {}, 'name'],
    ['an empty name', { name: '  ' }, 'name'],
    ['an unknown field', { name: 'x', colour: 'blue' }, 'colour'],
    ['a camelCase field', { name: 'x', maxConcurrency: 2 }, 'maxConcurrency'],
    ['a negative rpm', { name: 'x', rpm: -1 }, 'rpm'],
    ['an rpm given as text', { name: 'x', rpm: '60' }, 'rpm'],
    ['a fractional tpm', { name: 'x', tpm: 1.5 }, 'tpm'],
    ['a zero max_concurrency', { name: 'x', max_concurrency: 0 }, 'max_concurrency'],
    ['an unknown scope', { name: 'x', scopes: ['chat', 'root'] }, 'scopes[1]'],
    ['an empty scope list', { name: 'x', scopes: [] }, 'scopes'],
    ['models that are not a list', { name: 'x', models: 'gpt-4o' }, 'models'],
    ['an empty model name', { name: 'x', models: [''] }, 'models[0]'],
    ['a bad duration', { name: 'x', expires_in: 'soon' }, 'expires_in'],
    ['a date that is not ISO', { name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
    ['an expiry in the past', { name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    [
      'both expires_in and expires_at',
      { name: 'x', expires_in: '1d', expires_at: '2099-01-01T00:00:00Z' },
      'expires_in',
    ],
    ['an unknown tenant', { name: 'x', tenant: 'nobody-inc' }, 'tenant'],
    ['a cache_enabled given as text', { name: 'x', cache_enabled: 'false' }, 'cache_enabled'],
    ['a null cache_enabled', { name: 'x', cache_enabled: null }, 'cache_enabled'],
  ])('rejects a key creation with %s: 400 with the param', async (_name, body, param) => {
    const r = await call<ErrorJson>('POST', '/admin/keys', body);
    expect(r.status, r.text).toBe(400);
    expect(r.json.error, r.text).toMatchObject({ type: 'invalid_request_error', param });
    expect(r.json.error.message.length, r.text).toBeGreaterThan(10);
  });

  it.each([
    ['malformed JSON', '{"name": '],
    ['an array', '[1]'],
    ['an empty body', ''],
  ])('rejects a key creation whose body is %s: 400 without a param', async (_name, raw) => {
    const r = await call<ErrorJson>('POST', '/admin/keys', undefined, { raw });
    expect(r.status, r.text).toBe(400);
    expect(r.json.error, r.text).toMatchObject({ type: 'invalid_request_error', param: null });
  });

  it('rejects a key update with a bad, unknown or empty change, and leaves the key as it was', async () => {
    const created = await createKeyOverHttp({ name: 'steady', rpm: 7 });
    for (const [body, param] of [
      [{ rpm: 0 }, 'rpm'],
      [{ tenant: 'other' }, 'tenant'],
      [{ scopes: ['nope'] }, 'scopes[0]'],
      [{ cache_enabled: 0 }, 'cache_enabled'],
      [{}, null],
    ] as const) {
      const r = await call<ErrorJson>('PATCH', `/admin/keys/${created.id}`, body);
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.param, r.text).toBe(param);
    }
    const after = await call('GET', `/admin/keys/${created.id}`);
    expect(after.json, after.text).toMatchObject({
      rpm: 7,
      tenant_id: created.tenant_id,
      cache_enabled: true,
    });
  });

  it('rejects a tenant without a name, with an id-like name, or with a taken name', async () => {
    for (const [body, status, param] of [
      [{}, 400, 'name'],
      [{ name: 'ten_123' }, 400, 'name'],
      [{ name: 'x', region: 'eu' }, 400, 'region'],
    ] as const) {
      const r = await call<ErrorJson>('POST', '/admin/tenants', body);
      expect(r.status, r.text).toBe(status);
      expect(r.json.error.param, r.text).toBe(param);
    }
    expect((await call('POST', '/admin/tenants', { name: 'twice-co' })).status).toBe(201);
    const dup = await call<ErrorJson>('POST', '/admin/tenants', { name: 'twice-co' });
    expect(dup.status, dup.text).toBe(409);
    expect(dup.json.error, dup.text).toMatchObject({ code: 'tenant_exists', param: 'name' });
  });
});

describe('tenant administration', () => {
  it('creates and lists tenants', async () => {
    const created = await call<TenantJson>('POST', '/admin/tenants', { name: 'acme' });
    expect(created.status, created.text).toBe(201);
    expect(created.json, created.text).toMatchObject({ name: 'acme', forgotten_at: null });
    expect(created.json.id, created.text).toMatch(/^ten_/);
    expect(Number.isNaN(Date.parse(created.json.created_at)), created.text).toBe(false);

    const listed = await call<{ object: string; data: TenantJson[] }>('GET', '/admin/tenants');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.object).toBe('list');
    expect(listed.json.data, listed.text).toContainEqual(created.json);
  });

  it('forgets a tenant: its keys stop working at once and it takes no new keys', async () => {
    const tenant = await call<TenantJson>('POST', '/admin/tenants', { name: 'leaving-co' });
    const member = await createKeyOverHttp({ name: 'member', tenant: tenant.json.id });
    expect((await models(member.key)).status).toBe(200);

    const forgotten = await call<TenantJson>('POST', `/admin/tenants/${tenant.json.id}/forget`);
    expect(forgotten.status, forgotten.text).toBe(200);
    expect(forgotten.json, forgotten.text).toMatchObject({ id: tenant.json.id, revoked_keys: 1 });
    expect(forgotten.json.forgotten_at, forgotten.text).not.toBeNull();

    expect((await models(member.key)).status).toBe(401);
    const again = await call<ErrorJson>('POST', `/admin/tenants/${tenant.json.id}/forget`);
    expect(again.status, again.text).toBe(409);
    const refused = await call<ErrorJson>('POST', '/admin/keys', {
      name: 'late',
      tenant: tenant.json.id,
    });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json.error.param, refused.text).toBe('tenant');
  });

  it('refuses to forget the tenant of the key making the request, which would lock its holder out', async () => {
    const own = await call<KeyJson>('GET', `/admin/keys/${adminKeyId}`);
    expect(own.status, own.text).toBe(200);
    const r = await call<ErrorJson>('POST', `/admin/tenants/${own.json.tenant_id}/forget`);
    expect(r.status, r.text).toBe(409);
    expect(r.json.error, r.text).toMatchObject({
      type: 'invalid_request_error',
      code: 'tenant_in_use',
    });
    expect(r.json.error.message).toContain("'tollgate tenants forget'");
    // Nothing was forgotten: the key still administers, its tenant still takes keys.
    const listed = await call<{ data: TenantJson[] }>('GET', '/admin/tenants');
    const tenant = listed.json.data.find((t) => t.id === own.json.tenant_id);
    expect(tenant?.forgotten_at, listed.text).toBeNull();
  });

  it('answers 404 when forgetting an unknown tenant', async () => {
    const r = await call<ErrorJson>('POST', '/admin/tenants/ten_nobody/forget');
    expect(r.status, r.text).toBe(404);
  });
});

describe('audit and secrecy', () => {
  it('writes an audit row for each admin action, with the acting key as actor and no secret', async () => {
    const tenant = await call<TenantJson>('POST', '/admin/tenants', { name: 'audited-co' });
    const key = await createKeyOverHttp({ name: 'audited', tenant: 'audited-co', rpm: 3 });
    await call('PATCH', `/admin/keys/${key.id}`, {
      rpm: 9,
      models: ['gpt-4o-mini'],
      cache_enabled: false,
    });
    await call('POST', `/admin/keys/${key.id}/revoke`);
    await call('POST', `/admin/tenants/${tenant.json.id}/forget`);

    const rows = await auditRows();
    const find = (action: string, targetId: string) =>
      rows.find((r) => r.action === action && r.targetId === targetId);
    const dump = JSON.stringify(rows);
    for (const [action, targetId] of [
      ['tenant.create', tenant.json.id],
      ['key.create', key.id],
      ['key.update', key.id],
      ['key.revoke', key.id],
      ['tenant.forget', tenant.json.id],
    ]) {
      const row = find(action, targetId);
      expect(row, `${action} ${targetId} in ${dump}`).toBeDefined();
      expect(row?.actor, dump).toBe(adminKeyId);
      expect(row?.tenantId, dump).toBe(tenant.json.id);
    }
    expect(find('key.update', key.id)?.details, dump).toEqual({
      changes: { rpm: 9, allowedModels: ['gpt-4o-mini'], cacheEnabled: false },
    });
    expect(find('key.create', key.id)?.details, dump).toMatchObject({
      name: 'audited',
      rpm: 3,
      cacheEnabled: true,
    });
  });

  it('never shows a key secret or its hash in a list or read response, a log line or an audit row', async () => {
    const listed = await call<{ data: KeyJson[] }>('GET', '/admin/keys');
    for (const k of listed.json.data) await call('GET', `/admin/keys/${k.id}`);
    const hashes = (await listApiKeys(gateway.deps.database.db)).map((r) => r.secretHash);
    const audit = JSON.stringify(await auditRows());
    const logs = gateway.logs.join('');
    const responses = seen.join('\n');
    expect(issuedKeys.length).toBeGreaterThan(10);
    expect(logs.length, 'the gateway wrote log lines').toBeGreaterThan(0);
    for (const key of issuedKeys) {
      const secret = key.slice(16);
      for (const [where, text] of [
        ['responses', responses],
        ['logs', logs],
        ['audit_log', audit],
      ] as const) {
        expect(text.includes(secret), `secret of ${key.slice(0, 16)}… found in ${where}`).toBe(
          false,
        );
      }
    }
    for (const hash of hashes) {
      expect(responses.includes(hash), `a secret hash in the responses: ${hash}`).toBe(false);
      expect(audit.includes(hash), `a secret hash in audit_log: ${hash}`).toBe(false);
    }
  });
});
