import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { json, ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: Record<string, unknown> }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

const SERVER = 2;
const CLIENT = 3;
/** OTLP's STATUS_CODE_ERROR. */
const ERROR = 2;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

/** An OTLP/HTTP collector on loopback that keeps every span it is sent. */
async function startCollector() {
  const spans: OtlpSpan[] = [];
  const services: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const exported = JSON.parse(body) as OtlpExport;
      for (const resource of exported.resourceSpans) {
        services.push(
          resource.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
        );
        for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    services,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function attribute(span: OtlpSpan | undefined, key: string): unknown {
  const value = span?.attributes.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
}

/** A span's GenAI provider and server attributes (OTLP JSON carries an int as a string). */
function upstreamAttributes(span: OtlpSpan | undefined) {
  return {
    provider: attribute(span, 'gen_ai.provider.name'),
    address: attribute(span, 'server.address'),
    port: String(attribute(span, 'server.port')),
  };
}

/** What the upstream call's span says of the fake upstream (UPSTREAM_BASE_URL: `openai`). */
function upstreamServer() {
  const url = new URL(upstream.url);
  return { provider: 'openai', address: url.hostname, port: url.port };
}

let upstream: FakeUpstream;
let collector: Awaited<ReturnType<typeof startCollector>>;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  collector = await startCollector();
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_SERVICE_NAME: 'tollgate-under-test',
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await collector?.close();
});

async function spansOf(traceId: string): Promise<OtlpSpan[]> {
  await settleLog(gateway.server.deps);
  await gateway.server.deps.tracing.flush();
  return collector.spans.filter((s) => s.traceId === traceId);
}

describe('OpenTelemetry tracing with an OTLP endpoint set', () => {
  it("continues the client's traceparent: one request span, cache, upstream and record children, traceparent sent upstream", async () => {
    const { key } = await gateway.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'trace me' }] },
        { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } },
      )
      .withResponse();

    const spans = await spansOf(CLIENT_TRACE);
    const request = spans.find((s) => s.name === 'POST /v1/chat/completions');
    expect(request?.kind).toBe(SERVER);
    expect(request?.parentSpanId).toBe(CLIENT_SPAN);
    expect(attribute(request, 'http.response.status_code')).toBe(200);
    expect(attribute(request, 'gen_ai.request.model')).toBe('gpt-4o-mini');
    expect(attribute(request, 'tollgate.request_id')).toBe(response.headers.get('x-request-id'));
    const children = spans.filter((s) => s.parentSpanId === request?.spanId);
    expect(children.map((s) => s.name).sort()).toEqual([
      'cache lookup',
      'chat gpt-4o-mini',
      'record',
    ]);
    const call = children.find((s) => s.name === 'chat gpt-4o-mini');
    expect(call?.kind).toBe(CLIENT);
    expect(attribute(call, 'tollgate.provider')).toBe('default');
    expect(upstreamAttributes(call)).toEqual(upstreamServer());
    expect(collector.services).toContain('tollgate-under-test');

    const sent = upstream.requests.at(-1)?.headers.traceparent;
    expect(sent).toBe(`00-${CLIENT_TRACE}-${call?.spanId}-01`);
    // Nothing of the prompt or the key in any span.
    expect(JSON.stringify(spans)).not.toContain('trace me');
    expect(JSON.stringify(spans)).not.toContain(key);
  });

  it('keeps the upstream span of a stream open until the stream ends', async () => {
    const { key } = await gateway.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const trace = 'a'.repeat(32);
    upstream.enqueue(sse(['Hel', 'lo']));
    const stream = await client.chat.completions.create(
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'stream it' }],
        stream: true,
      },
      { headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');

    const spans = await spansOf(trace);
    const request = spans.find((s) => s.name === 'POST /v1/chat/completions');
    const call = spans.find((s) => s.name === 'chat gpt-4o-mini');
    expect(call?.parentSpanId).toBe(request?.spanId);
    expect(spans.map((s) => s.name)).toContain('record');
  });

  it('marks the upstream span of a stream the upstream cut mid-way as failed, with why', async () => {
    const { key } = await gateway.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const trace = 'c'.repeat(32);
    upstream.enqueue(sse(['Hel', 'lo', ' there'], { failAfter: 2 }));
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'cut me' }], stream: true },
      { headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` } },
    );
    const failure = await (async () => {
      for await (const _chunk of stream);
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.APIError);

    const spans = await spansOf(trace);
    const request = spans.find((s) => s.name === 'POST /v1/chat/completions');
    const call = spans.find((s) => s.name === 'chat gpt-4o-mini');
    expect(attribute(request, 'http.response.status_code')).toBe(502);
    expect(request?.status?.code).toBe(ERROR);
    expect(call?.status).toMatchObject({ code: ERROR, message: 'connection closed mid-answer' });
  });

  it('traces /v1/responses, /v1/embeddings and the stored objects by route template, the upstream call a child with its traceparent sent', async () => {
    const { key } = await gateway.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const secret = 'confidential responses input';
    const traces = {
      responses: 'b'.repeat(32),
      embeddings: 'c'.repeat(32),
      stored: 'd'.repeat(32),
    };
    const parent = (trace: string) => ({
      headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` },
    });
    const response = await client.responses.create(
      { model: 'gpt-4o-mini', input: secret },
      parent(traces.responses),
    );
    const toResponses = upstream.requests.at(-1)?.headers.traceparent;
    upstream.enqueue((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [0.5, 0.25] }],
          model: 'text-embedding-3-small',
          usage: { prompt_tokens: 3, total_tokens: 3 },
        }),
      );
    });
    await client.embeddings.create(
      { model: 'text-embedding-3-small', input: secret },
      parent(traces.embeddings),
    );
    const toEmbeddings = upstream.requests.at(-1)?.headers.traceparent;
    await client.responses.retrieve(response.id, {}, parent(traces.stored));
    const conversation = await client.conversations.create({}, parent(traces.stored));
    await client.conversations.items.list(conversation.id, {}, parent(traces.stored));
    upstream.enqueue(json(200, { object: 'list', data: [] }));
    await client.models.retrieve('gpt-4o-mini', parent(traces.stored)).catch((e: unknown) => e);

    const cases = [
      {
        trace: traces.responses,
        name: 'POST /v1/responses',
        call: 'chat gpt-4o-mini',
        sent: toResponses,
      },
      {
        trace: traces.embeddings,
        name: 'POST /v1/embeddings',
        call: 'embeddings text-embedding-3-small',
        sent: toEmbeddings,
      },
    ];
    for (const c of cases) {
      const spans = await spansOf(c.trace);
      const request = spans.find((s) => s.name === c.name);
      expect(request?.kind, spans.map((s) => s.name).join(', ')).toBe(SERVER);
      expect(request?.parentSpanId).toBe(CLIENT_SPAN);
      expect(attribute(request, 'http.route')).toBe(c.name.split(' ')[1]);
      const call = spans.find((s) => s.name === c.call);
      expect(call?.kind, spans.map((s) => s.name).join(', ')).toBe(CLIENT);
      expect(call?.parentSpanId).toBe(request?.spanId);
      expect(c.sent).toBe(`00-${c.trace}-${call?.spanId}-01`);
      expect(upstreamAttributes(call), c.call).toEqual(upstreamServer());
      expect(JSON.stringify(spans)).not.toContain(secret);
      expect(JSON.stringify(spans)).not.toContain(key);
    }
    const stored = (await spansOf(traces.stored)).map((s) => s.name).sort();
    expect(stored).toEqual([
      'GET /v1/conversations/:id/items',
      'GET /v1/models/:id',
      'GET /v1/responses/:id',
      'POST /v1/conversations',
    ]);
  });

  it('names the upstream a failed call went to, beside why it failed', async () => {
    const { key } = await gateway.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const trace = 'e'.repeat(32);
    upstream.enqueue(
      json(400, {
        error: { message: 'Bad.', type: 'invalid_request_error', param: null, code: null },
      }),
    );
    const failure = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'refused upstream' }] },
        { headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` } },
      )
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const call = (await spansOf(trace)).find((s) => s.name === 'chat gpt-4o-mini');
    expect(call?.status).toMatchObject({ code: ERROR, message: 'upstream answered 400' });
    expect(upstreamAttributes(call)).toEqual(upstreamServer());
  });

  it('traces GET /v1/models and GET /v1/models/{id} as every other route', async () => {
    const { key } = await gateway.createKey({ allowedModels: ['gpt-4o-mini'] });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const trace = 'f'.repeat(32);
    const parent = { headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` } };
    const models = await client.models.list(parent);
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
    const model = await client.models.retrieve('gpt-4o-mini', parent);
    expect(model.id).toBe('gpt-4o-mini');
    const spans = await spansOf(trace);
    expect(spans.map((s) => s.name).sort()).toEqual(['GET /v1/models', 'GET /v1/models/:id']);
    for (const span of spans) {
      expect(span.kind).toBe(SERVER);
      expect(span.parentSpanId).toBe(CLIENT_SPAN);
      expect(attribute(span, 'http.response.status_code')).toBe(200);
    }
  });

  it('starts a new trace without a traceparent, and traces routes outside the pipeline', async () => {
    const before = collector.spans.length;
    const res = await fetch(`${gateway.baseURL}/healthz`);
    expect(res.status).toBe(200);
    await gateway.server.deps.tracing.flush();
    const health = collector.spans.slice(before).find((s) => s.name === 'GET /healthz');
    expect(health?.kind).toBe(SERVER);
    expect(health?.parentSpanId ?? '').toBe('');
    expect(health?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('names the span of a path no route serves by its method alone, without http.route', async () => {
    const before = collector.spans.length;
    const res = await fetch(`${gateway.baseURL}/nowhere/item_123`);
    expect(res.status, await res.text()).toBe(404);
    await gateway.server.deps.tracing.flush();
    const spans = collector.spans
      .slice(before)
      .filter((s) => attribute(s, 'tollgate.request_id') === res.headers.get('x-request-id'));
    expect(spans.map((s) => s.name)).toEqual(['GET']);
    expect(attribute(spans[0], 'http.response.status_code')).toBe(404);
    expect(attribute(spans[0], 'http.route')).toBeUndefined();
  });
});
