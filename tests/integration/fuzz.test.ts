import { inArray, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

/** Cases per property; 2,600 in all. */
const V1_RUNS = 1_200;
const STORED_RUNS = 400;
const ADMIN_RUNS = 500;
const ANALYTICS_RUNS = 500;

/** A provider that answers every route the gateway calls, whatever the request holds. */
const provider: UpstreamHandler = (req, res) => {
  const path = req.path.split('?')[0] ?? '';
  if (path.endsWith('/models')) {
    const model = { id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'fake' };
    return json(200, { object: 'list', data: [model] })(req, res);
  }
  if (path.includes('/models/')) {
    const id = decodeURIComponent(path.slice(path.indexOf('/models/') + 8));
    return json(200, { id, object: 'model', created: 1, owned_by: 'fake' })(req, res);
  }
  if (path.endsWith('/embeddings')) {
    // One vector per string or token array, as OpenAI answers (a single token array is one).
    const { input } = req.body;
    const flat = !Array.isArray(input) || input.every((item) => typeof item === 'number');
    const inputs = flat ? [input] : input;
    const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2] }));
    const usage = { prompt_tokens: inputs.length, total_tokens: inputs.length };
    return json(200, { object: 'list', data, model: 'text-embedding-3-small', usage })(req, res);
  }
  if (req.body.stream === true) return sse(['Hel', 'lo'])(req, res);
  return ok(req, res);
};

/** Header values a client can send (visible ASCII). */
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

/** Text of any kind: ASCII, full Unicode, NUL, long runs. */
const anyText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', 'x'.repeat(300), '1e400', '-0', 'NaN'),
);

const anyJson = fc.jsonValue({ maxDepth: 3 });

const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 0.5),
);

const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer'), anyText),
    content: fc.oneof(anyText, anyJson, fc.constant(null)),
    name: anyText,
  },
  { requiredKeys: ['role', 'content'] },
);

const chatBody = fc.record(
  {
    model: fc.oneof(fc.constantFrom('gpt-4o-mini', 'gpt-4o'), anyText, anyJson),
    messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 3 }), anyJson),
    stream: fc.oneof(fc.boolean(), anyJson),
    stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), anyJson),
    max_tokens: fc.oneof(number, anyJson),
    max_completion_tokens: number,
    n: fc.oneof(number, anyJson),
    temperature: number,
    user: anyText,
    metadata: fc.oneof(fc.dictionary(anyText, anyText, { maxKeys: 3 }), anyJson),
    tools: anyJson,
    response_format: anyJson,
    input: fc.oneof(anyText, fc.array(anyText, { maxLength: 3 }), anyJson),
    instructions: anyText,
    encoding_format: fc.oneof(fc.constantFrom('float', 'base64'), anyText),
    conversation: fc.oneof(anyText, fc.record({ id: anyText }), anyJson),
    previous_response_id: fc.oneof(anyText, anyJson),
  },
  { requiredKeys: [] },
);

const shortText = fc.string({ minLength: 1, maxLength: 30 });

/** A request the provider is likely to see: valid core fields, odd but legal extras. */
const plausibleBody = fc.record(
  {
    model: fc.constantFrom('gpt-4o-mini', 'gpt-4o'),
    messages: fc.array(fc.record({ role: fc.constant('user'), content: shortText }), {
      minLength: 1,
      maxLength: 2,
    }),
    input: fc.oneof(shortText, fc.array(shortText, { minLength: 1, maxLength: 2 })),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 1, max: 4_096 }),
    user: fc.string({ maxLength: 20 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  },
  { requiredKeys: ['model', 'messages', 'input'] },
);

/** A body as raw text: a plausible object, any JSON, broken JSON, deep nesting, duplicate keys. */
const rawBody = fc.oneof(
  { weight: 4, arbitrary: chatBody.map((b) => JSON.stringify(b)) },
  { weight: 4, arbitrary: plausibleBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 3_000 })
      .map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"model":"gpt-4o-mini","model":"x","messages":[{"role":"user","content":"hi"}]}',
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]',
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\ud800"}],"user":"\\u0000"}',
      '',
      'null',
    ),
  },
);

/** An input item or conversation item: odd ids, references, roles and content. */
const storedItem = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('message', 'item_reference', 'function_call', 'function_call_output'),
      anyText,
    ),
    id: fc.oneof(anyText, anyJson),
    role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'developer'), anyText),
    content: fc.oneof(anyText, anyJson),
    call_id: anyText,
    name: anyText,
    arguments: anyText,
    output: fc.oneof(anyText, anyJson),
  },
  { requiredKeys: [] },
);

/** A Conversations API body: `items` and `metadata` as the routes take them, or anything else. */
const conversationBody = fc.oneof(
  fc
    .record(
      {
        items: fc.oneof(fc.array(storedItem, { maxLength: 3 }), anyJson),
        metadata: fc.oneof(fc.dictionary(anyText, anyText, { maxKeys: 3 }), anyJson),
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  rawBody,
);

const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('from', 'to', 'cursor', 'limit', 'model', 'after', 'order', 'include'),
        anyText,
      ),
      anyText,
    ),
    {
      maxLength: 4,
    },
  )
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
  );

const optionalHeaders = fc.record(
  {
    'content-type': fc.oneof(fc.constantFrom('application/json', 'text/plain', ''), headerText),
    'x-request-id': headerText,
    'x-client-request-id': headerText,
    'cache-control': fc.oneof(fc.constantFrom('no-cache', 'no-store', 'max-age=0'), headerText),
    'x-tollgate-compression': fc.oneof(fc.constantFrom('off', 'safe', 'aggressive'), headerText),
  },
  { requiredKeys: [] },
);

/** Every row-recording route of /v1. */
const V1_POSTS = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings'];

const v1Request = fc.record({
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...V1_POSTS) },
    { weight: 1, arbitrary: fc.constantFrom('/v1/models', '/v1/models/gpt-4o-mini') },
    { weight: 1, arbitrary: anyText.map((id) => `/v1/models/${encodeURIComponent(id || 'x')}`) },
  ),
  query: queryString,
  headers: optionalHeaders,
  body: rawBody,
});

/** The id of a stored response or conversation the fuzzer made, or any text, in a path. */
const storedId = (known: string) =>
  fc.oneof(
    fc.constant(known),
    anyText.map((id) => encodeURIComponent(id || 'x')),
  );

/**
 * A request to the stored-state routes of /v1 (`{conversation}` and `{response}` stand for the
 * ids of a conversation and a response that exist).
 */
const storedRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  path: fc.oneof(
    fc.constant('/v1/conversations'),
    fc.constant('/v1/responses/input_tokens'),
    fc
      .tuple(storedId('{conversation}'), storedId('{item}'))
      .chain(([id, item]) =>
        fc.constantFrom(
          `/v1/conversations/${id}`,
          `/v1/conversations/${id}/items`,
          `/v1/conversations/${id}/items/${item}`,
        ),
      ),
    storedId('{response}').chain((id) =>
      fc.constantFrom(
        `/v1/responses/${id}`,
        `/v1/responses/${id}/input_items`,
        `/v1/responses/${id}/cancel`,
      ),
    ),
  ),
  query: queryString,
  headers: optionalHeaders,
  body: conversationBody,
});

/** An id that names no existing key or tenant, so a fuzzed change never hits the fuzzer's own. */
const foreignId = anyText.map((id) => `fz-${id}`);

const adminRequest = fc.oneof(
  fc.record({
    method: fc.constant('POST'),
    path: fc.constantFrom('/admin/keys', '/admin/tenants'),
    body: fc.oneof(
      fc
        .record(
          {
            name: fc.oneof(anyText, anyJson),
            tenant: fc.oneof(fc.constant('default'), anyText),
            scopes: fc.oneof(fc.constantFrom(['chat'], ['analytics:read']), anyJson),
            rpm: fc.oneof(number, anyJson),
            tpm: number,
            max_concurrency: number,
            models: anyJson,
            expires_in: fc.oneof(number, anyText, fc.constantFrom('30d', '0s', '1e300s')),
            expires_at: fc.oneof(anyText, fc.constantFrom('2026-02-30T00:00:00Z', '99999-01-01')),
          },
          { requiredKeys: [] },
        )
        .map((b) => JSON.stringify(b)),
      rawBody,
    ),
    query: queryString,
  }),
  fc.record({
    method: fc.constantFrom('GET', 'PATCH', 'POST'),
    path: foreignId
      .map((id) => encodeURIComponent(id))
      .chain((id) =>
        fc.constantFrom(
          `/admin/keys/${id}`,
          `/admin/keys/${id}/revoke`,
          `/admin/tenants/${id}/forget`,
        ),
      ),
    body: rawBody,
    query: queryString,
  }),
  fc.record({
    method: fc.constant('GET'),
    path: fc.constantFrom('/admin/keys', '/admin/tenants'),
    body: fc.constant(''),
    query: fc.oneof(
      queryString,
      anyText.map((t) => `?tenant=${encodeURIComponent(t)}`),
    ),
  }),
);

const analyticsRequest = fc.record({
  path: fc.oneof(
    fc.constantFrom('/analytics/interactions', '/analytics/summary', '/analytics/export'),
    anyText.map((id) => `/analytics/interactions/${encodeURIComponent(id || 'x')}`),
  ),
  query: fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'from',
            'to',
            'cursor',
            'limit',
            'key_id',
            'model',
            'status',
            'cache_status',
            'end_user',
            'tenant_id',
            'group_by',
            'format',
          ),
          anyText,
        ),
        fc.oneof(
          anyText,
          fc.constantFrom(
            '2026-02-30',
            '2026-02-28',
            '0000-01-01',
            '99999-12-31',
            '2026-01-01T25:00:00Z',
            'csv',
            'ndjson',
            'day',
            'model',
            '1001',
            'error',
          ),
          fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64url')),
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) =>
      pairs.length === 0
        ? ''
        : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
    ),
});

describe('fuzzed requests to /v1, /admin and /analytics', () => {
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let chatKey: string;
  let adminKey: string;

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    upstream = await startFakeUpstream();
    upstream.setFallback(provider);
    // On a busy machine the database may be slow, never down: no 503 for slowness here.
    gateway = await createTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      DATABASE_PROBE_TIMEOUT_MS: '60000',
      LOG_LEVEL: 'error',
    });
    chatKey = (await gateway.createKey({ name: 'fuzz-chat' })).key;
    adminKey = (await gateway.createKey({ name: 'fuzz-admin', scopes: ['admin'] })).key;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    vi.useRealTimers();
  });

  async function send(
    method: string,
    path: string,
    key: string,
    headers: Record<string, string>,
    body: string | undefined,
  ) {
    const res = await gateway.request(path, {
      method,
      headers: { ...headers, authorization: `Bearer ${key}` },
      body: method === 'GET' ? undefined : body,
    });
    const text = await res.text();
    return { status: res.status, text, rowId: res.headers.get('x-request-id') };
  }

  it(`answers ${V1_RUNS} fuzzed /v1 requests below 500, each recording request with exactly one row`, async () => {
    await gateway.deps.database.db.execute(sql`truncate interactions`);
    const recorded: string[] = [];
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(v1Request, async (r) => {
        const method = V1_POSTS.includes(r.path) ? 'POST' : 'GET';
        const answer = await send(method, `${r.path}${r.query}`, chatKey, r.headers, r.body);
        expect(answer.status, `${method} ${r.path}: ${answer.text}`).toBeLessThan(500);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (method === 'POST') {
          expect(answer.rowId, answer.text).toBeTruthy();
          recorded.push(answer.rowId ?? '');
        }
      }),
      { numRuns: V1_RUNS },
    );
    // The fuzz must reach the provider often, not only the gateway's refusals.
    expect(statuses.get(200) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(V1_RUNS / 5);
    await settleLog(gateway.deps);
    const db = gateway.deps.database.db;
    const [all] = await db.select({ n: sql<number>`count(*)::int` }).from(interactions);
    expect(new Set(recorded).size).toBe(recorded.length);
    expect(all?.n).toBe(recorded.length);
    const found: string[] = [];
    for (let i = 0; i < recorded.length; i += 500) {
      const ids = recorded.slice(i, i + 500);
      const rows = await db
        .select({ id: interactions.id })
        .from(interactions)
        .where(inArray(interactions.id, ids));
      found.push(...rows.map((row) => row.id));
    }
    expect(found.sort()).toEqual([...recorded].sort());
  });

  it(`answers ${STORED_RUNS} fuzzed requests to stored responses and conversations below 500`, async () => {
    const client = gateway.openai(chatKey);
    const conversation = await client.conversations.create({
      items: [{ type: 'message', role: 'user', content: 'kept' }],
    });
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'kept',
      conversation: conversation.id,
    });
    const item = response.output[0]?.id ?? 'x';
    await fc.assert(
      fc.asyncProperty(storedRequest, async (r) => {
        const path = r.path
          .replace('{conversation}', conversation.id)
          .replace('{response}', response.id)
          .replace('{item}', item);
        const body = r.method === 'POST' ? r.body : undefined;
        const answer = await send(r.method, `${path}${r.query}`, chatKey, r.headers, body);
        expect(answer.status, `${r.method} ${path}${r.query} ${body}: ${answer.text}`).toBeLessThan(
          500,
        );
      }),
      { numRuns: STORED_RUNS },
    );
  });

  it(`answers ${ADMIN_RUNS} fuzzed /admin requests below 500`, async () => {
    await fc.assert(
      fc.asyncProperty(adminRequest, optionalHeaders, async (r, headers) => {
        const answer = await send(r.method, `${r.path}${r.query}`, adminKey, headers, r.body);
        expect(answer.status, `${r.method} ${r.path}${r.query}: ${answer.text}`).toBeLessThan(500);
      }),
      { numRuns: ADMIN_RUNS },
    );
  });

  it(`answers ${ANALYTICS_RUNS} fuzzed /analytics requests below 500, exports whole`, async () => {
    await fc.assert(
      fc.asyncProperty(analyticsRequest, optionalHeaders, async (r, headers) => {
        const answer = await send('GET', `${r.path}${r.query}`, adminKey, headers, undefined);
        expect(answer.status, `${r.path}${r.query}: ${answer.text}`).toBeLessThan(500);
      }),
      { numRuns: ANALYTICS_RUNS },
    );
  });
});
