import { sql } from 'drizzle-orm';
import type OpenAI from 'openai';
import { BadRequestError, NotFoundError } from 'openai';
import type {
  ResponseInputItem,
  ResponseItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';

/**
 * What keeps a conversation and a chain whole when turns race or things are deleted under them:
 * an item id is stored once per conversation even when two turns carry it at once, its items page
 * to the end even over ids stored twice by earlier versions, a tool output must answer a call and
 * a call have its output, and a turn with `store: false` leaves its conversation as it was.
 */

/** A user message with an id of the client's choosing (the SDK's types give input messages none). */
function userItem(id: string, text: string): ResponseInputItem {
  return { type: 'message', role: 'user', content: text, id } as ResponseInputItem;
}

/** OpenAI's 400 for an item stored where it goes already. */
const duplicateOf = (id: string) => ({
  message: `Duplicate item found with id ${id}. Remove duplicate items from your input and try again.`,
  type: 'invalid_request_error',
  param: 'input',
  code: null,
});

/** OpenAI's 400 for a tool output that answers no call. */
const noCallFor = (callId: string) => ({
  message: `No tool call found for function call output with call_id ${callId}.`,
  type: 'invalid_request_error',
  param: 'input',
  code: null,
});

/** OpenAI's 400 for a conversation that goes on past a call nothing answered. */
const noOutputFor = (callId: string) => ({
  message: `No tool output found for function call ${callId}.`,
  type: 'invalid_request_error',
  param: 'input',
  code: null,
});

/** The error body of a call the gateway refused with 400; fails the test when it was accepted. */
async function refusalOf(call: Promise<unknown>): Promise<unknown> {
  const err = await call.catch((e: unknown) => e);
  if (!(err instanceof BadRequestError)) throw new Error(`not refused: ${JSON.stringify(err)}`);
  return err.error;
}

/** The text of a message item, or its type. */
function textOf(item: { type: string }): string {
  if (item.type !== 'message') return item.type;
  return (item as { content?: { text?: string }[] }).content?.[0]?.text ?? '';
}

/** An upstream answer that calls `weather` with the given call id. */
function callsWeather(callId: string): UpstreamHandler {
  return (req, res) =>
    json(200, {
      ...completionFor(req.body),
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: callId, type: 'function', function: { name: 'weather', arguments: '{}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
    })(req, res);
}

const TOOLS = [{ type: 'function' as const, name: 'weather', parameters: {}, strict: false }];

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Holds the next `n` upstream calls until released; resolves `arrived` once all have come. */
function holdNext(upstream: FakeUpstream, handlers: readonly UpstreamHandler[]) {
  const arrivals = handlers.map(() => gate());
  const releases = handlers.map(() => gate());
  handlers.forEach((handler, i) => {
    upstream.enqueue(async (req, res) => {
      arrivals[i]?.open();
      await releases[i]?.opened;
      await handler(req, res);
    });
  });
  return {
    arrived: Promise.all(arrivals.map((a) => a.opened)),
    release: (i: number) => releases[i]?.open(),
  };
}

/**
 * Holds the next streamed and the next JSON upstream call, whichever comes first, each until
 * released; resolves `arrived` once both have come.
 */
function holdStreamAndJson(
  upstream: FakeUpstream,
  handlers: { json: UpstreamHandler; stream: UpstreamHandler },
) {
  const arrivals = { json: gate(), stream: gate() };
  const releases = { json: gate(), stream: gate() };
  const held: UpstreamHandler = async (req, res) => {
    const kind = req.body.stream === true ? 'stream' : 'json';
    arrivals[kind].open();
    await releases[kind].opened;
    await handlers[kind](req, res);
  };
  upstream.enqueue(held);
  upstream.enqueue(held);
  return {
    arrived: Promise.all([arrivals.json.opened, arrivals.stream.opened]),
    release: (kind: 'json' | 'stream') => releases[kind].open(),
  };
}

describe.each(storageDrivers())('conversation and chain integrity on $name', (driver) => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let gateway: TestApp;
  let client: OpenAI;
  let tenantId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    target = await driver.create();
    const database =
      target.target.kind === 'postgres' ? await openDatabase(target.target) : undefined;
    gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' }, { database });
    const key = await gateway.createKey();
    tenantId = key.tenantId;
    client = gateway.openai(key.key, { maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await gateway?.deps.database.close();
    await upstream?.close();
    await target?.drop();
  });

  beforeEach(() => {
    let n = 0;
    upstream.requests.length = 0;
    upstream.setFallback((req, res) =>
      json(200, completionFor(req.body, `Answer ${++n}`))(req, res),
    );
  });

  /** Every item of a conversation, paged by the SDK `limit` at a time (at most 50 pages). */
  async function allItems(id: string, limit: number, order: 'asc' | 'desc'): Promise<string[]> {
    const texts: string[] = [];
    for await (const item of client.conversations.items.list(id, { limit, order })) {
      texts.push(textOf(item));
      if (texts.length > 50) break;
    }
    return texts;
  }

  it('stores a new item id once when two turns carry it at once: one answers, the other is a 400', async () => {
    const conversation = await client.conversations.create({});
    const held = holdNext(upstream, [
      (req, res) => json(200, completionFor(req.body, 'First'))(req, res),
      (req, res) => json(200, completionFor(req.body, 'Second'))(req, res),
    ]);
    const turn = () =>
      client.responses
        .create({
          model: 'gpt-4o-mini',
          conversation: conversation.id,
          input: [userItem('msg_same', 'Hello?')],
        })
        .then(
          (response) => ({ ok: true as const, text: response.output_text }),
          (err: unknown) => ({ ok: false as const, err }),
        );
    const turns = [turn(), turn()];
    // Both are past the request's own checks: neither had been stored then.
    await held.arrived;
    held.release(0);
    held.release(1);
    const outcomes = await Promise.all(turns);
    const answered = outcomes.filter((o) => o.ok);
    const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.err]));
    expect(answered, JSON.stringify(outcomes)).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(BadRequestError);
    const loser = refused[0] as BadRequestError;
    expect(loser.error).toEqual(duplicateOf('msg_same'));
    // Its row is kept, with the tokens its answer spent.
    await settleLog(gateway.deps);
    const rows = await gateway.deps.database.db.execute(
      sql`select status, completion_tokens from interactions where id = ${loser.requestID ?? ''}`,
    );
    expect(rowsOf(rows)).toEqual([{ status: 400, completion_tokens: 5 }]);
    expect(await allItems(conversation.id, 1, 'asc')).toEqual([
      'Hello?',
      answered[0]?.ok ? answered[0].text : '',
    ]);
  });

  it('ends a streamed turn that lost such a race with an error event, and stores nothing of it', async () => {
    const conversation = await client.conversations.create({});
    const held = holdStreamAndJson(upstream, {
      json: (req, res) => json(200, completionFor(req.body, 'Kept'))(req, res),
      stream: sse(['Not ', 'kept']),
    });
    const first = client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [userItem('msg_raced', 'Hello?')],
    });
    const second = client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [userItem('msg_raced', 'Hello?')],
      stream: true,
    });
    await held.arrived;
    held.release('json');
    expect((await first).output_text).toBe('Kept');
    held.release('stream');
    const events: ResponseStreamEvent[] = [];
    const failure = await (async () => {
      for await (const event of await second) events.push(event);
    })().catch((e: unknown) => e);
    const types = events.map((e) => e.type);
    expect(types.at(-1), JSON.stringify(types)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    expect(failure).toMatchObject({ message: duplicateOf('msg_raced').message });
    const failed = events.at(-1);
    const lostId = failed?.type === 'response.failed' ? failed.response.id : '';
    await expect(client.responses.retrieve(lostId)).rejects.toBeInstanceOf(NotFoundError);
    expect(await allItems(conversation.id, 20, 'asc')).toEqual(['Hello?', 'Kept']);
  });

  it('pages every item once, to the end, over an item id an earlier version stored twice', async () => {
    const conversation = await client.conversations.create({
      items: ['a', 'b', 'c', 'd'].map((text) => userItem(`msg_${text}`, text)),
    });
    // As the upgrade leaves a conversation an earlier version gave msg_b twice: a later copy.
    await gateway.deps.database.db.execute(sql`
      insert into conversation_items
        (conversation_id, position, tenant_id, item_id, item_copy, created_at, item_enc)
      select conversation_id, 4, tenant_id, item_id, 1, created_at, item_enc
        from conversation_items where conversation_id = ${conversation.id} and item_id = 'msg_b'`);
    await client.conversations.items.create(conversation.id, {
      items: [userItem('msg_e', 'e')],
    });
    const all = ['a', 'b', 'c', 'd', 'b', 'e'];
    for (const limit of [1, 2, 3, 20]) {
      expect(await allItems(conversation.id, limit, 'asc'), `asc by ${limit}`).toEqual(all);
      expect(await allItems(conversation.id, limit, 'desc'), `desc by ${limit}`).toEqual(
        [...all].reverse(),
      );
    }
    const item = await client.conversations.items.retrieve('msg_b', {
      conversation_id: conversation.id,
    });
    expect(textOf(item)).toBe('b');
    // Neither copy is a reason to accept the id again.
    const err = await refusalOf(
      client.conversations.items.create(conversation.id, { items: [userItem('msg_b', 'x')] }),
    );
    expect(err).toMatchObject({ message: duplicateOf('msg_b').message, param: 'items' });
  });

  it("pages a stored response's input items to the end over an id an earlier version stored twice", async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'Keep me' });
    const item = (id: string, text: string): ResponseItem => ({
      id,
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_text', text }],
    });
    // An earlier version kept input that gave msg_x twice.
    const legacyId = 'resp_legacy_repeated_input';
    await gateway.deps.responseStore.save({
      id: legacyId,
      tenantId,
      keyId: 'key_legacy',
      createdAt: new Date(),
      previousResponseId: null,
      conversationId: null,
      sessionId: legacyId,
      response: { ...created, id: legacyId },
      inputItems: [item('msg_w', 'w'), item('msg_x', 'x'), item('msg_y', 'y'), item('msg_x', 'x2')],
      outputItems: [],
    });
    for (const limit of [1, 2, 3]) {
      for (const order of ['asc', 'desc'] as const) {
        const texts: string[] = [];
        for await (const listed of client.responses.inputItems.list(legacyId, { limit, order })) {
          texts.push(textOf(listed));
          if (texts.length > 50) break;
        }
        const all = ['w', 'x', 'y', 'x2'];
        expect(texts, `${order} by ${limit}`).toEqual(order === 'asc' ? all : all.reverse());
      }
    }
  });

  it('refuses a function_call_output that answers no call, without calling the upstream', async () => {
    const output = { type: 'function_call_output' as const, call_id: 'call_nowhere', output: '1' };
    const alone = await refusalOf(
      client.responses.create({ model: 'gpt-4o-mini', tools: TOOLS, input: [output] }),
    );
    expect(alone).toEqual(noCallFor('call_nowhere'));
    const chain = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    const chained = await refusalOf(
      client.responses.create({
        model: 'gpt-4o-mini',
        tools: TOOLS,
        previous_response_id: chain.id,
        input: [output],
      }),
    );
    expect(chained).toEqual(noCallFor('call_nowhere'));
    const conversation = await client.conversations.create({ items: [userItem('msg_q', 'Q')] });
    const inConversation = await refusalOf(
      client.responses.create({
        model: 'gpt-4o-mini',
        tools: TOOLS,
        conversation: conversation.id,
        input: [output],
      }),
    );
    expect(inConversation).toEqual(noCallFor('call_nowhere'));
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses to go on past an unanswered function call, or an output whose call was deleted, without calling the upstream', async () => {
    upstream.enqueue(callsWeather('call_chain_open'));
    const asked = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      input: 'W?',
    });
    const chained = await refusalOf(
      client.responses.create({
        model: 'gpt-4o-mini',
        tools: TOOLS,
        previous_response_id: asked.id,
        input: 'Never mind.',
      }),
    );
    expect(chained).toEqual(noOutputFor('call_chain_open'));
    const conversation = await client.conversations.create({});
    upstream.enqueue(callsWeather('call_conv_open'));
    await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      conversation: conversation.id,
      input: 'W?',
    });
    const open = await refusalOf(
      client.responses.create({
        model: 'gpt-4o-mini',
        tools: TOOLS,
        conversation: conversation.id,
        input: 'Never mind.',
      }),
    );
    expect(open).toEqual(noOutputFor('call_conv_open'));
    await client.conversations.items.create(conversation.id, {
      items: [{ type: 'function_call_output', call_id: 'call_conv_open', output: '21' }],
    });
    const answered = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      conversation: conversation.id,
      input: 'Thanks.',
    });
    expect(answered.status).toBe('completed');
    // The call deleted, its output is left answering nothing.
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    const call = items.data.find((item) => item.type === 'function_call');
    await client.conversations.items.delete(call?.id ?? '', { conversation_id: conversation.id });
    const orphaned = await refusalOf(
      client.responses.create({
        model: 'gpt-4o-mini',
        tools: TOOLS,
        conversation: conversation.id,
        input: 'More?',
      }),
    );
    expect(orphaned).toEqual(noCallFor('call_conv_open'));
    const input = [
      { type: 'function_call' as const, call_id: 'call_in', name: 'weather', arguments: '{}' },
      { type: 'message' as const, role: 'user' as const, content: 'Skip it.' },
    ];
    const inInput = await refusalOf(
      client.responses.create({ model: 'gpt-4o-mini', tools: TOOLS, input }),
    );
    expect(inInput).toEqual(noOutputFor('call_in'));
    // Two calls that asked, two answered turns; nothing refused reached the upstream.
    expect(upstream.requests).toHaveLength(3);
  });

  it('accepts a function_call_output answering a call of the input, the chain, the conversation or a reference', async () => {
    const output = (callId: string) => ({
      type: 'function_call_output' as const,
      call_id: callId,
      output: '{"temp":21}',
    });
    const call = (callId: string, id: string) => ({
      type: 'function_call' as const,
      id,
      call_id: callId,
      name: 'weather',
      arguments: '{}',
    });
    // The call given in the same input.
    const sameInput = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      input: [call('call_same', 'fc_same'), output('call_same')],
    });
    expect(sameInput.status).toBe('completed');
    // The call the previous response of the chain made.
    upstream.enqueue(callsWeather('call_chain'));
    const asked = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      input: 'W?',
    });
    const answered = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      previous_response_id: asked.id,
      input: [output('call_chain')],
    });
    expect(answered.status).toBe('completed');
    // A call the conversation holds, made by one of its turns.
    const conversation = await client.conversations.create({});
    upstream.enqueue(callsWeather('call_conv'));
    await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      conversation: conversation.id,
      input: 'W?',
    });
    const inConversation = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      conversation: conversation.id,
      input: [output('call_conv')],
    });
    expect(inConversation.status).toBe('completed');
    // A call the tenant stored, given by reference.
    const holder = await client.conversations.create({ items: [call('call_ref', 'fc_ref')] });
    const referenced = await client.responses.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      input: [{ type: 'item_reference', id: 'fc_ref' }, output('call_ref')],
    });
    expect(referenced.status).toBe('completed');
    expect(holder.id).toMatch(/^conv_/);
  });

  it('leaves the conversation as it was after a turn with store: false, as OpenAI does', async () => {
    const conversation = await client.conversations.create({ items: [userItem('msg_1', 'One')] });
    const unstored = await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [userItem('msg_2', 'Two')],
      store: false,
    });
    expect(unstored.output_text).toBe('Answer 1');
    expect(await allItems(conversation.id, 20, 'asc')).toEqual(['One']);
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(NotFoundError);
    // The unstored turn's input can be sent again: it is no part of the conversation.
    const next = await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [userItem('msg_2', 'Two')],
    });
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'One' },
      { role: 'user', content: 'Two' },
    ]);
    expect(await allItems(conversation.id, 20, 'asc')).toEqual(['One', 'Two', next.output_text]);
  });

  it('answers a stream into a conversation deleted meanwhile with store: false, and a turn after it with 404', async () => {
    const conversation = await client.conversations.create({});
    const held = holdNext(upstream, [sse(['Too ', 'late'])]);
    const pending = client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: 'Hello?',
      stream: true,
    });
    await held.arrived;
    await client.conversations.delete(conversation.id);
    held.release(0);
    const events: ResponseStreamEvent[] = [];
    for await (const event of await pending) events.push(event);
    const last = events.at(-1);
    expect(last?.type).toBe('response.completed');
    const response = last?.type === 'response.completed' ? last.response : null;
    expect(response?.output_text ?? textOf(response?.output[0] ?? { type: 'none' })).toBe(
      'Too late',
    );
    expect((response as { store?: unknown } | null)?.store).toBe(false);
    const after = await client.responses
      .create({ model: 'gpt-4o-mini', conversation: conversation.id, input: 'Again?' })
      .catch((e: unknown) => e);
    expect(after).toBeInstanceOf(NotFoundError);
  });
});
