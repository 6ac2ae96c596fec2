import { inArray } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollUpPending } from '../../src/storage/queries/analytics-rollups.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** What clients and upstreams may send that a plaintext column or an index cannot take as is. */
describe('interaction log with awkward input', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let client: OpenAI;
  let chatKey: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) => json(200, completionFor(req.body, 'fine'))(req, res));
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
    });
    const k = await gateway.createKey();
    chatKey = k.key;
    client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('records every request, whatever its user, content or usage holds', async () => {
    upstream.enqueue((req, res) =>
      json(200, {
        ...completionFor(req.body, 'odd usage'),
        usage: { prompt_tokens: 12.6, completion_tokens: 'five', total_tokens: 17 },
      })(req, res),
    );
    const odd = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'odd upstream' }] })
      .withResponse();
    upstream.enqueue((req, res) =>
      json(200, {
        ...completionFor(req.body, 'impossible usage'),
        usage: { prompt_tokens: -5, completion_tokens: 1e308, total_tokens: 17 },
      })(req, res),
    );
    const impossible = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'impossible usage' }] })
      .withResponse();
    const nul = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'a NUL \u0000 in the prompt' }],
        user: 'user\u0000with-nul',
      })
      .withResponse();
    // An end-user id longer than 256 characters is refused (it is stored as plaintext), and the
    // refusal is recorded like any other answer.
    const long = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'long user' }],
        user: 'u'.repeat(10_000),
      })
      .catch((e: unknown) => e);
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    const refused = long as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refused.param).toBe('user');
    await settleLog(gateway.server.deps);

    const ids = [
      odd.response.headers.get('x-request-id') ?? '',
      nul.response.headers.get('x-request-id') ?? '',
      refused.headers?.get('x-request-id') ?? '',
      impossible.response.headers.get('x-request-id') ?? '',
    ];
    const rows = await gateway.server.deps.database.db
      .select()
      .from(interactions)
      .where(inArray(interactions.id, ids));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(rows).toHaveLength(4);
    // A negative count or one past any column is unknown, not a number the analytics add up.
    expect(byId.get(ids[3] ?? '')).toMatchObject({ promptTokens: null, completionTokens: null });
    expect(byId.get(ids[0] ?? '')).toMatchObject({
      promptTokens: 13,
      completionTokens: null,
    });
    expect(byId.get(ids[1] ?? '')?.endUser).toBe('user\ufffdwith-nul');
    expect(byId.get(ids[2] ?? '')).toMatchObject({
      status: 400,
      errorCode: 'string_above_max_length',
    });
    expect(gateway.server.deps.writer.metrics).toMatchObject({ outboxRows: 0, rowsRejected: 0 });
    // The rollups take every one of them.
    await expect(rollUpPending(gateway.server.deps.database.db)).resolves.toBeGreaterThan(0);
  });

  it('records a refused request with the endpoint it came to and the model its body named, as the analytics list shows it', async () => {
    const narrow = await gateway.createKey({ allowedModels: ['gpt-4o-mini'] });
    const analyst = await gateway.createKey({ scopes: ['analytics:read'] });
    const chat = (body: string, model: string | null, code: string, key = chatKey) => ({
      path: 'chat/completions',
      endpoint: 'chat.completions',
      body,
      model,
      code,
      key,
    });
    const refusals = [
      chat('{"model":"gpt-4o","messages":"x"}', 'gpt-4o', 'invalid_type'),
      chat('not json', null, 'invalid_json'),
      chat('[{"model":"gpt-4o"}]', null, 'invalid_type'),
      chat('{"model":42,"messages":[]}', null, 'invalid_type'),
      chat(
        '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
        'gpt-4o',
        'model_not_allowed',
        narrow.key,
      ),
      {
        path: 'responses',
        endpoint: 'responses',
        body: '{"model":"gpt-4o-mini","input":5}',
        model: 'gpt-4o-mini',
        code: 'invalid_type',
        key: chatKey,
      },
      {
        path: 'responses',
        endpoint: 'responses',
        body: '{"model":"gpt-4o-mini",',
        model: null,
        code: 'invalid_json',
        key: chatKey,
      },
      {
        path: 'embeddings',
        endpoint: 'embeddings',
        body: '{"model":"text-embedding-3-small"}',
        model: 'text-embedding-3-small',
        code: 'missing_required_parameter',
        key: chatKey,
      },
    ];
    const answers: { id: string; status: number; text: string }[] = [];
    for (const { path, body, key } of refusals) {
      const res = await fetch(`${gateway.baseURL}/v1/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
      answers.push({
        id: res.headers.get('x-request-id') ?? '',
        status: res.status,
        text: await res.text(),
      });
    }
    await settleLog(gateway.server.deps);

    const res = await fetch(`${gateway.baseURL}/analytics/interactions?status=error&limit=1000`, {
      headers: { authorization: `Bearer ${analyst.key}` },
    });
    const list = (await res.json()) as { data: Record<string, unknown>[] };
    expect(res.status, JSON.stringify(list)).toBe(200);
    refusals.forEach(({ path, body, endpoint, model, code }, i) => {
      const answer = answers[i];
      const what = `${path} ${body}: ${answer?.text}`;
      expect(JSON.parse(answer?.text ?? '{}').error?.code, what).toBe(code);
      const row = list.data.find((r) => r.id === answer?.id);
      expect(row, `${what} in ${JSON.stringify(list)}`).toMatchObject({
        endpoint,
        model,
        status: answer?.status,
        error_code: code,
      });
    });
  });

  it('refuses a model name longer than 256 characters with an OpenAI-style error', async () => {
    const err = await client.chat.completions
      .create({ model: 'm'.repeat(257), messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({
      status: 400,
      param: 'model',
      code: 'string_above_max_length',
      type: 'invalid_request_error',
    });
    expect((err as Error).message).toContain('maximum length 256');
  });
});
