import { sql } from 'drizzle-orm';
import OpenAI, { BadRequestError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/storage/queries/audit-log.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import type { AnalyticsBody } from '../helpers/analytics-client.js';
import { getJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import { seedRows } from '../helpers/analytics-seed.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { TEST_APP_ORIGIN } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

const T0 = Date.UTC(2031, 2, 4, 9, 0, 0);
const SESSION = 'support-chat.42';
const HEADER = 'x-tollgate-session-id';
const QUESTIONS = ['Where is my parcel?', 'It was sent on Monday.', 'Thanks, and the refund?'];

/** Answers chat completions with the turn number, and embeddings with one small vector. */
const answers: UpstreamHandler = (req, res) => {
  if (req.path.endsWith('/embeddings')) {
    return json(200, {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.25] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    })(req, res);
  }
  const messages = Array.isArray(req.body.messages) ? req.body.messages : [];
  const turn = messages.filter((m) => (m as { role?: string }).role === 'user').length;
  return json(200, completionFor(req.body, `Answer ${turn}`))(req, res);
};

interface SessionJson {
  id: string;
  tenant_id: string;
  first_at: string;
  last_at: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_cost_usd: number;
  unpriced_requests: number;
  models: string[];
  key_ids: string[];
  end_users: string[];
}

/** GET /analytics/sessions/:id as far as these tests read it. */
interface ThreadBody extends Partial<SessionJson> {
  object?: string;
  has_more?: boolean;
  next_cursor?: string | null;
  data?: {
    id: string;
    created_at: string;
    endpoint: string | null;
    content?: {
      request: { messages?: { role: string; content: string }[] };
      response: { choices?: { message: { content: string } }[] };
    } | null;
    content_status?: string;
    [field: string]: unknown;
  }[];
}

let upstream: FakeUpstream;
let gateway: TestApp;
let target: TestDatabaseTarget;
const clock = manualClock(T0);
let chatKey: { key: string; id: string; tenantId: string };
let reader: { key: string };
let contentReader: { key: string; id: string };
let otherTenant: { key: string };
let otherChat: { key: string };
let admin: { key: string };

/** Three turns of one conversation, each sent with the whole history; returns the row ids. */
async function threeTurns(client: OpenAI): Promise<string[]> {
  const history: ChatCompletionMessageParam[] = [{ role: 'system', content: 'You track parcels.' }];
  const ids: string[] = [];
  for (const question of QUESTIONS) {
    history.push({ role: 'user', content: question });
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: history })
      .withResponse();
    expect(response.headers.get(HEADER)).toBe(SESSION);
    ids.push(response.headers.get('x-request-id') ?? '');
    history.push({ role: 'assistant', content: data.choices[0]?.message.content ?? '' });
    clock.advance(60_000);
  }
  await settleLog(gateway.deps);
  return ids;
}

describe.each(storageDrivers())('sessions on $name', (driver) => {
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback(answers);
    target = await driver.create();
    ({ gateway } = await startAnalyticsGateway(
      target,
      { UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' },
      { clock },
    ));
    const db = gateway.deps.database.db;
    await insertTenant(db, 'acme');
    await insertTenant(db, 'globex');
    chatKey = await gateway.createKey({ name: 'support-bot', tenant: 'acme', scopes: ['chat'] });
    reader = await gateway.createKey({ name: 'r', tenant: 'acme', scopes: ['analytics:read'] });
    contentReader = await gateway.createKey({
      name: 'c',
      tenant: 'acme',
      scopes: ['analytics:content'],
    });
    otherTenant = await gateway.createKey({
      name: 'g',
      tenant: 'globex',
      scopes: ['analytics:content'],
    });
    otherChat = await gateway.createKey({ name: 'gc', tenant: 'globex', scopes: ['chat'] });
    admin = await gateway.createKey({ name: 'ops', tenant: 'default', scopes: ['admin'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.drop();
    await upstream?.close();
  });

  beforeEach(async () => {
    await gateway.deps.database.db.execute(sql`truncate interactions, audit_log`);
    clock.set(T0);
    upstream.requests.length = 0;
  });

  it('counts as unpriced only the requests of an unpriced model that spent tokens', async () => {
    const at = (minute: number) => new Date(T0 + minute * 60_000);
    const unspent = { promptTokens: null, completionTokens: null, cacheStatus: null };
    await seedRows(gateway.deps.database.db, [
      { tenantId: chatKey.tenantId, createdAt: at(0), sessionId: 'house', model: 'house-model' },
      {
        tenantId: chatKey.tenantId,
        createdAt: at(1),
        sessionId: 'house',
        model: 'house-model',
        status: 400,
        ...unspent,
      },
      {
        tenantId: chatKey.tenantId,
        createdAt: at(2),
        sessionId: 'house',
        model: 'house-model',
        status: 502,
        ...unspent,
      },
    ]);
    const list = await getJson<AnalyticsBody & { data?: SessionJson[] }>(
      gateway,
      '/analytics/sessions',
      reader.key,
    );
    expect(list.status, list.text).toBe(200);
    expect(list.body.data?.[0]).toMatchObject({
      id: 'house',
      requests: 3,
      errors: 2,
      unpriced_requests: 1,
    });
  });

  it('joins three chat completions to one session, listed with counts, tokens and cost', async () => {
    const ids = await threeTurns(gateway.openai(chatKey.key, { headers: { [HEADER]: SESSION } }));
    const plain = gateway.openai(chatKey.key);
    await plain.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Another matter' }] },
      { headers: { [HEADER]: 'billing:7' } },
    );
    clock.advance(60_000);
    await plain.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'No session here' }],
    });
    await settleLog(gateway.deps);

    const list = await getJson<AnalyticsBody & { data?: SessionJson[] }>(
      gateway,
      '/analytics/sessions',
      reader.key,
    );
    expect(list.status, list.text).toBe(200);
    expect(list.body.data?.map((s) => s.id)).toEqual(['billing:7', SESSION]);
    expect(list.body.data?.[1]).toEqual({
      object: 'analytics.session',
      id: SESSION,
      tenant_id: chatKey.tenantId,
      first_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 120_000).toISOString(),
      requests: 3,
      errors: 0,
      prompt_tokens: 36,
      completion_tokens: 15,
      // gpt-4o-mini at $0.15 / $0.60 per million: 3 × (12 × 0.15 + 5 × 0.6) / 1e6.
      estimated_cost_usd: 0.000014,
      unpriced_requests: 0,
      models: ['gpt-4o-mini'],
      key_ids: [chatKey.id],
      end_users: [],
    });

    const filtered = await getJson(
      gateway,
      `/analytics/interactions?session=${SESSION}`,
      reader.key,
    );
    expect(filtered.status, filtered.text).toBe(200);
    expect(filtered.body.data?.map((r) => r.id)).toEqual([...ids].reverse());
    expect(filtered.body.data?.every((r) => r.session_id === SESSION)).toBe(true);
    const summary = await getJson(gateway, `/analytics/summary?session=${SESSION}`, reader.key);
    expect(summary.body.totals, summary.text).toMatchObject({ requests: 3, prompt_tokens: 36 });
    expect(summary.body.filter).toMatchObject({ session: SESSION });
    const exported = await gateway.request(`/analytics/export?format=ndjson&session=${SESSION}`, {
      headers: { authorization: `Bearer ${reader.key}` },
    });
    const lines = (await exported.text()).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string; session_id: string }).id)).toEqual(ids);
    expect(
      lines.every((l) => (JSON.parse(l) as { session_id: string }).session_id === SESSION),
    ).toBe(true);
  });

  it('returns one session as its thread in order: metadata only without analytics:content', async () => {
    const ids = await threeTurns(gateway.openai(chatKey.key, { headers: { [HEADER]: SESSION } }));
    const thread = await getJson<ThreadBody>(gateway, `/analytics/sessions/${SESSION}`, reader.key);
    expect(thread.status, thread.text).toBe(200);
    expect(thread.body).toMatchObject({ object: 'analytics.session', id: SESSION, requests: 3 });
    expect(thread.body.data?.map((r) => r.id)).toEqual(ids);
    expect(thread.body.data?.[0]).toMatchObject({
      session_id: SESSION,
      model: 'gpt-4o-mini',
      prompt_tokens: 12,
      completion_tokens: 5,
      has_content: true,
    });
    expect(thread.text).not.toContain('Where is my parcel');
    expect(thread.body.data?.[0]).not.toHaveProperty('content');
    expect(await listAudit(gateway.deps.database.db)).toEqual([]);
  });

  it('decrypts the thread for analytics:content and audits each interaction read', async () => {
    const ids = await threeTurns(gateway.openai(chatKey.key, { headers: { [HEADER]: SESSION } }));
    const thread = await getJson<ThreadBody>(
      gateway,
      `/analytics/sessions/${SESSION}`,
      contentReader.key,
    );
    expect(thread.status, thread.text).toBe(200);
    const turns = thread.body.data?.map((r) => ({
      asked: r.content?.request.messages?.at(-1)?.content,
      answered: r.content?.response.choices?.[0]?.message.content,
      status: r.content_status,
    }));
    expect(turns).toEqual([
      { asked: QUESTIONS[0], answered: 'Answer 1', status: 'ok' },
      { asked: QUESTIONS[1], answered: 'Answer 2', status: 'ok' },
      { asked: QUESTIONS[2], answered: 'Answer 3', status: 'ok' },
    ]);
    const audit = await listAudit(gateway.deps.database.db);
    expect(audit.map((a) => [a.action, a.actor, a.targetType, a.targetId]).sort()).toEqual(
      ids.map((id) => ['analytics.read_content', contentReader.id, 'interaction', id]).sort(),
    );
  });

  it('pages sessions by last activity and a thread by its order', async () => {
    const client = gateway.openai(chatKey.key);
    for (const session of ['a', 'b', 'c']) {
      for (let turn = 0; turn < 2; turn++) {
        await client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${session}${turn}` }] },
          { headers: { [HEADER]: session } },
        );
        clock.advance(1_000);
      }
    }
    await settleLog(gateway.deps);
    const seen: string[] = [];
    let url: string | null = '/analytics/sessions?limit=2';
    while (url) {
      const page: { status: number; body: AnalyticsBody & { data?: SessionJson[] }; text: string } =
        await getJson(gateway, url, reader.key);
      expect(page.status, page.text).toBe(200);
      seen.push(...(page.body.data ?? []).map((s) => s.id));
      url = page.body.next_cursor
        ? `/analytics/sessions?limit=2&cursor=${page.body.next_cursor}`
        : null;
    }
    expect(seen).toEqual(['c', 'b', 'a']);

    const first = await getJson<ThreadBody>(gateway, '/analytics/sessions/b?limit=1', reader.key);
    expect(first.body.has_more, first.text).toBe(true);
    const second = await getJson<ThreadBody>(
      gateway,
      `/analytics/sessions/b?limit=1&cursor=${first.body.next_cursor}`,
      reader.key,
    );
    expect(second.body.has_more, second.text).toBe(false);
    const times = [first.body.data?.[0]?.created_at, second.body.data?.[0]?.created_at];
    expect(times).toEqual([new Date(T0 + 2_000).toISOString(), new Date(T0 + 3_000).toISOString()]);
  });

  it('shows another tenant nothing of a session, even under the same id', async () => {
    await threeTurns(gateway.openai(chatKey.key, { headers: { [HEADER]: SESSION } }));
    const list = await getJson(gateway, '/analytics/sessions', otherTenant.key);
    expect(list.status, list.text).toBe(200);
    expect(list.body.data).toEqual([]);
    const thread = await getJson(gateway, `/analytics/sessions/${SESSION}`, otherTenant.key);
    expect(thread.status, thread.text).toBe(404);
    const rows = await getJson(
      gateway,
      `/analytics/interactions?session=${SESSION}`,
      otherTenant.key,
    );
    expect(rows.body.data, rows.text).toEqual([]);

    // The same id in the other tenant is its own session; an admin chooses with tenant_id.
    await gateway
      .openai(otherChat.key, { headers: { [HEADER]: SESSION } })
      .chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
      });
    await settleLog(gateway.deps);
    const theirs = await getJson<ThreadBody>(
      gateway,
      `/analytics/sessions/${SESSION}`,
      otherTenant.key,
    );
    expect(theirs.body.requests, theirs.text).toBe(1);
    const ambiguous = await getJson(gateway, `/analytics/sessions/${SESSION}`, admin.key);
    expect(ambiguous.status, ambiguous.text).toBe(400);
    expect(ambiguous.body.error?.param).toBe('tenant_id');
    const chosen = await getJson<ThreadBody>(
      gateway,
      `/analytics/sessions/${SESSION}?tenant_id=${chatKey.tenantId}`,
      admin.key,
    );
    expect(chosen.body.requests, chosen.text).toBe(3);
    const all = await getJson(gateway, '/analytics/sessions', admin.key);
    expect(all.body.data?.map((s) => s.tenant_id).sort(), all.text).toHaveLength(2);
  });

  it('joins /v1/responses and /v1/embeddings calls to the header session too', async () => {
    const client = gateway.openai(chatKey.key, { headers: { [HEADER]: 'mixed-1' } });
    const answer = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'Summarise my parcel' })
      .withResponse();
    expect(answer.response.headers.get(HEADER)).toBe('mixed-1');
    clock.advance(1_000);
    const vectors = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'parcel', encoding_format: 'float' })
      .withResponse();
    expect(vectors.response.headers.get(HEADER)).toBe('mixed-1');
    await settleLog(gateway.deps);
    const thread = await getJson<ThreadBody>(gateway, '/analytics/sessions/mixed-1', reader.key);
    expect(
      thread.body.data?.map((r) => r.endpoint),
      thread.text,
    ).toEqual(['responses', 'embeddings']);
  });

  it('makes a previous_response_id chain one session (its first response), and a conversation another', async () => {
    const client = gateway.openai(chatKey.key);
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'Chain one' });
    clock.advance(1_000);
    const second = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Chain two',
      previous_response_id: first.id,
    });
    clock.advance(1_000);
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Chain three',
      previous_response_id: second.id,
    });
    const conversation = await client.conversations.create({});
    clock.advance(1_000);
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'In the conversation',
      conversation: conversation.id,
    });
    await settleLog(gateway.deps);
    const chain = await getJson<ThreadBody>(gateway, `/analytics/sessions/${first.id}`, reader.key);
    expect(chain.body.requests, chain.text).toBe(3);
    expect(chain.body.data?.map((r) => r.endpoint)).toEqual([
      'responses',
      'responses',
      'responses',
    ]);
    const talk = await getJson<ThreadBody>(
      gateway,
      `/analytics/sessions/${conversation.id}`,
      reader.key,
    );
    expect(talk.body.requests, talk.text).toBe(1);
  });

  it('refuses a bad header with 400 naming it, on every endpoint, and records the refusal', async () => {
    for (const bad of ['', 'two words', 'x'.repeat(129), 'naïve', 'a/b']) {
      const client = new OpenAI({
        apiKey: chatKey.key,
        baseURL: `${TEST_APP_ORIGIN}/v1`,
        maxRetries: 0,
        defaultHeaders: { [HEADER]: bad },
        fetch: (url, init) => gateway.request(url as string, init),
      });
      const calls = [
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        }),
        client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' }),
        client.responses.create({ model: 'gpt-4o-mini', input: 'hi' }),
      ];
      for (const call of calls) {
        const err = await call.then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(bad)).toBeInstanceOf(BadRequestError);
        expect((err as BadRequestError).param).toBe(HEADER);
        expect((err as BadRequestError).code).toBe('invalid_session_id');
      }
    }
    expect(upstream.requests.filter((r) => r.body.messages !== undefined)).toHaveLength(0);
    await settleLog(gateway.deps);
    const refused = await getJson(gateway, '/analytics/interactions?status=400', reader.key);
    expect(refused.body.data?.length, refused.text).toBe(15);
  });

  it('answers 400 for a bad date, cursor, limit or session id in the analytics API', async () => {
    const cases: [string, string][] = [
      ['/analytics/sessions?from=yesterday', 'from'],
      ['/analytics/sessions?cursor=not-a-cursor', 'cursor'],
      ['/analytics/sessions?limit=0', 'limit'],
      ['/analytics/sessions/two%20words', 'id'],
      [`/analytics/sessions/${'x'.repeat(129)}`, 'id'],
      [`/analytics/sessions/${SESSION}?cursor=bm9wZQ`, 'cursor'],
      ['/analytics/interactions?session=two%20words', 'session'],
    ];
    for (const [path, param] of cases) {
      const res = await getJson(gateway, path, reader.key);
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.body.error?.param, path).toBe(param);
    }
    const chatOnly = await getJson(gateway, '/analytics/sessions', chatKey.key);
    expect(chatOnly.status, chatOnly.text).toBe(403);
  });
});
