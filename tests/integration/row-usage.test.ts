import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getJson, type RowJson, startAnalyticsGateway } from '../helpers/analytics-client.js';
import { createCsvReader } from '../helpers/csv-reader.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

/** The model the fake provider answers with, as OpenAI names a snapshot of `gpt-4o-mini`. */
const ANSWERED = 'gpt-4o-mini-2024-07-18';

/** Answers chat requests as the provider does: with its dated model name, whatever was asked. */
const dated: UpstreamHandler = (req, res) => {
  if (req.path.endsWith('/embeddings')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }],
        model: 'text-embedding-3-small-v2',
        usage: { prompt_tokens: 4, total_tokens: 4 },
      }),
    );
    return;
  }
  const asAnswered = { ...req, body: { ...req.body, model: ANSWERED } };
  return req.body.stream === true ? sse(['Hello', ' there'])(asAnswered, res) : ok(asAnswered, res);
};

/** The chunks `sse([...])` sends: role first, then one per part, the finish, then usage. */
const SECOND_PART = 2;

describe.each(storageDrivers())('interaction rows on $name', (driver) => {
  let target: TestDatabaseTarget;
  let upstream: FakeUpstream;
  let gateway: TestApp;
  let client: OpenAI;
  /** A client over a real socket: a stream it leaves is a closed connection. */
  let socketClient: OpenAI;
  let analyticsKey: string;

  beforeAll(async () => {
    target = await driver.create();
    upstream = await startFakeUpstream();
    ({ gateway } = await startAnalyticsGateway(target, {
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
    }));
    const key = await gateway.createKey({ scopes: ['chat', 'analytics:read'] });
    analyticsKey = key.key;
    client = gateway.openai(key.key);
    socketClient = new OpenAI({
      apiKey: key.key,
      baseURL: `${await gateway.listen()}/v1`,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    await target?.drop();
  });

  beforeEach(() => {
    upstream.setFallback(dated);
  });

  /** The rows of the given request ids, as GET /analytics/interactions/:id shows them. */
  async function rowsOf(ids: readonly (string | null)[]): Promise<RowJson[]> {
    await settleLog(gateway.deps);
    const rows: RowJson[] = [];
    for (const id of ids) {
      const row = await getJson(gateway, `/analytics/interactions/${id}`, analyticsKey);
      expect(row.status, row.text).toBe(200);
      rows.push(row.body as unknown as RowJson);
    }
    return rows;
  }

  it('records the model asked and the model the provider answered with alike on every path, fresh or cached', async () => {
    const ids: (string | null)[] = [];
    const ask = (content: string) => ({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content }],
    });
    for (const repeat of [1, 2]) {
      const plain = await client.chat.completions.create(ask('What is due in May?')).withResponse();
      expect(plain.data.model).toBe(ANSWERED);
      const streamed = await client.chat.completions
        .create({ ...ask('What is due in June?'), stream: true })
        .withResponse();
      for await (const _ of streamed.data) {
        // drain
      }
      const responses = await client.responses
        .create({ model: 'gpt-4o-mini', input: 'What is due in July?', store: false })
        .withResponse();
      const embedded = await client.embeddings
        .create({ model: 'text-embedding-3-small', input: 'invoices' })
        .withResponse();
      for (const { response } of [plain, streamed, responses, embedded]) {
        expect(response.headers.get('x-tollgate-cache'), `call ${repeat}`).toBe(
          repeat === 1 ? 'miss' : 'hit',
        );
        ids.push(response.headers.get('x-request-id'));
      }
      await settleLog(gateway.deps);
    }
    const rows = await rowsOf(ids);
    const facts = rows.map((r) =>
      [r.endpoint, r.stream, r.cache_status, r.model, r.upstream_model, r.provider].join(' '),
    );
    const fresh = [
      `chat.completions false miss gpt-4o-mini ${ANSWERED} default`,
      `chat.completions true miss gpt-4o-mini ${ANSWERED} default`,
      `responses false miss gpt-4o-mini ${ANSWERED} default`,
      'embeddings false miss text-embedding-3-small text-embedding-3-small-v2 default',
    ];
    expect(facts).toEqual([...fresh, ...fresh.map((f) => f.replace(' miss ', ' hit '))]);
    // The export says the same of a hit: the provider its answer came from.
    const csv = await gateway.request('/analytics/export?format=csv', {
      headers: { authorization: `Bearer ${analyticsKey}` },
    });
    const csvText = await csv.text();
    expect(csv.status, csvText).toBe(200);
    const [header = [], ...records] = createCsvReader().push(csvText);
    const exported = records.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])));
    const hitIds = ids.slice(fresh.length);
    expect(
      hitIds.map((id) => {
        const row = exported.find((r) => r.id === id);
        return `${row?.cache_status} ${row?.provider}`;
      }),
      csvText,
    ).toEqual(hitIds.map(() => 'hit default'));
  });

  it('counts the tokens of a stream the client leaves, marked as estimated, and keeps the provider count of a whole one', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream.enqueue(sse(['Hello', ' there'], { pauseBefore: SECOND_PART, pause: held }));
    const controller = new AbortController();
    const leaving = await socketClient.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], stream: true },
        { signal: controller.signal },
      )
      .withResponse();
    const chunks = leaving.data[Symbol.asyncIterator]();
    await chunks.next();
    expect((await chunks.next()).value?.choices[0]?.delta.content).toBe('Hello');
    controller.abort();
    await upstream.requests.at(-1)?.closedEarly;
    release();

    const whole = await socketClient.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello again' }],
        stream: true,
      })
      .withResponse();
    for await (const _ of whole.data) {
      // drain
    }
    const [left, sent] = await rowsOf([
      leaving.response.headers.get('x-request-id'),
      whole.response.headers.get('x-request-id'),
    ]);
    // The prompt as sent (3 to prime the reply + 3 for the message + `user` + `Say` ` hello`)
    // and the one token streamed before the client left.
    expect(left, JSON.stringify(left)).toMatchObject({
      status: 499,
      error_code: 'client_closed',
      prompt_tokens: 9,
      completion_tokens: 1,
      usage_estimated: true,
    });
    // The provider's usage chunk: its own count, not an estimate.
    expect(sent, JSON.stringify(sent)).toMatchObject({
      status: 200,
      prompt_tokens: 9,
      completion_tokens: 2,
      usage_estimated: false,
    });
  });

  it('estimates a stream the upstream ends before its usage chunk, and exports the mark', async () => {
    // Role, `Hello`, ` there`, the finish: then the body ends, with no usage chunk and no [DONE].
    upstream.enqueue(sse(['Hello', ' there'], { endAfter: 4 }));
    const cut = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello twice' }],
        stream: true,
      })
      .withResponse();
    let text = '';
    for await (const chunk of cut.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello there');
    const id = cut.response.headers.get('x-request-id');
    const [row] = await rowsOf([id]);
    expect(row, JSON.stringify(row)).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 2,
      usage_estimated: true,
    });
    const csv = await gateway.request('/analytics/export?format=csv', {
      headers: { authorization: `Bearer ${analyticsKey}` },
    });
    const csvText = await csv.text();
    expect(csv.status, csvText).toBe(200);
    const [header = [], ...records] = createCsvReader().push(csvText);
    const exported = records
      .map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])))
      .find((r) => r.id === id);
    expect(exported, csvText).toMatchObject({ usage_estimated: 'true', prompt_tokens: '10' });
    const ndjson = await gateway.request('/analytics/export?format=ndjson', {
      headers: { authorization: `Bearer ${analyticsKey}` },
    });
    const line = (await ndjson.text())
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as RowJson)
      .find((r) => r.id === id);
    expect(line, JSON.stringify(line)).toMatchObject({ usage_estimated: true, prompt_tokens: 10 });
  });
});
