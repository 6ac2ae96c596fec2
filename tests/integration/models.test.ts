import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const UPSTREAM_MODELS = {
  object: 'list',
  data: [
    { id: 'gpt-4o-mini', object: 'model', created: 1_721_172_741, owned_by: 'system' },
    { id: 'org/custom-model', object: 'model', created: 1_700_000_123, owned_by: 'acme' },
  ],
};

let upstream: FakeUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.setFallback(json(200, UPSTREAM_MODELS));
});

async function clientFor(spec: Parameters<TestGateway['createKey']>[0] = {}) {
  const { key } = await gateway.createKey(spec);
  return new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
}

describe('GET /v1/models', () => {
  it("lists the upstream's models with their own created and owned_by", async () => {
    const client = await clientFor();
    const page = await client.models.list();
    expect(page.data).toEqual(UPSTREAM_MODELS.data);
  });

  it("keeps OpenAI's shape when the upstream's list leaves out created, owned_by or a model", async () => {
    // Some OpenAI-compatible servers list bare ids; the list is read once a minute per gateway,
    // so this one has a gateway of its own.
    const bare = await startFakeUpstream();
    // Entries that name no model (null, no id) are left out: they were listed without an id, or
    // a null failed the whole list with a 502.
    bare.setFallback(
      json(200, {
        object: 'list',
        data: [{ id: 'llama3' }, null, { object: 'model' }, { id: 'qwen', object: 'model' }],
      }),
    );
    const own = await startTestGateway({ UPSTREAM_BASE_URL: bare.url, CACHE: 'off' });
    try {
      const { key } = await own.createKey();
      const client = new OpenAI({ apiKey: key, baseURL: `${own.baseURL}/v1`, maxRetries: 0 });
      const page = await client.models.list();
      expect(page.data).toEqual([
        { id: 'llama3', object: 'model', created: 0, owned_by: 'default' },
        { id: 'qwen', object: 'model', created: 0, owned_by: 'default' },
      ]);
      expect(await client.models.retrieve('llama3')).toEqual(page.data[0]);
    } finally {
      await own.stop();
      await bare.close();
    }
  });

  it('lists only the models a key may use', async () => {
    const client = await clientFor({ allowedModels: ['gpt-4o-mini'] });
    const page = await client.models.list();
    expect(page.data).toEqual([UPSTREAM_MODELS.data[0]]);
  });

  it('does not keep for a minute the failed list of a client that left while it was read', async () => {
    // The list is read once a minute per gateway: this one has a gateway of its own.
    const slow = await startFakeUpstream();
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    let calls = 0;
    slow.setFallback((req, res) => {
      calls += 1;
      // The first call is held until the gateway gives it up (its client left).
      if (calls === 1) res.on('close', upstreamClosed);
      else void json(200, UPSTREAM_MODELS)(req, res);
    });
    const own = await startTestGateway({ UPSTREAM_BASE_URL: slow.url, CACHE: 'off' });
    try {
      const { key } = await own.createKey({ allowedModels: ['gpt-4o-mini'] });
      const client = new OpenAI({ apiKey: key, baseURL: `${own.baseURL}/v1`, maxRetries: 0 });
      const leaving = new AbortController();
      const left = client.models.list({ signal: leaving.signal }).catch((e: unknown) => e);
      while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
      leaving.abort();
      await left;
      await closed;
      const page = await client.models.list();
      expect(page.data).toEqual([UPSTREAM_MODELS.data[0]]);
      expect(calls).toBe(2);
    } finally {
      await own.stop();
      await slow.close();
    }
  });

  it('lists the models the routing file names beside `*`, aliases the upstream does not list', async () => {
    // The list is read once a minute per gateway: this one has a gateway of its own.
    const routed = await startFakeUpstream();
    routed.setFallback(json(200, UPSTREAM_MODELS));
    const file = join(tmpdir(), `tollgate-models-routing-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: { openai: { baseURL: routed.url, apiKey: 'sk-routed-0000000000' } },
        models: { fast: [{ upstream: 'openai', model: 'gpt-4o-mini' }], '*': ['openai'] },
      }),
    );
    const own = await startTestGateway({ TOLLGATE_CONFIG: file, CACHE: 'off' });
    try {
      const { key } = await own.createKey();
      const client = new OpenAI({ apiKey: key, baseURL: `${own.baseURL}/v1`, maxRetries: 0 });
      const fast = { id: 'fast', object: 'model', created: 0, owned_by: 'openai' };
      expect((await client.models.list()).data).toEqual([...UPSTREAM_MODELS.data, fast]);
      expect(await client.models.retrieve('fast')).toEqual(fast);
      expect(await client.models.retrieve('gpt-4o-mini')).toEqual(UPSTREAM_MODELS.data[0]);
    } finally {
      await own.stop();
      await routed.close();
      rmSync(file, { force: true });
    }
  });

  it('lists a model once when the key names it twice', async () => {
    const client = await clientFor({ allowedModels: ['gpt-4o-mini', 'gpt-4o-mini'] });
    const page = await client.models.list();
    expect(page.data).toEqual([UPSTREAM_MODELS.data[0]]);
  });
});

describe('GET /v1/models/{id}', () => {
  it('returns one model through models.retrieve, ids with a slash included', async () => {
    const client = await clientFor();
    expect(await client.models.retrieve('gpt-4o-mini')).toEqual(UPSTREAM_MODELS.data[0]);
    expect(await client.models.retrieve('org/custom-model')).toEqual(UPSTREAM_MODELS.data[1]);
  });

  it("answers 404 model_not_found in OpenAI's shape for an unknown model", async () => {
    const client = await clientFor();
    const err = await client.models.retrieve('gpt-unknown').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toEqual({
      message: "The model 'gpt-unknown' does not exist or is not served by this gateway.",
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
  });

  it('answers 404 for a model the key may not use', async () => {
    const client = await clientFor({ allowedModels: ['gpt-4o-mini'] });
    const err = await client.models.retrieve('org/custom-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toMatchObject({ code: 'model_not_found' });
  });

  it('answers 401 without a valid key, through the same error path', async () => {
    const res = await fetch(`${gateway.baseURL}/v1/models/gpt-4o-mini`, {
      headers: { authorization: 'Bearer tg_nope' },
    });
    const body = await res.text();
    expect(res.status, body).toBe(401);
    expect(JSON.parse(body).error.code, body).toBe('invalid_api_key');
    expect(res.headers.get('x-request-id'), body).toMatch(/^[0-9a-f-]{36}$/);
  });
});
