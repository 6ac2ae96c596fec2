import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import { stalledChat } from '../helpers/stalled-body.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const UPSTREAM_SECRET = 'sk-test-upstream-secret-0123456789';
const PROMPT_MARK = 'confidential-prompt-text';
const BODY_LIMIT = 64 * 1024;
let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;
let adminKey: string;
let adminKeyId: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_MAX_RETRIES: '0',
    LOG_LEVEL: 'info',
    MAX_BODY_BYTES: String(BODY_LIMIT),
    REQUEST_BODY_TIMEOUT_MS: '1000',
  });
  key = (await gateway.createKey({ scopes: ['chat'] })).key;
  ({ key: adminKey, id: adminKeyId } = await gateway.createKey({ scopes: ['admin'] }));
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

interface LogLine {
  level: unknown;
  msg: string;
  requestId?: string;
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  model?: string | null;
  cache?: string | null;
  upstreamMs?: number | null;
  provider?: string | null;
  errorCode?: string | null;
  reason?: string;
  keyId?: string | null;
}

function lines(): LogLine[] {
  return gateway.logs.flatMap((chunk) =>
    chunk
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LogLine),
  );
}

const accessLines = () => lines().filter((l) => l.requestId !== undefined && l.route !== undefined);

function chat(text: string, extra: Record<string, unknown> = {}, bearer = key) {
  return postChat(
    JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra }),
    bearer,
  );
}

function postChat(body: string, bearer = key) {
  return fetch(`${gateway.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body,
  });
}

/** The access-log line of each answered request, by its x-request-id, once the log is written. */
async function linesOf(ids: readonly (string | null)[]): Promise<(LogLine | undefined)[]> {
  await settleLog(gateway.server.deps);
  const all = accessLines();
  return ids.map((id) => all.find((l) => l.requestId === id));
}

describe('access log', () => {
  it('writes one line per request, with its id and figures, and never a prompt or a key', async () => {
    const before = accessLines().length;
    const ids: string[] = [];
    const send = async (res: Promise<Response>) => {
      const r = await res;
      await r.text();
      ids.push(r.headers.get('x-request-id') ?? 'missing');
    };
    for (let i = 0; i < 60; i++) await send(chat(`${PROMPT_MARK} number ${i}`));
    for (let i = 0; i < 20; i++) await send(fetch(`${gateway.baseURL}/healthz`));
    for (let i = 0; i < 10; i++) {
      await send(
        fetch(`${gateway.baseURL}/admin/keys`, {
          headers: { authorization: `Bearer ${adminKey}` },
        }),
      );
    }
    for (let i = 0; i < 10; i++) await send(fetch(`${gateway.baseURL}/nowhere/${i}`));
    await settleLog(gateway.server.deps);

    const logged = accessLines().slice(before);
    expect(logged.length, JSON.stringify(logged.slice(0, 3))).toBe(100);
    expect(logged.map((l) => l.requestId).sort()).toEqual([...ids].sort());
    const chatLine = logged.find((l) => l.route === '/v1/chat/completions');
    expect(chatLine).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      status: 200,
      model: 'gpt-4o-mini',
      cache: 'miss',
      provider: 'default',
    });
    expect(typeof chatLine?.upstreamMs).toBe('number');
    expect(typeof chatLine?.durationMs).toBe('number');
    expect(logged.filter((l) => l.route === '/healthz')).toHaveLength(20);
    expect(logged.filter((l) => l.route === '/admin/keys')).toHaveLength(10);
    const unmatched = logged.filter((l) => l.route === 'unmatched' && l.status === 404);
    expect(unmatched).toHaveLength(10);
    expect(unmatched.map((l) => l.errorCode)).toEqual(Array(10).fill('unknown_url'));

    const all = gateway.logs.join('');
    expect(all).not.toContain(PROMPT_MARK);
    expect(all).not.toContain(UPSTREAM_SECRET);
    expect(all).not.toContain(key.split('_')[2]);
    expect(all).not.toContain(adminKey.split('_')[2]);
  });

  it('names the key that made each request by its id, never by the key itself', async () => {
    const made = await gateway.createKey({ scopes: ['chat'] });
    const answers = [
      await chat('whose request is this', {}, made.key),
      await chat('a refused one', { temperature: 'hot' }, made.key),
      await chat('no key at all', {}, 'tg_wrong'),
      await fetch(`${gateway.baseURL}/admin/keys`, {
        headers: { authorization: `Bearer ${adminKey}` },
      }),
      // Verified keys refused for their scope: a chat key on the admin API, an admin key on chat.
      await fetch(`${gateway.baseURL}/admin/keys`, {
        headers: { authorization: `Bearer ${made.key}` },
      }),
      await chat('not with an admin key', {}, adminKey),
    ];
    const ids: (string | null)[] = [];
    for (const res of answers) {
      await res.text();
      ids.push(res.headers.get('x-request-id'));
    }
    const logged = await linesOf(ids);
    expect(logged.map((l) => [l?.status, l?.keyId])).toEqual([
      [200, made.id],
      [400, made.id],
      [401, null],
      [200, adminKeyId],
      [403, made.id],
      [403, adminKeyId],
    ]);
    expect(gateway.logs.join('')).not.toContain(made.key.split('_')[2]);
  });

  it('logs an upstream error as a warning with the request id, the provider and why', async () => {
    upstream.enqueue(json(503, { error: { message: 'overloaded' } }));
    const res = await chat('this one fails');
    expect(res.status, await res.text()).toBe(502);
    const id = res.headers.get('x-request-id');
    await settleLog(gateway.server.deps);
    const line = accessLines().find((l) => l.requestId === id);
    expect(line, JSON.stringify(accessLines().slice(-2))).toMatchObject({
      level: 'warn',
      msg: 'upstream failure',
      status: 502,
      errorCode: 'upstream_error',
      provider: 'default',
      reason: 'answered 503',
    });
    expect(typeof line?.upstreamMs, JSON.stringify(line)).toBe('number');
    // That line alone: the failure is not told twice.
    expect(lines().filter((l) => l.requestId === id)).toHaveLength(1);
  });

  it("logs the gateway's own refusals (400, 401, 408, 413, 429) as request lines, not upstream failures", async () => {
    const tinyTpm = (await gateway.createKey({ scopes: ['chat'], tpm: 1 })).key;
    const upstreamCalls = upstream.requests.length;
    const answers = [
      await postChat('{"model": "gpt-4o-mini", "messages": ['),
      await chat('who are you', {}, 'tg_wrong'),
      await postChat(JSON.stringify({ model: 'gpt-4o-mini', pad: 'x'.repeat(BODY_LIMIT) })),
      await chat('a question far above one token a minute', {}, tinyTpm),
    ];
    const refusals: { status: number; id: string | null; body: string }[] = [];
    for (const res of answers) {
      refusals.push({
        status: res.status,
        id: res.headers.get('x-request-id'),
        body: await res.text(),
      });
    }
    const stalled = await stalledChat(gateway.baseURL, key);
    refusals.push({ ...stalled, body: '' });
    const lines = await linesOf(refusals.map((r) => r.id));
    const expected = [
      { status: 400, errorCode: 'invalid_json' },
      { status: 401, errorCode: 'invalid_api_key' },
      { status: 413, errorCode: 'request_too_large' },
      { status: 429, errorCode: 'rate_limit_exceeded' },
      { status: 408, errorCode: 'request_timeout' },
    ];
    expected.forEach((want, i) => {
      const got = refusals[i];
      expect(got?.status, got?.body).toBe(want.status);
      expect(lines[i], JSON.stringify(lines[i])).toMatchObject({
        level: 'info',
        msg: 'request',
        route: '/v1/chat/completions',
        ...want,
      });
      expect(lines[i]?.reason).toBeUndefined();
    });
    // None of them was sent upstream.
    expect(upstream.requests.length).toBe(upstreamCalls);
  });

  it('logs the model a refused request named, on every pipeline endpoint, never longer than a model name can be', async () => {
    const narrow = (await gateway.createKey({ scopes: ['chat'], allowedModels: ['gpt-4o-mini'] }))
      .key;
    const post = (path: string, body: Record<string, unknown>) =>
      fetch(`${gateway.baseURL}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${narrow}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const long = `m${'o'.repeat(1_000)}`;
    const cases = [
      {
        send: () =>
          post('/v1/chat/completions', {
            model: 'not-for-this-key',
            messages: [{ role: 'user', content: PROMPT_MARK }],
          }),
        want: { route: '/v1/chat/completions', status: 403, model: 'not-for-this-key' },
      },
      {
        send: () => post('/v1/responses', { model: 'not-for-this-key', input: PROMPT_MARK }),
        want: { route: '/v1/responses', status: 403, model: 'not-for-this-key' },
      },
      {
        send: () => post('/v1/embeddings', { model: 'not-for-this-key', input: PROMPT_MARK }),
        want: { route: '/v1/embeddings', status: 403, model: 'not-for-this-key' },
      },
      {
        send: () => post('/v1/responses', { model: 'gpt-4o-mini', input: PROMPT_MARK, bogus: 1 }),
        want: { route: '/v1/responses', status: 400, model: 'gpt-4o-mini' },
      },
      {
        send: () => post('/v1/embeddings', { model: long, input: PROMPT_MARK }),
        want: { route: '/v1/embeddings', status: 400, model: long.slice(0, 256) },
      },
    ];
    const ids: (string | null)[] = [];
    for (const c of cases) {
      const res = await c.send();
      expect(res.status, await res.text()).toBe(c.want.status);
      ids.push(res.headers.get('x-request-id'));
    }
    const lines = await linesOf(ids);
    cases.forEach((c, i) => {
      expect(lines[i], JSON.stringify(lines[i])).toMatchObject({ msg: 'request', ...c.want });
    });
    expect(gateway.logs.join('')).not.toContain(PROMPT_MARK);
  });

  it("logs a passed-through upstream 4xx as an upstream failure with the upstream's code, provider and time", async () => {
    const error = (code: string | null) => ({
      error: { message: 'Invalid value.', type: 'invalid_request_error', param: null, code },
    });
    const cases = [
      { status: 400, body: error('invalid_value'), errorCode: 'invalid_value' },
      { status: 404, body: error(null), errorCode: 'invalid_request_error' },
      { status: 422, body: { detail: 'not OpenAI-shaped' }, errorCode: 'upstream_error' },
    ];
    const ids: (string | null)[] = [];
    for (const c of cases) {
      upstream.enqueue(json(c.status, c.body));
      const res = await chat('parameters the upstream refuses');
      expect(res.status, await res.text()).toBe(c.status);
      ids.push(res.headers.get('x-request-id'));
    }
    const lines = await linesOf(ids);
    cases.forEach((c, i) => {
      expect(lines[i], JSON.stringify(lines[i])).toMatchObject({
        level: 'warn',
        msg: 'upstream failure',
        status: c.status,
        errorCode: c.errorCode,
        provider: 'default',
        reason: `answered ${c.status}`,
      });
      expect(typeof lines[i]?.upstreamMs, JSON.stringify(lines[i])).toBe('number');
    });
  });

  it("says why the upstream failed when it is known, never with the upstream's text", async () => {
    const BODY_MARK = 'upstream-body-text-never-logged';
    const notJson: UpstreamHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${BODY_MARK} is not JSON`);
    };
    const badEvent: UpstreamHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: {${BODY_MARK}\n\n`);
    };
    const hugeHeaders: UpstreamHandler = (req, res) => {
      res.setHeader('x-padding', 'p'.repeat(64 * 1024));
      ok(req, res);
    };
    const cases = [
      { handler: notJson, stream: false, reason: 'body is not JSON' },
      { handler: badEvent, stream: true, reason: 'bad event stream' },
      { handler: hugeHeaders, stream: false, reason: 'response headers too large' },
    ];
    const ids: (string | null)[] = [];
    for (const c of cases) {
      upstream.enqueue(c.handler);
      const res = await chat('an answer the gateway cannot read', { stream: c.stream });
      expect(res.status, await res.text()).toBe(502);
      ids.push(res.headers.get('x-request-id'));
    }
    const lines = await linesOf(ids);
    cases.forEach((c, i) => {
      expect(lines[i], JSON.stringify(lines[i])).toMatchObject({
        level: 'warn',
        msg: 'upstream failure',
        status: 502,
        errorCode: 'upstream_error',
        provider: 'default',
        reason: c.reason,
      });
    });
    expect(gateway.logs.join('')).not.toContain(BODY_MARK);
  });

  it('logs a stream the upstream cut mid-way as a warning with the request id', async () => {
    upstream.enqueue(sse(['one', 'two', 'three'], { failAfter: 2 }));
    const res = await chat('a stream that breaks', { stream: true });
    const body = await res.text();
    expect(body).toContain('"error"');
    const id = res.headers.get('x-request-id');
    await settleLog(gateway.server.deps);
    const line = accessLines().find((l) => l.requestId === id);
    expect(line, JSON.stringify(accessLines().slice(-2))).toMatchObject({
      level: 'warn',
      msg: 'upstream failure',
      route: '/v1/chat/completions',
      errorCode: 'upstream_error',
      provider: 'default',
      reason: 'connection closed mid-answer',
    });
  });

  it('prints every level as its name', () => {
    const levels = new Set(lines().map((l) => l.level));
    expect([...levels].every((l) => typeof l === 'string')).toBe(true);
    expect(levels).toContain('info');
  });
});
