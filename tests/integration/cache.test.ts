import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../src/cache/semantic-decision.js';
import { cosineSimilarity } from '../../src/cache/vector-math.js';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { manualClock } from '../helpers/manual-clock.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** Waits for the background work and writes the cache's queue, so the database shows it. */
async function settle(g: TestGateway): Promise<void> {
  await settleLog(g.server.deps);
  await g.server.deps.cache.flush();
}

const ANSWER_MARKER = 'PANGOLIN-CACHE-ANSWER-5521';
const QUESTION_MARKER = 'NARWHAL-CACHE-QUESTION-9034';

let upstream: FakeUpstream;
let gateway: TestGateway;
let client: OpenAI;
let apiKey: string;
let answerCount = 0;

function chatCount(): number {
  return upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
}

function clientFor(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // A still wall clock: `age` must not depend on how busy the machine is.
  gateway = await startTestGateway(
    { UPSTREAM_BASE_URL: upstream.url, UPSTREAM_MAX_RETRIES: '0' },
    { clock: manualClock(Date.UTC(2030, 0, 1)) },
  );
  apiKey = (await gateway.createKey()).key;
  client = clientFor(apiKey);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

beforeEach(async () => {
  upstream.requests.length = 0;
  upstream.setFallback((req, res) =>
    json(200, completionFor(req.body, `Answer ${++answerCount} ${ANSWER_MARKER}`))(req, res),
  );
  const deps = gateway.server.deps;
  await settle(gateway);
  const tenants = await deps.database.db.execute(sql`select id from tenants`);
  const rows = ((tenants as unknown as { rows: { id: string }[] }).rows ?? []) as { id: string }[];
  for (const t of rows) await deps.cache.flushTenant(t.id);
});

type Params = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model' | 'messages'> & {
  model?: string;
  messages?: OpenAI.ChatCompletionMessageParam[];
};

async function ask(content: string, params: Params = {}, c: OpenAI = client) {
  const { model = 'gpt-4o-mini', messages = [], ...rest } = params;
  const { data, response } = await c.chat.completions
    .create({ model, messages: [...messages, { role: 'user', content }], ...rest })
    .withResponse();
  await settle(gateway);
  return {
    body: data,
    cache: response.headers.get('x-tollgate-cache'),
    headers: response.headers,
    requestId: response.headers.get('x-request-id') ?? '',
  };
}

describe('exact cache', () => {
  it('answers the same question twice with one upstream call and marks the second a hit', async () => {
    const first = await ask('What is the capital of Norway?');
    const second = await ask('What is the capital of Norway?');
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    expect(second.cache, JSON.stringify(second.body)).toBe('hit');
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('x-tollgate-cache-similarity')).toBe('1.0000');
    expect(second.headers.get('age')).toBe('0');
    expect(chatCount()).toBe(1);
  });

  it('sends a hit as the very bytes of the first answer', async () => {
    // Indented, as OpenAI sends it: a hit that serialised the answer again would be compact.
    const indented = `${JSON.stringify(completionFor({ model: 'gpt-4o-mini' }, 'Geirangerfjord.'), null, 2)}\n`;
    upstream.enqueue((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(indented);
    });
    const send = async () => {
      const response = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name a fjord.' }] })
        .asResponse();
      await settle(gateway);
      return { cache: response.headers.get('x-tollgate-cache'), text: await response.text() };
    };
    const first = await send();
    const second = await send();
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(first.text).toBe(indented);
    expect(second.text).toBe(indented);
  });

  it('treats whitespace differences in the last user turn as the same question', async () => {
    await ask('What is the capital of Sweden?');
    const again = await ask('  What is   the capital of Sweden?\n');
    expect(again.cache, JSON.stringify(again.body)).toBe('hit');
    expect(chatCount()).toBe(1);
  });

  it('records the hit on the interaction row with its status, similarity and the tokens it saved', async () => {
    await ask('How tall is Mount Everest?');
    const hit = await ask('How tall is Mount Everest?');
    const row = await findInteraction(gateway.server.deps.database.db, hit.requestId);
    expect(row, JSON.stringify(hit.body)).toBeDefined();
    expect(row?.cacheStatus).toBe('hit');
    expect(row?.cacheSimilarity).toBe(1);
    expect(row?.tokensSavedCache).toBe(17);
    expect(row?.promptTokens).toBeNull();
    expect(row?.status).toBe(200);
  });

  it('records a miss as cache_status miss without tokens saved', async () => {
    const miss = await ask('How deep is the Mariana Trench?');
    const row = await findInteraction(gateway.server.deps.database.db, miss.requestId);
    expect(row?.cacheStatus).toBe('miss');
    expect(row?.tokensSavedCache).toBeNull();
    expect(row?.promptTokens).toBe(12);
  });
});

describe('cache isolation', () => {
  it('never answers one tenant with another tenant’s entry', async () => {
    await insertTenant(gateway.server.deps.database.db, 'isolation-other');
    const other = clientFor((await gateway.createKey({ tenant: 'isolation-other' })).key);
    await ask('Which planet is largest?');
    const fromOther = await ask('Which planet is largest?', {}, other);
    expect(fromOther.cache, JSON.stringify(fromOther.body)).toBe('miss');
    expect(chatCount()).toBe(2);
  });

  it('never crosses models, temperatures or earlier conversations', async () => {
    const q = 'Summarise the plot of Hamlet.';
    const variants: Params[] = [
      { model: 'gpt-4o-mini' },
      { model: 'gpt-4o' },
      { model: 'gpt-4o-mini', temperature: 0.2 },
      { model: 'gpt-4o-mini', temperature: 0.9 },
      {
        messages: [
          { role: 'user', content: 'Talk like a pirate.' },
          { role: 'assistant', content: 'Arr.' },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'Answer in French.' },
          { role: 'assistant', content: 'D’accord.' },
        ],
      },
    ];
    for (const v of variants) {
      const r = await ask(q, v);
      expect(r.cache, `${JSON.stringify(v)} → ${JSON.stringify(r.body)}`).toBe('miss');
    }
    expect(chatCount()).toBe(variants.length);
    for (const v of variants) {
      const r = await ask(q, v);
      expect(r.cache, `${JSON.stringify(v)} → ${JSON.stringify(r.body)}`).toBe('hit');
    }
    expect(chatCount()).toBe(variants.length);
  });
});

describe('semantic cache', () => {
  const original = 'How do I reverse a list in Python?';
  const paraphrase = 'How can I reverse a list in Python?';

  it('scores the paraphrase above the default threshold with the local embedder', () => {
    const e = createLocalEmbedder();
    expect(cosineSimilarity(e.embedSync(original), e.embedSync(paraphrase))).toBeGreaterThan(
      DEFAULT_SEMANTIC_THRESHOLD,
    );
  });

  it('answers a close paraphrase in the same scope from the cache as a semantic hit', async () => {
    const first = await ask(original);
    const second = await ask(paraphrase);
    expect(second.cache, JSON.stringify(second.body)).toBe('semantic-hit');
    expect(second.body).toEqual(first.body);
    const similarity = Number(second.headers.get('x-tollgate-cache-similarity'));
    expect(similarity).toBeGreaterThan(DEFAULT_SEMANTIC_THRESHOLD);
    expect(similarity).toBeLessThan(1);
    expect(chatCount()).toBe(1);
    const row = await findInteraction(gateway.server.deps.database.db, second.requestId);
    expect(row?.cacheStatus).toBe('semantic-hit');
    expect(row?.cacheSimilarity).toBeCloseTo(similarity, 3);
  });

  it('does not answer a question about the asker with one about the assistant', async () => {
    // 0.98 similar to the local embedder, which weighs pronouns as next to nothing.
    const first = await ask('What is my name?');
    const second = await ask('What is your name?');
    expect(second.cache, JSON.stringify(second.body)).toBe('miss');
    expect(second.body.choices[0]?.message.content).not.toBe(
      first.body.choices[0]?.message.content,
    );
    expect(chatCount()).toBe(2);
  });

  it('does not answer a follow-up about the other function with one about this function', async () => {
    // The same conversation so far; the last turns are 0.99 similar to the local embedder.
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Add type hints to parse_row and write_row.' },
      { role: 'assistant', content: 'Here is parse_row with type hints: …' },
    ];
    const first = await ask('now do the same for the other function', { messages });
    const second = await ask('now do the same for this function', { messages });
    expect(second.cache, JSON.stringify(second.body)).toBe('miss');
    expect(second.body.choices[0]?.message.content).not.toBe(
      first.body.choices[0]?.message.content,
    );
    expect(chatCount()).toBe(2);
  });

  it('does not answer the paraphrase from another model’s entry', async () => {
    await ask(original, { model: 'gpt-4o' });
    const r = await ask(paraphrase);
    expect(r.cache, JSON.stringify(r.body)).toBe('miss');
  });
});

describe('questions that differ where whitespace or capitals change the answer', () => {
  const pythonBlock = (last: string) =>
    `What does this print?\n\`\`\`python\nfor i in range(2):\n    print('a')\n${last}\n\`\`\``;
  const differing: ReadonlyArray<readonly [string, string, string]> = [
    [
      'the indentation of a line in fenced Python',
      pythonBlock("    print('b')"),
      pythonBlock("print('b')"),
    ],
    ['the indentation of plain YAML', 'a:\n  b: 1\nc: 2', 'a:\n  b: 1\n  c: 2'],
    [
      'the indentation of fenced YAML',
      'What does this hold?\n```yaml\na:\n  b: 1\nc: 2\n```',
      'What does this hold?\n```yaml\na:\n  b: 1\n  c: 2\n```',
    ],
    [
      'which of two words is in capitals',
      'Is the SQL keyword NULL the same as null in JSON?',
      'Is the SQL keyword null the same as NULL in JSON?',
    ],
    [
      'an acronym against the same word in lower case',
      'Is US healthcare free?',
      'Is us healthcare free?',
    ],
    [
      'the spaces inside a quoted string',
      'How many spaces are between the words in "x    y"?',
      'How many spaces are between the words in "x y"?',
    ],
    [
      'the spaces inside inline code',
      'What does `print("a  b")` output in Python?',
      'What does `print("a b")` output in Python?',
    ],
  ];

  it.each(differing)('answers a question differing in %s from upstream', async (_what, a, b) => {
    const first = await ask(a);
    const second = await ask(b);
    expect(first.cache, JSON.stringify(first.body)).toBe('miss');
    expect(second.cache, JSON.stringify(second.body)).toBe('miss');
    expect(second.body.choices[0]?.message.content).not.toBe(
      first.body.choices[0]?.message.content,
    );
    expect(chatCount()).toBe(2);
  });

  it('still treats whitespace outside quotes and code as the same question', async () => {
    const first = await ask('How many spaces are between the words in "x    y"?');
    const again = await ask('How many   spaces are between\nthe words in "x    y"? ');
    expect(again.cache, JSON.stringify(again.body)).toBe('hit');
    expect(again.body).toEqual(first.body);
    expect(chatCount()).toBe(1);
  });
});

describe('streamed answers', () => {
  it('replays a hit as a stream that the SDK reassembles into exactly the cached content', async () => {
    const long = `One two three four five six seven eight nine ten eleven twelve ${ANSWER_MARKER}.`;
    upstream.enqueue(json(200, completionFor({ model: 'gpt-4o-mini' }, long)));
    const first = await ask('Count to twelve.');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Count to twelve.' }],
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    let sawUsage = false;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if ('usage' in chunk) sawUsage = true;
    }
    await settle(gateway);
    expect(deltas.join(''), JSON.stringify(deltas)).toBe(first.body.choices[0]?.message.content);
    expect(deltas.length).toBeGreaterThan(2);
    expect(finish).toBe('stop');
    expect(sawUsage).toBe(false);
    expect(chatCount()).toBe(1);
  });

  it('caches a streamed miss and replays it with usage last when the client asks for usage', async () => {
    upstream.enqueue(sse(['Tides ', 'follow ', 'the ', 'moon.']));
    const read = async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Why are there tides?' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      await settle(gateway);
      return chunks;
    };
    const live = await read();
    const replay = await read();
    const text = (chunks: OpenAI.ChatCompletionChunk[]) =>
      chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text(replay), JSON.stringify(replay)).toBe('Tides follow the moon.');
    expect(text(replay)).toBe(text(live));
    expect(replay[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(replay.at(-1)?.choices).toEqual([]);
    expect(replay.at(-1)?.usage).toEqual(live.at(-1)?.usage);
    expect(replay.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(replay.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chatCount()).toBe(1);
  });

  it('answers a streamed question from a JSON answer and a JSON question from a streamed one', async () => {
    upstream.enqueue(sse(['Blue ', 'light ', 'scatters.']));
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }
    await settle(gateway);
    const r = await ask('Why is the sky blue?');
    expect(r.cache, JSON.stringify(r.body)).toBe('hit');
    expect(r.body.choices[0]?.message.content).toBe('Blue light scatters.');
    expect(chatCount()).toBe(1);
  });

  it('keeps the message’s other fields (annotations, a reasoning) when a hit changes between JSON and stream', async () => {
    const annotations = [
      {
        type: 'url_citation',
        url_citation: {
          url: 'https://example.org/tides',
          title: 'Tides',
          start_index: 0,
          end_index: 5,
        },
      },
    ];
    // A JSON answer first, then the same question streamed from the cache.
    const answer = completionFor({ model: 'gpt-4o-mini' }, 'Tides follow the moon.');
    const message = { ...answer.choices[0]?.message, annotations, reasoning_content: 'Gravity.' };
    upstream.enqueue(json(200, { ...answer, choices: [{ ...answer.choices[0], message }] }));
    await ask('What drives the tides?');
    const streamed = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'What drives the tides?' }],
    });
    const raw: Record<string, unknown>[] = [];
    streamed.on('chunk', (chunk) => raw.push({ ...chunk.choices[0]?.delta }));
    const replayed = await streamed.finalChatCompletion();
    await settle(gateway);
    expect(raw.filter((d) => 'reasoning_content' in d)).toEqual([
      { reasoning_content: 'Gravity.' },
    ]);
    expect(raw.filter((d) => 'annotations' in d)).toEqual([{ annotations }]);
    expect(replayed.choices[0]?.message).toMatchObject({
      content: 'Tides follow the moon.',
      annotations,
      reasoning_content: 'Gravity.',
    });

    // A streamed answer first (its reasoning in pieces), then the same question as JSON.
    upstream.enqueue((_req, res) => {
      const base = {
        id: 'chatcmpl-s',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o-mini',
      };
      const deltas = [
        { role: 'assistant', content: '' },
        { reasoning_content: 'Light ' },
        { reasoning_content: 'scatters.' },
        { content: 'Blue.' },
        { annotations },
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const delta of deltas) {
        const choice = { index: 0, delta, logprobs: null, finish_reason: null };
        res.write(`data: ${JSON.stringify({ ...base, choices: [choice] })}\n\n`);
      }
      const last = { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' };
      res.end(`data: ${JSON.stringify({ ...base, choices: [last] })}\n\ndata: [DONE]\n\n`);
    });
    const live = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Why is the sea blue?' }],
      stream: true,
    });
    for await (const _ of live) {
      // drain
    }
    await settle(gateway);
    const hit = await ask('Why is the sea blue?');
    expect(hit.cache, JSON.stringify(hit.body)).toBe('hit');
    expect(hit.body.choices[0]?.message).toMatchObject({
      content: 'Blue.',
      annotations,
      reasoning_content: 'Light scatters.',
    });
    expect(chatCount()).toBe(2);
  });
});

describe('what is not stored', () => {
  it('does not store errors or answers cut short by max_tokens', async () => {
    upstream.enqueue(json(500, { error: { message: 'boom', type: 'server_error' } }));
    await expect(ask('Tell me a story.')).rejects.toThrow();
    const truncated = completionFor({ model: 'gpt-4o-mini' }, 'Once upon');
    truncated.choices[0] = { ...truncated.choices[0], finish_reason: 'length' } as never;
    upstream.enqueue(json(200, truncated));
    await ask('Tell me a story.');
    const third = await ask('Tell me a story.');
    expect(third.cache, JSON.stringify(third.body)).toBe('miss');
    expect(chatCount()).toBe(3);
  });

  it('stores an n=2 answer only when it has both choices', async () => {
    const partial = completionFor({ model: 'gpt-4o-mini' }, 'Only one');
    upstream.enqueue(json(200, partial));
    await ask('Give two names.', { n: 2 });
    const again = await ask('Give two names.', { n: 2 });
    expect(again.cache, JSON.stringify(again.body)).toBe('miss');
    const both = completionFor({ model: 'gpt-4o-mini' }, 'Ada');
    both.choices.push({ ...both.choices[0], index: 1 } as (typeof both.choices)[number]);
    upstream.enqueue(json(200, both));
    await ask('Name two scientists.', { n: 2 });
    const hit = await ask('Name two scientists.', { n: 2 });
    expect(hit.cache, JSON.stringify(hit.body)).toBe('hit');
    expect(hit.body.choices).toHaveLength(2);
  });

  it('keeps no plaintext question or answer in the stored rows', async () => {
    await ask(`Remember the word ${QUESTION_MARKER}.`);
    const result = await gateway.server.deps.database.db.execute(
      sql`select response_enc, question_enc from cache_entries`,
    );
    const rows = (result as unknown as { rows: Record<string, Uint8Array | null>[] }).rows;
    expect(rows.length).toBe(1);
    for (const row of rows) {
      for (const value of Object.values(row)) {
        const raw = Buffer.from(value ?? new Uint8Array()).toString('latin1');
        expect(raw.includes(QUESTION_MARKER)).toBe(false);
        expect(raw.includes(ANSWER_MARKER)).toBe(false);
        expect(raw.includes('Remember the word')).toBe(false);
      }
    }
  });
});

describe('per-key setting', () => {
  it('bypasses the cache for a key whose cache is turned off', async () => {
    const off = clientFor((await gateway.createKey({ cacheEnabled: false })).key);
    const first = await ask('What is a prime number?', {}, off);
    const second = await ask('What is a prime number?', {}, off);
    expect(first.cache, JSON.stringify(first.body)).toBe('bypass');
    expect(second.cache, JSON.stringify(second.body)).toBe('bypass');
    expect(chatCount()).toBe(2);
    const withCache = await ask('What is a prime number?');
    expect(withCache.cache).toBe('miss');
  });
});

describe('DELETE /admin/cache', () => {
  it('flushes the caller’s tenant only, memory included, and writes an audit entry', async () => {
    const db = gateway.server.deps.database.db;
    await insertTenant(db, 'flush-other');
    const other = clientFor((await gateway.createKey({ tenant: 'flush-other' })).key);
    await ask('What is DNA?');
    await ask('What is DNA?', {}, other);
    const admin = await gateway.createKey({ scopes: ['admin'] });
    const res = await fetch(`${gateway.baseURL}/admin/cache`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const body = (await res.json()) as { tenant: string; deleted: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ tenant: admin.tenantId, deleted: 1 });
    expect((await ask('What is DNA?')).cache).toBe('miss');
    expect((await ask('What is DNA?', {}, other)).cache).toBe('hit');
    const audit = await db.execute(
      sql`select actor, action, tenant_id from audit_log where action = 'cache.flush'`,
    );
    expect((audit as unknown as { rows: unknown[] }).rows).toContainEqual({
      actor: admin.id,
      action: 'cache.flush',
      tenant_id: admin.tenantId,
    });
  });

  it('flushes another tenant named with ?tenant= and refuses keys without the admin scope', async () => {
    await insertTenant(gateway.server.deps.database.db, 'flush-named');
    const named = clientFor((await gateway.createKey({ tenant: 'flush-named' })).key);
    await ask('What is RNA?', {}, named);
    const admin = await gateway.createKey({ scopes: ['admin'] });
    const denied = await fetch(`${gateway.baseURL}/admin/cache?tenant=flush-named`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(denied.status, await denied.text()).toBe(403);
    const res = await fetch(`${gateway.baseURL}/admin/cache?tenant=flush-named`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const body = (await res.json()) as { deleted: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.deleted).toBe(1);
    expect((await ask('What is RNA?', {}, named)).cache).toBe('miss');
    const unknown = await fetch(`${gateway.baseURL}/admin/cache?tenant=nobody`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    // An unknown tenant is a bad parameter, as on the other admin routes.
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: { param: 'tenant', message: "Unknown tenant 'nobody'." },
    });
  });
});
