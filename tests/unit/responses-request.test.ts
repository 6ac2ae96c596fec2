import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/http/errors.js';
import { toChatCompletionsBody } from '../../src/http/responses/chat-body.js';
import type { ConversationItemLike } from '../../src/http/responses/input-to-messages.js';
import { parseResponsesRequest } from '../../src/http/responses/responses-request.js';

/** The 400 a body is refused with, as the client sees it. */
function refusal(body: unknown): { status: number; error: Record<string, unknown> } {
  try {
    parseResponsesRequest(body);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return {
      status: error.status,
      error: (error.body() as { error: Record<string, unknown> }).error,
    };
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

const base = { model: 'gpt-4o-mini', input: 'Hi' };

describe('parseResponsesRequest', () => {
  it('reads the fields the gateway relies on, with OpenAI defaults', () => {
    const request = parseResponsesRequest({ ...base, user: 'u1', max_output_tokens: 64 });
    expect(request).toMatchObject({
      model: 'gpt-4o-mini',
      stream: false,
      store: true,
      previousResponseId: null,
      conversationId: null,
      user: 'u1',
      maxOutputTokens: 64,
    });
    expect(parseResponsesRequest({ ...base, store: false, stream: true })).toMatchObject({
      store: false,
      stream: true,
    });
    expect(
      parseResponsesRequest({ model: 'm', conversation: { id: 'conv_1' } }).conversationId,
    ).toBe('conv_1');
  });

  it('refuses a missing model, a missing input and wrong types, naming the parameter', () => {
    expect(refusal({ input: 'Hi' }).error).toMatchObject({
      param: 'model',
      code: 'missing_required_parameter',
      type: 'invalid_request_error',
    });
    expect(refusal({ model: 'm' }).error).toMatchObject({ param: 'input' });
    expect(refusal({ model: 'm', input: 5 }).error).toMatchObject({
      param: 'input',
      code: 'invalid_type',
    });
    expect(refusal({ ...base, temperature: 'hot' }).error).toMatchObject({ param: 'temperature' });
    expect(refusal({ ...base, max_output_tokens: 0 }).error).toMatchObject({
      param: 'max_output_tokens',
    });
    expect(refusal([]).error).toMatchObject({ param: null, code: 'invalid_type' });
  });

  it('accepts input left out when the turn continues a stored response', () => {
    expect(
      parseResponsesRequest({ model: 'm', previous_response_id: 'resp_1' }).previousResponseId,
    ).toBe('resp_1');
  });

  it('refuses previous_response_id together with conversation', () => {
    expect(
      refusal({ ...base, previous_response_id: 'resp_1', conversation: 'conv_1' }).error,
    ).toMatchObject({ param: 'conversation', code: 'mutually_exclusive_parameters' });
  });

  it.each([
    'web_search',
    'web_search_preview',
    'file_search',
    'computer_use_preview',
    'code_interpreter',
    'mcp',
    'image_generation',
    'local_shell',
    'custom',
  ])('refuses the built-in tool %s with a 400 naming tools[1].type', (type) => {
    const { status, error } = refusal({
      ...base,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type }],
    });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'tools[1].type', code: 'unsupported_parameter' });
    expect(String(error.message)).toContain(type);
  });

  it.each([
    [{ background: true }, 'background'],
    [{ prompt: { id: 'pmpt_1' } }, 'prompt'],
    [{ moderation: { model: 'omni-moderation-latest' } }, 'moderation'],
    [{ context_management: [{ type: 'compaction' }] }, 'context_management'],
    [{ include: ['message.output_text.logprobs', 'file_search_call.results'] }, 'include[1]'],
    [{ tool_choice: { type: 'file_search' } }, 'tool_choice.type'],
    [{ tool_choice: 'sometimes' }, 'tool_choice'],
    [{ text: { format: { type: 'xml' } } }, 'text.format.type'],
    [{ text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
    [{ tools: [{ type: 'function' }] }, 'tools[0].name'],
  ])('refuses %j naming %s', (extra, param) => {
    expect(refusal({ ...base, ...extra }).error).toMatchObject({ param });
  });

  it('names the text format a client asked for that is not one of OpenAI’s', () => {
    expect(refusal({ ...base, text: { format: { type: 'xml' } } }).error.message).toBe(
      "Invalid value for 'text.format.type': 'xml'. Supported values are: 'text', 'json_object' and 'json_schema'.",
    );
  });

  it.each([
    [[{ type: 'computer_call_output', call_id: 'c', output: {} }], 'input[0].type'],
    [
      [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }],
      'input[0].content[0].file_id',
    ],
    [
      [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x/y.pdf' }] }],
      'input[0].content[0].file_url',
    ],
    [[{ role: 'user', content: [{ type: 'input_audio' }] }], 'input[0].content[0].type'],
    [[{ role: 'tool', content: 'x' }], 'input[0].role'],
    [[{ type: 'function_call', name: 'f', arguments: '{}' }], 'input[0].call_id'],
    [
      [
        {
          type: 'function_call_output',
          call_id: 'c',
          output: [{ type: 'input_image', image_url: 'u' }],
        },
      ],
      'input[0].output[0]',
    ],
  ])('refuses the input item %j naming %s', (input, param) => {
    expect(refusal({ model: 'm', input }).error).toMatchObject({ param });
  });

  it('accepts background false and the includes a chat upstream can satisfy', () => {
    expect(() =>
      parseResponsesRequest({
        ...base,
        background: false,
        include: ['message.output_text.logprobs', 'reasoning.encrypted_content'],
        truncation: 'auto',
      }),
    ).not.toThrow();
  });
});

describe('toChatCompletionsBody', () => {
  it('translates every supported field', () => {
    const request = parseResponsesRequest({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      input: [
        { role: 'developer', content: 'Use metric units.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is in this image?' },
            { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
          ],
        },
      ],
      tools: [
        {
          type: 'function',
          name: 'lookup',
          description: 'Look a thing up',
          parameters: { type: 'object', properties: {} },
          strict: false,
        },
      ],
      tool_choice: { type: 'function', name: 'lookup' },
      parallel_tool_calls: false,
      text: {
        format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
        verbosity: 'low',
      },
      temperature: 0.3,
      top_p: 0.9,
      max_output_tokens: 200,
      metadata: { app: 'test' },
      user: 'user-7',
      safety_identifier: 'safe-7',
      prompt_cache_key: 'k1',
      reasoning: { effort: 'low', summary: 'auto' },
      store: true,
      stream: true,
      include: ['message.output_text.logprobs'],
      top_logprobs: 2,
    });
    expect(toChatCompletionsBody(request)).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'developer', content: 'Use metric units.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
          ],
        },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'lookup',
            description: 'Look a thing up',
            parameters: { type: 'object', properties: {} },
            strict: false,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      parallel_tool_calls: false,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
      },
      verbosity: 'low',
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 200,
      user: 'user-7',
      safety_identifier: 'safe-7',
      prompt_cache_key: 'k1',
      reasoning_effort: 'low',
      logprobs: true,
      top_logprobs: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('puts history first and joins function calls to the assistant turn before them', () => {
    const history: ConversationItemLike[] = [
      {
        id: 'msg_1',
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'Weather?' }],
      },
      {
        id: 'msg_2',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
      },
      { id: 'rs_1', type: 'reasoning', summary: [] },
      {
        id: 'fc_1',
        type: 'function_call',
        call_id: 'call_a',
        name: 'w',
        arguments: '{"c":"Oslo"}',
        status: 'completed',
      },
      {
        id: 'fc_2',
        type: 'function_call',
        call_id: 'call_b',
        name: 'w',
        arguments: '{"c":"Rome"}',
        status: 'completed',
      },
    ];
    const request = parseResponsesRequest({
      model: 'm',
      previous_response_id: 'resp_0',
      input: [
        { type: 'function_call_output', call_id: 'call_a', output: '12' },
        {
          type: 'function_call_output',
          call_id: 'call_b',
          output: [{ type: 'input_text', text: '25' }],
        },
      ],
    });
    expect(toChatCompletionsBody(request, history).messages).toEqual([
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'w', arguments: '{"c":"Oslo"}' } },
          { id: 'call_b', type: 'function', function: { name: 'w', arguments: '{"c":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '12' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '25' }] },
    ]);
  });

  it('replaces an item_reference with the stored item and refuses an unknown one', () => {
    const request = parseResponsesRequest({
      model: 'm',
      input: [
        { type: 'item_reference', id: 'msg_9' },
        { role: 'user', content: 'And now?' },
      ],
    });
    const stored: ConversationItemLike = {
      id: 'msg_9',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'Earlier answer.', annotations: [] }],
    };
    expect(toChatCompletionsBody(request, [], new Map([['msg_9', stored]])).messages).toEqual([
      { role: 'assistant', content: 'Earlier answer.' },
      { role: 'user', content: 'And now?' },
    ]);
    expect(() => toChatCompletionsBody(request)).toThrowError(/Item with id 'msg_9' not found/);
  });

  it('sends no parallel_tool_calls or tool_choice without tools, and no store or metadata', () => {
    const request = parseResponsesRequest({
      ...base,
      parallel_tool_calls: true,
      tool_choice: 'auto',
      store: true,
      metadata: { a: 'b' },
      text: { format: { type: 'json_object' } },
    });
    expect(toChatCompletionsBody(request)).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      response_format: { type: 'json_object' },
    });
  });
});
