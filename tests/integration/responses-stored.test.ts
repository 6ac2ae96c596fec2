import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import type {
  ConversationCreateParams,
  ConversationUpdateParams,
} from 'openai/resources/conversations/conversations';
import type { ItemCreateParams } from 'openai/resources/conversations/items';
import type {
  ResponseCreateParamsNonStreaming,
  ResponseIncludable,
  ResponseInputItem,
} from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRetention } from '../../src/analytics/retention.js';
import { countPromptTokens } from '../../src/compression/token-count.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import { forgetTenant } from '../../src/tenants/tenant-admin.js';
import type { FakeUpstream, RecordedRequest } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const PROMPT_MARKER = 'PANGOLIN-STORED-PROMPT-5521';
const ANSWER_MARKER = 'NARWHAL-STORED-ANSWER-9034';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;
let tenantId: string;

/** The upstream answers "Answer N" to its Nth request, so each turn's output is known. */
function numberedAnswers(): void {
  let n = 0;
  upstream.setFallback((req, res) => json(200, completionFor(req.body, `Answer ${++n}`))(req, res));
}

/** The `store` a response says it was given (the SDK's type leaves the field out). */
function storeOf(response: object): unknown {
  return (response as { store?: unknown }).store;
}

/** The tables (every table of the database) whose rows, as text, contain any of the markers. */
async function tablesHolding(markers: readonly string[]): Promise<string[]> {
  await settleLog(gateway.deps);
  const db = gateway.deps.database.db;
  const tables = await db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
  );
  const holding: string[] = [];
  const names = rowsOf<{ table_name: string }>(tables).map((row) => row.table_name);
  expect(names).toEqual(expect.arrayContaining(['stored_responses', 'conversation_items']));
  for (const name of names) {
    const rows = await db.execute(sql.raw(`select t::text as text from "${name}" t`));
    const dump = rowsOf<{ text: string }>(rows)
      .map((row) => row.text)
      .join('\n');
    if (markers.some((marker) => dump.includes(marker))) holding.push(name);
  }
  return holding;
}

function messagesOf(req: RecordedRequest | undefined): unknown {
  return req?.body.messages;
}

/** A user message with an id of the client's choosing (the SDK's types give input messages none). */
function userItem(id: string, text: string): ResponseInputItem {
  return { type: 'message', role: 'user', content: text, id } as ResponseInputItem;
}

/** OpenAI's 400 for an item given twice, or again where it is stored already. */
function duplicateOf(id: string, param: 'input' | 'items') {
  return {
    message: `Duplicate item found with id ${id}. Remove duplicate items from your input and try again.`,
    type: 'invalid_request_error',
    param,
    code: null,
  };
}

/** The error body of a call the gateway refused with 400; fails the test when it was accepted. */
async function refusalOf(call: Promise<unknown>): Promise<unknown> {
  const err = await call.catch((e: unknown) => e);
  if (!(err instanceof BadRequestError)) throw new Error(`not refused: ${JSON.stringify(err)}`);
  return err.error;
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  const key = await gateway.createKey();
  tenantId = key.tenantId;
  client = gateway.openai(key.key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  numberedAnswers();
});

describe('stored responses: previous_response_id', () => {
  it('sends the upstream the whole chain on a 3-turn JSON conversation, with only the current instructions', async () => {
    const first = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      input: 'One?',
    });
    expect(storeOf(first)).toBe(true);
    const second = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      input: 'Two?',
      previous_response_id: first.id,
    });
    const third = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be kind.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Three?' }] }],
      previous_response_id: second.id,
    });
    expect(third.output_text).toBe('Answer 3');
    expect(third.previous_response_id).toBe(second.id);
    expect(messagesOf(upstream.requests[2])).toEqual([
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'One?' },
      { role: 'assistant', content: 'Answer 1' },
      { role: 'user', content: 'Two?' },
      { role: 'assistant', content: 'Answer 2' },
      { role: 'user', content: 'Three?' },
    ]);
  });

  it('chains streams: each response is retrievable as soon as its completed event arrives', async () => {
    let previous: string | undefined;
    const texts: string[] = [];
    for (const [i, word] of ['One', 'Two', 'Three'].entries()) {
      upstream.enqueue(sse([`Stream `, `${i + 1}`]));
      const stream = await client.responses.create({
        model: 'gpt-4o-mini',
        input: `${word}?`,
        stream: true,
        ...(previous ? { previous_response_id: previous } : {}),
      });
      let text = '';
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') {
          previous = event.response.id;
          expect(storeOf(event.response)).toBe(true);
        }
      }
      texts.push(text);
    }
    expect(texts).toEqual(['Stream 1', 'Stream 2', 'Stream 3']);
    expect(messagesOf(upstream.requests[2])).toEqual([
      { role: 'user', content: 'One?' },
      { role: 'assistant', content: 'Stream 1' },
      { role: 'user', content: 'Two?' },
      { role: 'assistant', content: 'Stream 2' },
      { role: 'user', content: 'Three?' },
    ]);
    const last = await client.responses.retrieve(previous ?? '');
    expect(last.output_text).toBe('Stream 3');
  });

  it('keeps nothing with store: false: retrieve is a 404 and chaining on it a 400', async () => {
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Forget me',
      store: false,
    });
    expect(storeOf(response)).toBe(false);
    const err = await client.responses.retrieve(response.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toMatchObject({ code: 'not_found' });
    const chained = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'again', previous_response_id: response.id })
      .catch((e: unknown) => e);
    expect(chained).toBeInstanceOf(BadRequestError);
    expect((chained as BadRequestError).error).toMatchObject({
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses input that repeats an item id, or resends items of the chain or conversation it continues', async () => {
    const refused = (params: ResponseCreateParamsNonStreaming) =>
      refusalOf(client.responses.create(params));
    const model = 'gpt-4o-mini';
    expect(
      await refused({ model, input: [userItem('msg_Z', 'a'), userItem('msg_Z', 'b')] }),
    ).toEqual(duplicateOf('msg_Z', 'input'));
    const first = await client.responses.create({ model, input: 'One' });
    const [answer] = first.output;
    if (answer?.type !== 'message') throw new Error(JSON.stringify(first));
    expect(
      await refused({
        model,
        previous_response_id: first.id,
        input: [answer, { role: 'user', content: 'Two' }],
      }),
    ).toEqual(duplicateOf(answer.id, 'input'));
    const conversation = await client.conversations.create({});
    const turn = await client.responses.create({
      model,
      conversation: conversation.id,
      input: 'A',
    });
    const [said] = turn.output;
    if (said?.type !== 'message') throw new Error(JSON.stringify(turn));
    // Its answer again, as the item or as a reference that would copy it into the conversation.
    const resent: ResponseInputItem[] = [said, { type: 'item_reference', id: said.id }];
    for (const item of resent) {
      const input = [item, { role: 'user' as const, content: 'B' }];
      expect(await refused({ model, conversation: conversation.id, input })).toEqual(
        duplicateOf(said.id, 'input'),
      );
    }
    expect(upstream.requests).toHaveLength(2);
    // Sending only what is new works: each earlier turn reaches the upstream once.
    await client.responses.create({ model, previous_response_id: first.id, input: 'Two' });
    expect(messagesOf(upstream.requests.at(-1))).toEqual([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: 'Answer 1' },
      { role: 'user', content: 'Two' },
    ]);
    await client.responses.create({ model, conversation: conversation.id, input: 'B' });
    expect(messagesOf(upstream.requests.at(-1))).toEqual([
      { role: 'user', content: 'A' },
      { role: 'assistant', content: 'Answer 2' },
      { role: 'user', content: 'B' },
    ]);
    const listed = await client.conversations.items.list(conversation.id, { order: 'asc' });
    expect(listed.data.map((item) => item.type === 'message' && item.content[0])).toMatchObject([
      { text: 'A' },
      { text: 'Answer 2' },
      { text: 'B' },
      { text: 'Answer 4' },
    ]);
  });

  it('answers a function call of the chain with only its output, the call sent upstream once', async () => {
    const call = { id: 'call_w', type: 'function', function: { name: 'weather', arguments: '{}' } };
    upstream.enqueue((req, res) =>
      json(200, {
        ...completionFor(req.body),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, refusal: null, tool_calls: [call] },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
      })(req, res),
    );
    const tools = [{ type: 'function' as const, name: 'weather', parameters: {}, strict: false }];
    const asked = await client.responses.create({ model: 'gpt-4o-mini', input: 'Weather?', tools });
    const answered = await client.responses.create({
      model: 'gpt-4o-mini',
      previous_response_id: asked.id,
      tools,
      input: [{ type: 'function_call_output', call_id: 'call_w', output: '{"temp":21}' }],
    });
    expect(answered.output_text).toBe('Answer 1');
    expect(messagesOf(upstream.requests.at(-1))).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_w', content: '{"temp":21}' },
    ]);
  });
});

describe('stored responses: retrieve, delete and input items', () => {
  it('retrieves a stored response as it was sent', async () => {
    const created = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Keep me',
      metadata: { topic: 'kept' },
    });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);
    const replay = await gateway.request(`/v1/responses/${created.id}?stream=true`, {
      headers: { authorization: `Bearer ${client.apiKey}` },
    });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: { param: 'stream' } });
  });

  it('pages the input items with after, limit and order', async () => {
    const input = ['a', 'b', 'c', 'd', 'e'].map((text) => ({
      role: 'user' as const,
      content: text,
    }));
    const created = await client.responses.create({ model: 'gpt-4o-mini', input });
    const seen: string[] = [];
    const firstPage = await client.responses.inputItems.list(created.id, {
      limit: 2,
      order: 'asc',
    });
    expect(firstPage.data).toHaveLength(2);
    expect(firstPage.has_more).toBe(true);
    for await (const item of client.responses.inputItems.list(created.id, {
      limit: 2,
      order: 'asc',
    })) {
      if (item.type !== 'message') throw new Error(`unexpected item ${JSON.stringify(item)}`);
      const [part] = item.content;
      seen.push(part?.type === 'input_text' ? part.text : '?');
      expect(item.id).toMatch(/^msg_/);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    const newest = await client.responses.inputItems.list(created.id, { limit: 1 });
    expect(newest.data[0]).toMatchObject({ role: 'user', content: [{ text: 'e' }] });
    const bad = await gateway.request(`/v1/responses/${created.id}/input_items?limit=0`, {
      headers: { authorization: `Bearer ${client.apiKey}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'limit' } });
  });

  it('deletes a stored response: deleted once, then not found', async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'Delete me' });
    const res = await gateway.request(`/v1/responses/${created.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${client.apiKey}` },
    });
    expect(await res.json()).toEqual({ id: created.id, object: 'response.deleted', deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.responses.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to cancel a finished foreground response, and answers an unknown id with 404', async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'Too late' });
    const err = await client.responses.cancel(created.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining(
        'Only responses created with background=true can be cancelled',
      ),
    });
    expect((await client.responses.retrieve(created.id)).status).toBe('completed');
    await expect(client.responses.cancel('resp_unknown')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to continue a chain whose earlier response was deleted, naming the id sent and the one deleted', async () => {
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'One' });
    const second = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Two',
      previous_response_id: first.id,
    });
    await client.responses.delete(first.id);
    const err = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'Three', previous_response_id: second.id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toEqual({
      message: `Previous response with id '${second.id}' cannot be continued: the earlier response '${first.id}' it continues was deleted.`,
      type: 'invalid_request_error',
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
    expect((await client.responses.retrieve(second.id)).output_text).toBe('Answer 2');
  });

  it("answers another tenant's id with 404, and refuses to chain on it", async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'Mine' });
    const other = await insertTenant(gateway.deps.database.db, 'stored-other');
    const theirs = gateway.openai((await gateway.createKey({ tenant: other.id })).key);
    await expect(theirs.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(theirs.responses.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(theirs.responses.inputItems.list(created.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      theirs.responses.create({
        model: 'gpt-4o-mini',
        input: 'x',
        previous_response_id: created.id,
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    expect((await client.responses.retrieve(created.id)).id).toBe(created.id);
  });

  it('keeps no plaintext of a prompt or an answer in any table', async () => {
    upstream.setFallback((req, res) =>
      json(200, completionFor(req.body, `Sure ${ANSWER_MARKER}`))(req, res),
    );
    const first = await client.responses.create({
      model: 'gpt-4o-mini',
      input: `Remember ${PROMPT_MARKER}`,
      metadata: { note: PROMPT_MARKER },
    });
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'And?',
      previous_response_id: first.id,
    });
    expect(await tablesHolding([PROMPT_MARKER, ANSWER_MARKER])).toEqual([]);
    // The scan does find what is kept in plaintext: the ids.
    expect(await tablesHolding([first.id])).toEqual(
      expect.arrayContaining(['stored_responses', 'stored_response_items']),
    );
    expect((await client.responses.retrieve(first.id)).metadata).toEqual({ note: PROMPT_MARKER });
  });

  it("makes a forgotten tenant's stored responses unreadable", async () => {
    const other = await insertTenant(gateway.deps.database.db, 'stored-forgotten');
    const theirs = gateway.openai((await gateway.createKey({ tenant: other.id })).key);
    const created = await theirs.responses.create({ model: 'gpt-4o-mini', input: 'Secret' });
    expect((await gateway.deps.responseStore.get(other.id, created.id))?.response.id).toBe(
      created.id,
    );
    await forgetTenant(gateway.deps.database.db, other.id, { actor: 'test' });
    expect(await gateway.deps.responseStore.get(other.id, created.id)).toBeNull();
    expect(await gateway.deps.responseStore.chain(other.id, created.id)).toBeNull();
    expect(tenantId).not.toBe(other.id);
  });
});

describe('stored responses across a restart', () => {
  it('retrieves and continues a stored response after the gateway restarts on the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-stored-'));
    const env = { UPSTREAM_BASE_URL: upstream.url, DATABASE_URL: '', TOLLGATE_DATA_DIR: dataDir };
    const first = await startTestGateway(env);
    let key: string;
    let id: string;
    try {
      key = (await first.createKey()).key;
      const c = new OpenAI({ apiKey: key, baseURL: `${first.baseURL}/v1`, maxRetries: 0 });
      id = (await c.responses.create({ model: 'gpt-4o-mini', input: `Before ${PROMPT_MARKER}` }))
        .id;
      await settleLog(first.server.deps);
    } finally {
      await first.stop();
    }
    // The stored response, its input and its row are on disk now: none of its files has the text.
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(readFileSync(file).includes(PROMPT_MARKER), file).toBe(false);
    const second = await startTestGateway(env);
    try {
      const c = new OpenAI({ apiKey: key, baseURL: `${second.baseURL}/v1`, maxRetries: 0 });
      const retrieved = await c.responses.retrieve(id);
      expect(retrieved.output_text).toBe('Answer 1');
      const next = await c.responses.create({
        model: 'gpt-4o-mini',
        input: 'After',
        previous_response_id: id,
      });
      expect(next.output_text).toBe('Answer 2');
      expect(messagesOf(upstream.requests.at(-1))).toEqual([
        { role: 'user', content: `Before ${PROMPT_MARKER}` },
        { role: 'assistant', content: 'Answer 1' },
        { role: 'user', content: 'After' },
      ]);
    } finally {
      await second.stop();
    }
  });
});

describe('input token counts', () => {
  it('counts what a request would send, its stored chain included, without calling the upstream', async () => {
    numberedAnswers();
    const first = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'Name a fjord.',
    });
    upstream.requests.length = 0;
    const alone = await client.responses.inputTokens.count({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'And another?',
    });
    expect(alone).toEqual({
      object: 'response.input_tokens',
      input_tokens: countPromptTokens(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'And another?' },
        ],
        'gpt-4o-mini',
      ),
    });
    const chained = await client.responses.inputTokens.count({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      previous_response_id: first.id,
      input: 'And another?',
    });
    expect(chained.input_tokens).toBe(
      countPromptTokens(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Name a fjord.' },
          { role: 'assistant', content: 'Answer 1' },
          { role: 'user', content: 'And another?' },
        ],
        'gpt-4o-mini',
      ),
    );
    // No model: counted in today's models' encoding.
    const unnamed = await client.responses.inputTokens.count({ input: 'And another?' });
    expect(unnamed.input_tokens).toBe(
      countPromptTokens([{ role: 'user', content: 'And another?' }], 'gpt-4o'),
    );
    expect(upstream.requests).toHaveLength(0);
    const unknown = await client.responses.inputTokens
      .count({ model: 'gpt-4o-mini', previous_response_id: 'resp_nothing', input: 'x' })
      .catch((e: unknown) => e);
    expect((unknown as BadRequestError).error).toMatchObject({
      code: 'previous_response_not_found',
    });
  });
});

describe('conversations', () => {
  it('creates a conversation, adds items, answers in it and lists its items in order', async () => {
    const conversation = await client.conversations.create({
      metadata: { topic: 'trip' },
      items: [{ type: 'message', role: 'user', content: 'I am going to Oslo.' }],
    });
    expect(conversation).toMatchObject({ object: 'conversation', metadata: { topic: 'trip' } });
    expect(conversation.id).toMatch(/^conv_/);
    const added = await client.conversations.items.create(conversation.id, {
      items: [{ type: 'message', role: 'user', content: 'In May.' }],
    });
    expect(added.data).toHaveLength(1);
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: 'What should I pack?',
    });
    expect(response.conversation).toEqual({ id: conversation.id });
    expect(messagesOf(upstream.requests[0])).toEqual([
      { role: 'user', content: 'I am going to Oslo.' },
      { role: 'user', content: 'In May.' },
      { role: 'user', content: 'What should I pack?' },
    ]);
    const next = await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: { id: conversation.id },
      input: 'Thanks',
    });
    expect(next.output_text).toBe('Answer 2');
    expect(messagesOf(upstream.requests[1])).toEqual([
      { role: 'user', content: 'I am going to Oslo.' },
      { role: 'user', content: 'In May.' },
      { role: 'user', content: 'What should I pack?' },
      { role: 'assistant', content: 'Answer 1' },
      { role: 'user', content: 'Thanks' },
    ]);
    const texts: string[] = [];
    for await (const item of client.conversations.items.list(conversation.id, {
      order: 'asc',
      limit: 2,
    })) {
      if (item.type !== 'message') throw new Error(`unexpected item ${JSON.stringify(item)}`);
      const [part] = item.content;
      texts.push(part && 'text' in part ? part.text : '?');
    }
    expect(texts).toEqual([
      'I am going to Oslo.',
      'In May.',
      'What should I pack?',
      'Answer 1',
      'Thanks',
      'Answer 2',
    ]);
    const newest = await client.conversations.items.list(conversation.id, { limit: 1 });
    expect(newest.data[0]).toMatchObject({ role: 'assistant', content: [{ text: 'Answer 2' }] });
  });

  it('updates metadata, gets and deletes an item, then deletes the conversation', async () => {
    const conversation = await client.conversations.create({
      items: [
        { type: 'message', role: 'user', content: 'first' },
        { type: 'message', role: 'user', content: 'second' },
      ],
    });
    const updated = await client.conversations.update(conversation.id, {
      metadata: { stage: 'two' },
    });
    expect(updated.metadata).toEqual({ stage: 'two' });
    expect((await client.conversations.retrieve(conversation.id)).metadata).toEqual({
      stage: 'two',
    });
    const listed = await client.conversations.items.list(conversation.id, { order: 'asc' });
    const firstId = listed.data[0]?.id ?? '';
    const item = await client.conversations.items.retrieve(firstId, {
      conversation_id: conversation.id,
    });
    expect(item).toMatchObject({
      type: 'message',
      content: [{ type: 'input_text', text: 'first' }],
    });
    const after = await client.conversations.items.delete(firstId, {
      conversation_id: conversation.id,
    });
    expect(after.id).toBe(conversation.id);
    const left = await client.conversations.items.list(conversation.id, { order: 'asc' });
    expect(left.data.map((i) => i.id)).toEqual([listed.data[1]?.id]);
    const deleted = await client.conversations.delete(conversation.id);
    expect(deleted).toMatchObject({
      id: conversation.id,
      object: 'conversation.deleted',
      deleted: true,
    });
    await expect(client.conversations.retrieve(conversation.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      client.responses.create({ model: 'gpt-4o-mini', conversation: conversation.id, input: 'x' }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("answers another tenant's conversation with 404 everywhere", async () => {
    const conversation = await client.conversations.create({
      items: [{ type: 'message', role: 'user', content: 'mine' }],
    });
    const itemId = (await client.conversations.items.list(conversation.id)).data[0]?.id ?? '';
    const other = await insertTenant(gateway.deps.database.db, 'conversation-other');
    const theirs = gateway.openai((await gateway.createKey({ tenant: other.id })).key);
    const attempts: (() => Promise<unknown>)[] = [
      () => theirs.conversations.retrieve(conversation.id),
      () => theirs.conversations.update(conversation.id, { metadata: { x: 'y' } }),
      () => theirs.conversations.delete(conversation.id),
      () => theirs.conversations.items.list(conversation.id),
      () =>
        theirs.conversations.items.create(conversation.id, {
          items: [{ type: 'message', role: 'user', content: 'theirs' }],
        }),
      () => theirs.conversations.items.retrieve(itemId, { conversation_id: conversation.id }),
      () => theirs.conversations.items.delete(itemId, { conversation_id: conversation.id }),
      () =>
        theirs.responses.create({
          model: 'gpt-4o-mini',
          conversation: conversation.id,
          input: 'x',
        }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(NotFoundError);
    const mine = await client.conversations.items.list(conversation.id);
    expect(mine.data).toHaveLength(1);
  });

  it("resolves item_reference inputs to the tenant's stored items, and refuses unknown ones", async () => {
    const conversation = await client.conversations.create({
      items: [{ type: 'message', role: 'user', content: 'Referenced question' }],
    });
    const [stored] = (await client.conversations.items.list(conversation.id)).data;
    const earlier = await client.responses.create({ model: 'gpt-4o-mini', input: 'Earlier' });
    const [answer] = earlier.output;
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: [
        { type: 'item_reference', id: stored?.id ?? '' },
        { type: 'item_reference', id: answer?.id ?? '' },
        { role: 'user', content: 'Go on' },
      ],
    });
    expect(messagesOf(upstream.requests.at(-1))).toEqual([
      { role: 'user', content: 'Referenced question' },
      { role: 'assistant', content: 'Answer 1' },
      { role: 'user', content: 'Go on' },
    ]);
    const inputs = await client.responses.inputItems.list(response.id, { order: 'asc' });
    expect(inputs.data.map((item) => item.id).slice(0, 2)).toEqual([stored?.id, answer?.id]);
    const err = await client.responses
      .create({ model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: 'msg_nowhere' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({
      param: 'input',
      code: 'item_not_found',
    });
    const other = await insertTenant(gateway.deps.database.db, 'reference-other');
    const theirs = gateway.openai((await gateway.createKey({ tenant: other.id })).key);
    await expect(
      theirs.responses.create({
        model: 'gpt-4o-mini',
        input: [{ type: 'item_reference', id: stored?.id ?? '' }],
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });

  it('answers with store: false when the conversation is deleted while the upstream answers', async () => {
    const conversation = await client.conversations.create({});
    let arrived = () => {};
    const upstreamHasIt = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    upstream.enqueue(async (req, res) => {
      arrived();
      await released;
      await json(200, completionFor(req.body, 'Too late'))(req, res);
    });
    const pending = client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: 'Hello?',
    });
    await upstreamHasIt;
    await client.conversations.delete(conversation.id);
    release();
    const response = await pending;
    expect(response.output_text).toBe('Too late');
    expect(storeOf(response)).toBe(false);
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses an item id given twice, or one the conversation holds already, and pages every item once', async () => {
    const twice = await refusalOf(
      client.conversations.create({
        items: [userItem('msg_Y', 'a'), { role: 'user', content: 'b' }, userItem('msg_Y', 'c')],
      }),
    );
    expect(twice).toEqual(duplicateOf('msg_Y', 'items'));
    const conversation = await client.conversations.create({
      items: [userItem('msg_Y', 'a'), { role: 'user', content: 'b' }],
    });
    // The same id again: as an item, or as a reference that would copy the stored one.
    for (const item of [userItem('msg_Y', 'c'), { type: 'item_reference' as const, id: 'msg_Y' }]) {
      const err = await refusalOf(
        client.conversations.items.create(conversation.id, { items: [item] }),
      );
      expect(err).toEqual(duplicateOf('msg_Y', 'items'));
    }
    await client.conversations.items.create(conversation.id, {
      items: [{ role: 'user', content: 'c' }],
    });
    const texts: unknown[] = [];
    for await (const item of client.conversations.items.list(conversation.id, {
      limit: 1,
      order: 'asc',
    })) {
      texts.push(item.type === 'message' && item.content[0]);
      if (texts.length > 10) break;
    }
    expect(texts).toMatchObject([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
  });

  it('refuses unknown body fields and include values as /v1/responses does', async () => {
    const conversation = await client.conversations.create({});
    const unknown = {
      message: "Unknown parameter: 'foo'.",
      type: 'invalid_request_error',
      param: 'foo',
      code: 'unknown_parameter',
    };
    const extra = { foo: 1 };
    const attempts = [
      () => client.conversations.create({ ...extra } as ConversationCreateParams),
      () =>
        client.conversations.update(conversation.id, {
          metadata: { a: 'b' },
          ...extra,
        } as ConversationUpdateParams),
      () =>
        client.conversations.items.create(conversation.id, {
          items: [{ role: 'user', content: 'x' }],
          ...extra,
        } as ItemCreateParams),
    ];
    for (const attempt of attempts) expect(await refusalOf(attempt())).toEqual(unknown);
    expect((await client.conversations.retrieve(conversation.id)).metadata).toEqual({});
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
    const bogus = ['bogus' as ResponseIncludable];
    const created = await refusalOf(
      client.responses.create({ model: 'gpt-4o-mini', input: 'x', include: bogus }),
    );
    expect(created).toMatchObject({ param: 'include[0]' });
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'x' });
    const lists = [
      () => client.responses.inputItems.list(response.id, { include: bogus }),
      () => client.conversations.items.list(conversation.id, { include: bogus }),
    ];
    for (const list of lists) expect(await refusalOf(list())).toEqual(created);
    const supported = await client.responses.inputItems.list(response.id, {
      include: ['message.input_image.image_url'],
    });
    expect(supported.data).toHaveLength(1);
  });

  it('refuses bad bodies and paging with 400 naming the parameter', async () => {
    const empty = await gateway.request('/v1/conversations', {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}` },
    });
    expect(await empty.json()).toMatchObject({ object: 'conversation', metadata: {} });
    const conversation = await client.conversations.create({});
    const bad: (() => Promise<unknown>)[] = [
      () => client.conversations.create({ metadata: { n: 1 as unknown as string } }),
      () =>
        client.conversations.items.create(conversation.id, {
          items: [{ type: 'message', role: 'nobody' as 'user', content: 'x' }],
        }),
      () => client.conversations.items.list(conversation.id, { order: 'sideways' as 'asc' }),
      () =>
        client.conversations.items.create(conversation.id, {
          items: [{ type: 'item_reference', id: 'msg_unknown' }],
        }),
    ];
    const params: unknown[] = [];
    for (const attempt of bad) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      params.push((err as BadRequestError).param);
    }
    expect(params).toEqual(['metadata.n', 'items[0].role', 'order', 'items']);
    const crowded = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await client.conversations
      .create({ metadata: crowded })
      .catch((e: unknown) => e);
    expect((tooMany as BadRequestError).error).toMatchObject({
      message: "Invalid 'metadata': 17 keys; at most 16 are allowed.",
      param: 'metadata',
    });
  });

  it('refuses an id holding a NUL character with 400 naming it, in a path, a query or a body', async () => {
    const conversation = await client.conversations.create({});
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    const auth = { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' };
    const paths: [string, string][] = [
      ['GET', '/v1/responses/resp_%00'],
      ['DELETE', '/v1/responses/resp_%00'],
      ['POST', '/v1/responses/resp_%00/cancel'],
      ['GET', '/v1/responses/resp_%00/input_items'],
      ['GET', `/v1/responses/${response.id}/input_items?after=msg_%00`],
      ['GET', '/v1/conversations/conv_%00'],
      ['DELETE', '/v1/conversations/conv_%00'],
      ['GET', '/v1/conversations/conv_%00/items'],
      ['GET', `/v1/conversations/${conversation.id}/items?after=msg_%00`],
      ['GET', `/v1/conversations/${conversation.id}/items/msg_%00`],
      ['DELETE', `/v1/conversations/${conversation.id}/items/msg_%00`],
    ];
    for (const [method, path] of paths) {
      const res = await gateway.request(path, { method, headers: auth });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(400);
      expect(JSON.parse(text).error.code, text).toBe('invalid_value');
    }
    const message = (id: string) => ({ type: 'message', id, role: 'user', content: 'x' });
    const bodies: [string, unknown, string][] = [
      [
        '/v1/responses',
        { model: 'gpt-4o-mini', input: 'x', conversation: 'conv_\u0000' },
        'conversation',
      ],
      [
        '/v1/responses',
        { model: 'gpt-4o-mini', input: 'x', previous_response_id: 'resp_\u0000' },
        'previous_response_id',
      ],
      [
        '/v1/responses',
        { model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: 'msg_\u0000' }] },
        'input[0].id',
      ],
      ['/v1/responses', { model: 'gpt-4o-mini', input: [message('msg_\u0000')] }, 'input[0].id'],
      [
        '/v1/responses/input_tokens',
        { input: 'x', conversation: { id: 'conv_\u0000' } },
        'conversation',
      ],
      ['/v1/conversations', { items: [message('x'), message('msg_\u0000')] }, 'items[1].id'],
      [
        `/v1/conversations/${conversation.id}/items`,
        { items: [{ type: 'item_reference', id: '\u0000' }] },
        'items[0].id',
      ],
    ];
    for (const [path, body, param] of bodies) {
      const res = await gateway.request(path, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      expect(res.status, `${path} ${JSON.stringify(body)}: ${text}`).toBe(400);
      expect(JSON.parse(text).error, text).toMatchObject({ param, code: 'invalid_value' });
    }
    expect(upstream.requests, 'nothing reached the upstream').toHaveLength(1);
  });

  it('refuses an item id too long to be stored with 400 naming it, before the upstream is called', async () => {
    // Incompressible, as a client's own ids may be: the database's index on item ids holds at
    // most about 2.7 kB of one, compressed.
    const long = `msg_${Array.from({ length: 100 }, (_, i) =>
      createHash('sha256').update(String(i)).digest('base64url'),
    ).join('')}`;
    const conversation = await client.conversations.create({});
    const message = (id: string) => ({ type: 'message', id, role: 'user', content: 'x' });
    const auth = { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' };
    const bodies: [string, unknown, string][] = [
      ['/v1/conversations', { items: [message('msg_short'), message(long)] }, 'items[1].id'],
      [`/v1/conversations/${conversation.id}/items`, { items: [message(long)] }, 'items[0].id'],
      ['/v1/responses', { model: 'gpt-4o-mini', input: [message(long)] }, 'input[0].id'],
    ];
    for (const [path, body, param] of bodies) {
      const res = await gateway.request(path, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      expect(res.status, `${path}: ${text.slice(0, 300)}`).toBe(400);
      expect(JSON.parse(text).error, text).toEqual({
        message: `Invalid '${param}': string too long. Expected a string with maximum length 256, but got a string with length ${long.length} instead.`,
        type: 'invalid_request_error',
        param,
        code: 'string_above_max_length',
      });
    }
    expect(upstream.requests, 'nothing reached the upstream').toHaveLength(0);
    // An id of the longest length is stored, and continued.
    const longest = `msg_${'z'.repeat(252)}`;
    const answered = await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [userItem(longest, 'Q')],
    });
    expect(storeOf(answered)).toBe(true);
    const item = await client.conversations.items.retrieve(longest, {
      conversation_id: conversation.id,
    });
    expect(item.id).toBe(longest);
  });

  it('keeps no plaintext of a conversation in its tables, and a forgotten tenant cannot read it', async () => {
    const other = await insertTenant(gateway.deps.database.db, 'conversation-forgotten');
    const theirs = gateway.openai((await gateway.createKey({ tenant: other.id })).key);
    const conversation = await theirs.conversations.create({
      metadata: { note: PROMPT_MARKER },
      items: [{ type: 'message', role: 'user', content: `Remember ${PROMPT_MARKER}` }],
    });
    await theirs.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: 'ok?',
    });
    expect(await tablesHolding([PROMPT_MARKER])).toEqual([]);
    expect(await tablesHolding([conversation.id])).toEqual(
      expect.arrayContaining(['conversations', 'conversation_items']),
    );
    const db = gateway.deps.database.db;
    const store = gateway.deps.conversationStore;
    expect((await store.get(other.id, conversation.id))?.metadata).toEqual({ note: PROMPT_MARKER });
    await forgetTenant(db, other.id, { actor: 'test' });
    expect(await store.get(other.id, conversation.id)).toBeNull();
    expect(await store.history(other.id, conversation.id)).toBeNull();
  });
});

describe('retention of stored state', () => {
  it('deletes stored responses and conversations once older than the shorter retention', async () => {
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'Old' });
    const conversation = await client.conversations.create({
      items: [{ type: 'message', role: 'user', content: 'Old too' }],
    });
    const eightDaysOn = Date.now() + 8 * 24 * 60 * 60 * 1000;
    const prune = (contentDays: number) =>
      createRetention({
        db: gateway.deps.database.db,
        clock: { now: () => eightDaysOn, monotonic: () => performance.now() },
        logger: gateway.deps.logger,
        policy: { contentDays, rowsDays: 30 },
      }).run();
    expect((await prune(9)).storedDeleted).toBe(0);
    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);
    expect((await prune(7)).storedDeleted).toBeGreaterThanOrEqual(3);
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.conversations.retrieve(conversation.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('stored responses answered from the cache', () => {
  it('stores a cache hit like a fresh answer, as JSON and as a replayed stream', async () => {
    const cached = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'on' });
    try {
      const c = cached.openai((await cached.createKey()).key);
      const fresh = await c.responses.create({ model: 'gpt-4o-mini', input: 'Cache me' });
      // The cache stores the answer after the response.
      await settleLog(cached.deps);
      const hit = await c.responses
        .create({ model: 'gpt-4o-mini', input: 'Cache me' })
        .withResponse();
      expect(hit.response.headers.get('x-tollgate-cache')).toBe('hit');
      expect(hit.data.id).not.toBe(fresh.id);
      expect((await c.responses.retrieve(hit.data.id)).output_text).toBe('Answer 1');
      const stream = await c.responses.create({
        model: 'gpt-4o-mini',
        input: 'Cache me',
        stream: true,
      });
      let id = '';
      for await (const event of stream) {
        if (event.type === 'response.completed') id = event.response.id;
      }
      expect((await c.responses.retrieve(id)).output_text).toBe('Answer 1');
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await cached.close();
    }
  });
});
