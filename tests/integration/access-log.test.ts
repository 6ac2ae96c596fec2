import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const UPSTREAM_SECRET = 'sk-test-upstream-secret-0123456789';
const PROMPT_MARK = 'confidential-prompt-text';
let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;
let adminKey: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_MAX_RETRIES: '0',
    LOG_LEVEL: 'info',
  });
  key = (await gateway.createKey({ scopes: ['chat'] })).key;
  adminKey = (await gateway.createKey({ scopes: ['admin'] })).key;
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

function chat(text: string, extra: Record<string, unknown> = {}) {
  return fetch(`${gateway.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: text }],
      ...extra,
    }),
  });
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
    expect(logged.filter((l) => l.route === 'unmatched' && l.status === 404)).toHaveLength(10);

    const all = gateway.logs.join('');
    expect(all).not.toContain(PROMPT_MARK);
    expect(all).not.toContain(UPSTREAM_SECRET);
    expect(all).not.toContain(key.split('_')[2]);
    expect(all).not.toContain(adminKey.split('_')[2]);
  });

  it('logs an upstream error as a warning with the request id', async () => {
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
    });
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
    });
    expect(line?.errorCode).not.toBeNull();
  });

  it('prints every level as its name', () => {
    const levels = new Set(lines().map((l) => l.level));
    expect([...levels].every((l) => typeof l === 'string')).toBe(true);
    expect(levels).toContain('info');
  });
});
