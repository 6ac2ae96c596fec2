import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock, minuteStart } from '../helpers/manual-clock.js';
import type { Sample } from '../helpers/prometheus-text.js';
import { parseSamples, sampleValue } from '../helpers/prometheus-text.js';
import { settleLog } from '../helpers/settle.js';
import { createTestApp } from '../helpers/test-app.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const PROMTOOL = '/usr/bin/promtool';
const METRICS_TOKEN = 'scrape-token-for-the-metrics-test';
const ROUTE = '/v1/chat/completions';
let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  // The wall clock stays one second into a rate-limit window (fixed one-minute windows), so the
  // key limited to one request a minute is refused its second however slowly the mix runs.
  gateway = await startTestGateway(
    {
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
      METRICS_TOKEN,
      HOST: '0.0.0.0',
    },
    { clock: manualClock(minuteStart(1_000)) },
  );
  key = (await gateway.createKey({ scopes: ['chat'] })).key;
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function chat(body: Record<string, unknown>, bearer = key) {
  return fetch(`${gateway.baseURL}${ROUTE}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
}

const ask = (text: string) => ({ messages: [{ role: 'user', content: text }] });

async function scrape(): Promise<string> {
  const res = await fetch(`${gateway.baseURL}/metrics`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

describe('/metrics after a scripted mix of requests', () => {
  let text = '';
  let samples: Sample[] = [];
  let tokensSaved = 0;
  let limitedKey = '';

  beforeAll(async () => {
    for (const n of [1, 2, 3]) {
      const res = await chat(ask(`question number ${n}`));
      expect(res.status, await res.text()).toBe(200);
    }
    // Let the cache store its entries, then ask the first question again: an exact hit.
    await settleLog(gateway.server.deps);
    const hit = await chat(ask('question number 1'));
    await hit.text();
    expect(hit.headers.get('x-tollgate-cache')).toBe('hit');

    upstream.enqueue(sse(['a', 'b', 'c']));
    const streamed = await chat({ ...ask('a streamed question'), stream: true });
    expect(await streamed.text()).toContain('[DONE]');

    const spaced = await chat(ask(`compress   this:\n\n\n\n\n${'word    '.repeat(40)}`));
    await spaced.text();
    tokensSaved = Number(spaced.headers.get('x-tollgate-tokens-saved'));

    upstream.enqueue(json(500, { error: { message: 'boom' } }));
    const failed = await chat(ask('this one fails upstream'));
    expect(failed.status, await failed.text()).toBe(502);

    const denied = await chat(ask('no key'), 'tg_wrong');
    expect(denied.status).toBe(401);
    await denied.text();

    limitedKey = (await gateway.createKey({ scopes: ['chat'], rpm: 1 })).key;
    for (const n of [1, 2]) await (await chat(ask(`limited ${n}`), limitedKey)).text();

    await (await fetch(`${gateway.baseURL}/healthz`)).text();
    await settleLog(gateway.server.deps);
    text = await scrape();
    samples = parseSamples(text);
  });

  it('passes promtool check metrics', (ctx) => {
    if (!existsSync(PROMTOOL)) {
      ctx.skip(
        `${PROMTOOL} is not installed (Debian package 'prometheus'): promtool check skipped`,
      );
    }
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
  });

  it('exports Node’s standard metrics under their standard names, and no misnamed gauges', () => {
    const names = new Set(samples.map((s) => s.name));
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('nodejs_heap_size_used_bytes');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect([...names].filter((n) => n.startsWith('tollgate_process_'))).toEqual([]);
    expect(names).not.toContain('nodejs_active_handles_total');
    expect(text).toMatch(/^# TYPE tollgate_log_rows_written_total counter$/m);
  });

  it('counts requests by route, status and model in the duration histogram', () => {
    const count = (labels: Record<string, string>) =>
      sampleValue(samples, 'tollgate_http_request_duration_seconds_count', labels);
    // Three misses, one hit, one stream, one compressed question, one limited key's first call.
    expect(count({ route: ROUTE, status: '200', model: 'gpt-4o-mini' })).toBe(7);
    expect(count({ route: ROUTE, status: '502', model: 'gpt-4o-mini' })).toBe(1);
    expect(count({ route: ROUTE, status: '401' })).toBe(1);
    expect(count({ route: ROUTE, status: '429' })).toBe(1);
    expect(count({ route: '/healthz', status: '200', method: 'GET' })).toBe(1);
    const sum = sampleValue(samples, 'tollgate_http_request_duration_seconds_sum', {
      route: ROUTE,
      status: '200',
    });
    expect(sum).toBeGreaterThan(0);
  });

  it('counts the tokens billed, their estimated cost, and upstream and first-token times', () => {
    // The fake bills 12 + 5 per answer (5 answers) and 9 + 3 for the stream; a hit bills nothing.
    const prompt = sampleValue(samples, 'tollgate_tokens_total', { type: 'prompt' });
    const completion = sampleValue(samples, 'tollgate_tokens_total', { type: 'completion' });
    expect(prompt).toBe(5 * 12 + 9);
    expect(completion).toBe(5 * 5 + 3);
    const cost = sampleValue(samples, 'tollgate_estimated_cost_usd_total', {
      model: 'gpt-4o-mini',
    });
    expect(cost).toBeCloseTo((prompt * 0.15 + completion * 0.6) / 1_000_000, 12);
    expect(
      sampleValue(samples, 'tollgate_upstream_duration_seconds_count', { outcome: 'ok' }),
    ).toBe(6);
    expect(sampleValue(samples, 'tollgate_upstream_time_to_first_token_seconds_count')).toBe(1);
  });

  it('counts cache lookups by result, compression savings and rate-limit rejections', () => {
    expect(sampleValue(samples, 'tollgate_cache_lookups_total', { result: 'hit' })).toBe(1);
    expect(sampleValue(samples, 'tollgate_cache_lookups_total', { result: 'miss' })).toBe(7);
    expect(tokensSaved).toBeGreaterThan(0);
    expect(sampleValue(samples, 'tollgate_compression_tokens_saved_total')).toBe(tokensSaved);
    expect(sampleValue(samples, 'tollgate_ratelimit_rejections_total')).toBe(1);
  });

  it('shows the scrape itself in flight and every recorded row as written', async () => {
    expect(sampleValue(samples, 'tollgate_http_requests_in_flight')).toBe(1);
    const written = gateway.server.deps.writer.metrics.rowsWritten;
    expect(written).toBeGreaterThan(0);
    expect(sampleValue(samples, 'tollgate_log_rows_written_total')).toBe(written);
  });
});

describe('the model label', () => {
  const durations = (samples: Sample[], labels: Record<string, string>) =>
    sampleValue(samples, 'tollgate_http_request_duration_seconds_count', labels);
  const modelLabels = (samples: Sample[]) =>
    new Set(samples.flatMap((s) => (s.labels.model === undefined ? [] : [s.labels.model])));

  it('is "other" for names the upstream has not answered, and a name of its own once it has', async () => {
    const madeUp = Array.from({ length: 20 }, (_, i) => `made-up-model-${i}`);
    for (const model of madeUp) {
      upstream.enqueue(
        json(404, {
          error: {
            message: `The model '${model}' does not exist.`,
            type: 'invalid_request_error',
            param: 'model',
            code: 'model_not_found',
          },
        }),
      );
      const res = await chat({ ...ask('which model are you'), model });
      expect(res.status, await res.text()).toBe(404);
    }
    const answered = 'answered-model';
    const res = await chat({ ...ask('which model are you'), model: answered });
    expect(res.status, await res.text()).toBe(200);
    await settleLog(gateway.server.deps);
    const samples = parseSamples(await scrape());

    const labels = modelLabels(samples);
    expect(
      madeUp.filter((m) => labels.has(m)),
      [...labels].join(', '),
    ).toEqual([]);
    expect(durations(samples, { route: ROUTE, status: '404', model: 'other' })).toBe(20);
    expect(
      sampleValue(samples, 'tollgate_upstream_duration_seconds_count', {
        model: 'other',
        outcome: 'error',
      }),
    ).toBe(20);
    expect(durations(samples, { route: ROUTE, status: '200', model: answered })).toBe(1);
    expect(sampleValue(samples, 'tollgate_tokens_total', { type: 'prompt', model: answered })).toBe(
      12,
    );
  });

  it('counts a refused request under the model it named, a made-up name as "other"', async () => {
    const narrow = (await gateway.createKey({ scopes: ['chat'], allowedModels: ['gpt-4o-mini'] }))
      .key;
    const madeUp = Array.from({ length: 20 }, (_, i) => `refused-model-${i}`);
    for (const model of madeUp) {
      const res = await chat({ ...ask('may I'), model }, narrow);
      expect(res.status, await res.text()).toBe(403);
    }
    const invalid = await chat({ ...ask('too hot'), temperature: 'hot' }, narrow);
    expect(invalid.status, await invalid.text()).toBe(400);
    await settleLog(gateway.server.deps);
    const samples = parseSamples(await scrape());

    const labels = modelLabels(samples);
    expect(
      madeUp.filter((m) => labels.has(m)),
      [...labels].join(', '),
    ).toEqual([]);
    expect(durations(samples, { route: ROUTE, status: '403', model: 'other' })).toBe(20);
    expect(durations(samples, { route: ROUTE, status: '400', model: 'gpt-4o-mini' })).toBe(1);
    expect(durations(samples, { route: ROUTE, status: '403', model: '' })).toBe(0);
  });

  it('names a model the routing configuration names before the upstream has answered it', async () => {
    const file = join(tmpdir(), `tollgate-metrics-routing-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: { main: { baseURL: upstream.url, apiKey: 'sk-main-000000000000' } },
        models: { 'team-model': [{ upstream: 'main', model: 'gpt-4o-mini' }], '*': ['main'] },
      }),
    );
    const app = await createTestApp({
      TOLLGATE_CONFIG: file,
      UPSTREAM_MAX_RETRIES: '0',
      CACHE: 'off',
    });
    try {
      const client = app.openai((await app.createKey({ scopes: ['chat'] })).key);
      for (const model of ['team-model', 'unconfigured-model']) {
        upstream.enqueue(json(500, { error: { message: 'down', type: 'server_error' } }));
        const err = await client.chat.completions
          .create({ model, messages: [{ role: 'user', content: 'hi' }] })
          .catch((e: unknown) => e);
        expect((err as { status?: number }).status, String(err)).toBe(502);
      }
      await settleLog(app.deps);
      const res = await fetch(`${await app.listen()}/metrics`);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const samples = parseSamples(text);
      expect(durations(samples, { status: '502', model: 'team-model' })).toBe(1);
      expect(durations(samples, { status: '502', model: 'other' })).toBe(1);
      expect(modelLabels(samples).has('unconfigured-model')).toBe(false);
    } finally {
      await app.close();
    }
  });
});

/** Answers embeddings and the model list like OpenAI, and every other call as a chat completion. */
const everyEndpoint: UpstreamHandler = (req, res) => {
  if (req.path.endsWith('/embeddings')) {
    return json(200, {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    })(req, res);
  }
  if (req.path.endsWith('/models')) {
    return json(200, {
      object: 'list',
      data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'system' }],
    })(req, res);
  }
  return ok(req, res);
};

describe('/metrics after traffic on every endpoint', () => {
  let text = '';
  let samples: Sample[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    upstream.setFallback(everyEndpoint);
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'stored one' });
    upstream.enqueue(sse(['a', 'b']));
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'streamed one',
      stream: true,
    });
    for await (const _event of stream);
    await client.responses.retrieve(response.id);
    await client.responses.inputTokens.count({ model: 'gpt-4o-mini', input: 'how many?' });
    await client.responses.inputItems.list(response.id);
    await client.responses.delete(response.id);
    await client.responses.retrieve(response.id).catch((e: unknown) => e);
    const conversation = await client.conversations.create({});
    await client.conversations.retrieve(conversation.id);
    await client.conversations.items.list(conversation.id);
    await client.conversations.delete(conversation.id);
    for (let i = 0; i < 2; i++) {
      await client.embeddings.create({ model: 'text-embedding-3-small', input: 'same text' });
    }
    await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'x', dimensions: -1 })
      .catch((e: unknown) => e);
    await client.models.list();
    await client.models.retrieve('gpt-4o-mini');
    ids.push(response.id, conversation.id);
    await settleLog(gateway.server.deps);
    text = await scrape();
    samples = parseSamples(text);
  });

  afterAll(() => upstream.setFallback(ok));

  it('passes promtool check metrics', (ctx) => {
    if (!existsSync(PROMTOOL)) ctx.skip(`${PROMTOOL} is not installed: promtool check skipped`);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
  });

  it('labels every request with its route template, never a raw id or a matcher pattern', () => {
    const routes = new Set(
      samples
        .filter((s) => s.name === 'tollgate_http_request_duration_seconds_count')
        .map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status}`),
    );
    const want = [
      'POST /v1/responses 200',
      'GET /v1/responses/:id 200',
      'POST /v1/responses/input_tokens 200',
      'GET /v1/responses/:id/input_items 200',
      'DELETE /v1/responses/:id 200',
      'GET /v1/responses/:id 404',
      'POST /v1/conversations 200',
      'GET /v1/conversations/:id 200',
      'GET /v1/conversations/:id/items 200',
      'DELETE /v1/conversations/:id 200',
      'POST /v1/embeddings 200',
      'POST /v1/embeddings 400',
      'GET /v1/models 200',
      'GET /v1/models/:id 200',
    ];
    expect(
      want.filter((r) => !routes.has(r)),
      [...routes].join('\n'),
    ).toEqual([]);
    // Counting input tokens is matched by the stored responses' pattern, and reported by its own.
    expect([...routes].filter((r) => r.startsWith('POST /v1/responses/:id'))).toEqual([]);
    const labelText = samples.flatMap((s) => Object.values(s.labels)).join(' ');
    for (const id of ids) expect(labelText).not.toContain(id);
    expect(labelText).not.toContain('{');
  });

  it('counts the Responses API stream and the embeddings cache like chat', () => {
    const count = (labels: Record<string, string>) =>
      sampleValue(samples, 'tollgate_http_request_duration_seconds_count', labels);
    expect(count({ route: '/v1/responses', status: '200', model: 'gpt-4o-mini' })).toBe(2);
    expect(count({ route: '/v1/embeddings', status: '200' })).toBe(2);
    expect(
      sampleValue(samples, 'tollgate_tokens_total', {
        type: 'prompt',
        model: 'text-embedding-3-small',
      }),
    ).toBe(4);
  });
});

/** This machine's own non-loopback address, so the gateway sees a remote scraper. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

describe('/metrics from another host', () => {
  it('needs the scrape token or an admin key, and the token opens nothing else', async (ctx) => {
    const address = externalAddress();
    if (!address) ctx.skip('no non-loopback IPv4 address on this machine');
    const base = `http://${address}:${gateway.server.port}`;
    const get = (path: string, bearer?: string) =>
      fetch(`${base}${path}`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
    const anonymous = await get('/metrics');
    expect(anonymous.status, await anonymous.text()).toBe(401);
    const wrong = await get('/metrics', `${METRICS_TOKEN}x`);
    expect(wrong.status, await wrong.text()).toBe(401);
    const scraped = await get('/metrics', METRICS_TOKEN);
    const body = await scraped.text();
    expect(scraped.status, body).toBe(200);
    expect(body).toContain('# TYPE tollgate_http_request_duration_seconds histogram');
    const admin = await get('/admin/keys', METRICS_TOKEN);
    expect(admin.status, await admin.text()).toBe(401);
  });
});
