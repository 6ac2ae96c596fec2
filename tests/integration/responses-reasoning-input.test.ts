import type OpenAI from 'openai';
import { BadRequestError } from 'openai';
import type {
  ResponseInputItem,
  ResponseItem,
  ResponseReasoningItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
  client = gateway.openai((await gateway.createKey()).key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

/** The upstream answers with this text. */
function answer(text: string): UpstreamHandler {
  return (req, res) => json(200, completionFor(req.body, text))(req, res);
}

/** A chat answer that reasoned in the open, as DeepSeek sends it. */
function reasonedAnswer(reasoning: string, text: string): UpstreamHandler {
  return (req, res) => {
    const completion = completionFor(req.body, text);
    const [choice] = completion.choices;
    const message = { ...choice?.message, reasoning_content: reasoning };
    json(200, { ...completion, choices: [{ ...choice, message }] })(req, res);
  };
}

/** Every input item of a stored response, oldest first. */
async function inputItemsOf(responseId: string): Promise<ResponseItem[]> {
  return (await client.responses.inputItems.list(responseId, { order: 'asc' })).data;
}

/** The messages the upstream was last sent. */
function lastUpstreamMessages(): unknown {
  return upstream.requests.at(-1)?.body.messages;
}

const SENT_REASONING = {
  id: 'rs_client_1',
  type: 'reasoning',
  summary: [{ type: 'summary_text', text: 'The user greets; greet back.' }],
  content: [{ type: 'reasoning_text', text: 'Greeting detected.' }],
  encrypted_content: 'opaque-blob-from-another-provider',
} satisfies ResponseReasoningItem;

describe('reasoning items a client sends back', () => {
  it('keeps them as input items, in order, with their ids (a new rs_ id for one sent without)', async () => {
    upstream.enqueue(answer('Fine, thanks.'));
    const unnamed = {
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'A follow-up.' }],
    } as unknown as ResponseInputItem;
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: [
        { role: 'user', content: 'Hello' },
        SENT_REASONING,
        { id: 'msg_client_2', type: 'message', role: 'assistant', content: 'Hi!' },
        unnamed,
        { role: 'user', content: 'How are you?' },
      ] as ResponseInputItem[],
    });
    const items = await inputItemsOf(response.id);
    const shown = JSON.stringify(items);
    expect(
      items.map((item) => item.type),
      shown,
    ).toEqual(['message', 'reasoning', 'message', 'reasoning', 'message']);
    expect(items[1], shown).toEqual(SENT_REASONING);
    expect(items[2]?.id, shown).toBe('msg_client_2');
    expect(items[3], shown).toEqual({
      id: expect.stringMatching(/^rs_[0-9a-f]{50}$/),
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'A follow-up.' }],
    });
    // The reasoning never goes upstream: the model sees the conversation's messages only.
    expect(lastUpstreamMessages()).toEqual([
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'How are you?' },
    ]);
  });

  it("lists a previous response's output sent back as the next input as it was answered", async () => {
    upstream.enqueue(reasonedAnswer('Paris is the capital.', 'Paris.'));
    const first = await client.responses.create({
      model: 'deepseek-reasoner',
      input: 'Capital of France?',
      reasoning: { summary: 'auto' },
      store: false,
    });
    expect(first.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    upstream.enqueue(answer('Rome.'));
    const second = await client.responses.create({
      model: 'deepseek-reasoner',
      input: [
        { role: 'user', content: 'Capital of France?' },
        ...(first.output as ResponseInputItem[]),
        { role: 'user', content: 'And of Italy?' },
      ],
    });
    const items = await inputItemsOf(second.id);
    const shown = JSON.stringify(items);
    expect(
      items.map((item) => item.type),
      shown,
    ).toEqual(['message', 'reasoning', 'message', 'message']);
    expect(items[1], shown).toEqual(first.output[0]);
    expect(items[2]?.id, shown).toBe(first.output[1]?.id);
    expect(lastUpstreamMessages()).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
    ]);
  });

  it("adds them to the response's conversation, and to a conversation's items as they are added", async () => {
    const conversation = await client.conversations.create({});
    upstream.enqueue(answer('Hi!'));
    await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: [{ role: 'user', content: 'Hello' }, SENT_REASONING] as ResponseInputItem[],
    });
    const added = await client.conversations.items.create(conversation.id, {
      items: [
        {
          id: 'rs_client_added',
          type: 'reasoning',
          summary: [{ type: 'summary_text', text: 'Added by hand.' }],
        },
      ],
    });
    expect(added.data).toEqual([
      {
        id: 'rs_client_added',
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: 'Added by hand.' }],
      },
    ]);
    const items = await client.conversations.items.list(conversation.id, { order: 'asc' });
    const shown = JSON.stringify(items.data);
    expect(
      items.data.map((item) => item.type),
      shown,
    ).toEqual(['message', 'reasoning', 'message', 'reasoning']);
    expect(items.data[1], shown).toEqual(SENT_REASONING);
    expect(
      await client.conversations.items.retrieve('rs_client_1', {
        conversation_id: conversation.id,
      }),
    ).toEqual(SENT_REASONING);
    // The next turn's history has no reasoning in it.
    upstream.enqueue(answer('Bye.'));
    await client.responses.create({
      model: 'gpt-4o-mini',
      conversation: conversation.id,
      input: 'Bye',
    });
    expect(lastUpstreamMessages()).toEqual([
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'Bye' },
    ]);
  });

  it('resolves an item_reference to a reasoning item a client sent in an earlier response', async () => {
    const sent = { ...SENT_REASONING, id: 'rs_client_ref' };
    upstream.enqueue(answer('Hi!'));
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: 'Hello' }, sent, { role: 'assistant', content: 'Hi!' }],
    });
    upstream.enqueue(answer('Fine.'));
    const later = await client.responses.create({
      model: 'gpt-4o-mini',
      input: [
        { type: 'item_reference', id: 'rs_client_ref' },
        { role: 'user', content: 'How are you?' },
      ],
    });
    expect(later.output_text).toBe('Fine.');
    const items = await inputItemsOf(later.id);
    expect(items[0], JSON.stringify(items)).toEqual(sent);
    expect(lastUpstreamMessages()).toEqual([{ role: 'user', content: 'How are you?' }]);
  });

  it('refuses a reasoning item without a summary, or with a part of another type, as OpenAI does', async () => {
    const refusal = async (item: Record<string, unknown>) => {
      const err = await client.responses
        .create({ model: 'gpt-4o-mini', input: [item as unknown as ResponseInputItem] })
        .catch((e: unknown) => e);
      if (!(err instanceof BadRequestError)) throw new Error(`not refused: ${String(err)}`);
      return err.error;
    };
    expect(await refusal({ type: 'reasoning', id: 'rs_x' })).toEqual({
      message: "Missing required parameter: 'input[0].summary'.",
      type: 'invalid_request_error',
      param: 'input[0].summary',
      code: 'missing_required_parameter',
    });
    expect(
      await refusal({ type: 'reasoning', summary: [{ type: 'output_text', text: 'x' }] }),
    ).toEqual({
      message:
        "Invalid value for 'input[0].summary[0].type': 'output_text'. Supported values are: 'summary_text'.",
      type: 'invalid_request_error',
      param: 'input[0].summary[0].type',
      code: 'invalid_value',
    });
    expect(
      await refusal({ type: 'reasoning', summary: [], encrypted_content: { data: 1 } }),
    ).toMatchObject({ param: 'input[0].encrypted_content', code: 'invalid_type' });
    expect(upstream.requests).toHaveLength(0);
  });
});

/** Streams these deltas of the first choice, the last with `finish`. */
function streamOf(deltas: Record<string, unknown>[], finish: string): UpstreamHandler {
  return (_req, res) => {
    const base = {
      id: 'chatcmpl-late',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm-r1',
    };
    const chunks = [...deltas, {}].map((delta, i) => ({
      ...base,
      choices: [
        { index: 0, delta, logprobs: null, finish_reason: i === deltas.length ? finish : null },
      ],
    }));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
  };
}

/** Streams reasoning, the answer's start, more reasoning, then the rest of the answer. */
const lateReasoningStream = streamOf(
  [
    { role: 'assistant', content: null, reasoning_content: 'Capital of ' },
    { reasoning_content: 'France: Paris.' },
    { content: 'Par', reasoning_content: null },
    { reasoning_content: 'Sure of it.' },
    { content: 'is.' },
  ],
  'stop',
);

/** The events of a Responses stream and the output its `response.completed` event holds. */
async function streamed() {
  const stream = client.responses.stream({
    model: 'deepseek-reasoner',
    input: 'Capital of France?',
    reasoning: { summary: 'auto' },
  });
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  const shown = JSON.stringify(events);
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  const completed = events.at(-1);
  if (completed?.type !== 'response.completed') throw new Error(`not completed: ${shown}`);
  const { output } = completed.response;
  // Each item's events stay together (added … done), in the order of the output.
  const bounds = events.flatMap((e) =>
    e.type === 'response.output_item.added' || e.type === 'response.output_item.done'
      ? [[e.output_index, e.item.id]]
      : [],
  );
  expect(bounds, shown).toEqual(
    output.flatMap((item, i) => [
      [i, item.id],
      [i, item.id],
    ]),
  );
  return { events, output, final: await stream.finalResponse(), shown };
}

describe('reasoning that comes after the answer began', () => {
  it('follows the whole message as one more reasoning item, the same in the stream and stored', async () => {
    upstream.enqueue(lateReasoningStream);
    const { output, final, shown } = await streamed();
    const summary = (text: string) => [{ type: 'summary_text', text }];
    expect(output, shown).toEqual([
      { id: expect.any(String), type: 'reasoning', summary: summary('Capital of France: Paris.') },
      expect.objectContaining({
        type: 'message',
        content: [expect.objectContaining({ text: 'Paris.' })],
      }),
      { id: expect.any(String), type: 'reasoning', summary: summary('Sure of it.') },
    ]);
    expect(final.output.map((item) => item.id)).toEqual(output.map((item) => item.id));
    expect((await client.responses.retrieve(final.id)).output).toEqual(output);
    // The next turn sends the answer upstream as the one message it was.
    upstream.enqueue(answer('Rome.'));
    await client.responses.create({
      model: 'deepseek-reasoner',
      previous_response_id: final.id,
      input: 'And of Italy?',
    });
    expect(lastUpstreamMessages()).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
    ]);
  });

  it('streams the message and a call after it live, and the late reasoning after them', async () => {
    upstream.enqueue(
      streamOf(
        [
          { role: 'assistant', content: 'Let me check.' },
          { reasoning_content: 'The weather needs a call.' },
          { content: ' One moment.' },
          {
            tool_calls: [
              {
                index: 0,
                id: 'call_w',
                type: 'function',
                function: { name: 'weather', arguments: '' },
              },
            ],
          },
          { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] },
        ],
        'tool_calls',
      ),
    );
    const { events, output, final, shown } = await streamed();
    expect(
      output.map((item) => item.type),
      shown,
    ).toEqual(['message', 'function_call', 'reasoning']);
    expect(output[0]).toMatchObject({ content: [{ text: 'Let me check. One moment.' }] });
    expect(output[1]).toMatchObject({ arguments: '{"city":"Paris"}' });
    expect(output[2]).toMatchObject({
      summary: [{ type: 'summary_text', text: 'The weather needs a call.' }],
    });
    // The text after the reasoning and the call's arguments still streamed as they came.
    const deltas = events.flatMap((e) =>
      e.type === 'response.output_text.delta' || e.type === 'response.function_call_arguments.delta'
        ? [e.delta]
        : [],
    );
    expect(deltas).toEqual(['Let me check.', ' One moment.', '{"city":"Paris"}']);
    expect((await client.responses.retrieve(final.id)).output).toEqual(output);
  });
});
