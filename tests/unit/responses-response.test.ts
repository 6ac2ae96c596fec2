import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { toResponseObject } from '../../src/http/responses/response-object.js';
import type { ResponseContext } from '../../src/http/responses/response-shell.js';
import { parseResponsesRequest } from '../../src/http/responses/responses-request.js';
import { storedTurnItems } from '../../src/http/responses/stored-items.js';

function completionWith(
  message: Partial<ChatCompletion.Choice['message']>,
  finishReason: ChatCompletion.Choice['finish_reason'] = 'stop',
  logprobs: ChatCompletion.Choice['logprobs'] = null,
): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_760_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    service_tier: 'default',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, ...message },
        logprobs,
        finish_reason: finishReason,
      },
    ],
    usage: {
      prompt_tokens: 40,
      completion_tokens: 10,
      total_tokens: 50,
      prompt_tokens_details: { cached_tokens: 32 },
      completion_tokens_details: { reasoning_tokens: 3 },
    },
  };
}

function contextFor(body: Record<string, unknown>): ResponseContext {
  return { id: 'resp_test', createdAt: 1_759_999_999, request: parseResponsesRequest(body) };
}

const MSG_ID = expect.stringMatching(/^msg_[0-9a-f]{50}$/);
const FC_ID = expect.stringMatching(/^fc_[0-9a-f]{50}$/);

describe('toResponseObject', () => {
  it('answers with the response object OpenAI sends, request settings echoed with defaults', () => {
    const response = toResponseObject(
      completionWith({ content: 'Hello!' }),
      contextFor({ model: 'gpt-4o-mini', input: 'Hi', instructions: 'Be kind.' }),
    );
    expect(response).toEqual({
      id: 'resp_test',
      object: 'response',
      created_at: 1_759_999_999,
      status: 'completed',
      background: false,
      completed_at: 1_760_000_000,
      error: null,
      incomplete_details: null,
      instructions: 'Be kind.',
      max_output_tokens: null,
      model: 'gpt-4o-mini-2024-07-18',
      output: [
        {
          id: MSG_ID,
          type: 'message',
          status: 'completed',
          content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Hello!' }],
          role: 'assistant',
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      prompt_cache_key: null,
      prompt_cache_retention: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      service_tier: 'default',
      store: true,
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: 40,
        input_tokens_details: { cached_tokens: 32, cache_write_tokens: 0 },
        output_tokens: 10,
        output_tokens_details: { reasoning_tokens: 3 },
        total_tokens: 50,
      },
      user: null,
      metadata: {},
    });
    expect(response).not.toHaveProperty('output_text');
  });

  it('echoes the request settings the client set', () => {
    const response = toResponseObject(
      completionWith({ content: '{}' }),
      contextFor({
        model: 'gpt-4o-mini',
        input: 'Hi',
        temperature: 0.1,
        top_p: 0.5,
        max_output_tokens: 99,
        metadata: { team: 'a' },
        user: 'u',
        store: false,
        previous_response_id: 'resp_prev',
        parallel_tool_calls: false,
        tool_choice: 'required',
        tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
        text: { format: { type: 'json_object' } },
        reasoning: { effort: 'high' },
        truncation: 'auto',
      }),
    );
    expect(response).toMatchObject({
      temperature: 0.1,
      top_p: 0.5,
      max_output_tokens: 99,
      metadata: { team: 'a' },
      user: 'u',
      store: false,
      previous_response_id: 'resp_prev',
      parallel_tool_calls: false,
      tool_choice: 'required',
      tools: [
        {
          type: 'function',
          name: 'f',
          description: null,
          parameters: { type: 'object' },
          // Left out, strict is what OpenAI's Responses API makes of the schema: this one can be.
          strict: true,
        },
      ],
      text: { format: { type: 'json_object' }, verbosity: 'medium' },
      reasoning: { effort: 'high', summary: null },
      truncation: 'auto',
    });
  });

  it('is incomplete with reason max_output_tokens when the completion was cut at its length', () => {
    const response = toResponseObject(
      completionWith({ content: 'Once upon a' }, 'length'),
      contextFor({ model: 'm', input: 'Tell a story', max_output_tokens: 16 }),
    );
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.completed_at).toBeNull();
    expect(response.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });

  it('turns tool calls into function_call items after the message', () => {
    const response = toResponseObject(
      completionWith(
        {
          content: 'Let me look.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } },
            { id: 'call_2', type: 'function', function: { name: 'b', arguments: '{}' } },
          ],
        },
        'tool_calls',
      ),
      contextFor({ model: 'm', input: 'Go' }),
    );
    expect(response.output).toEqual([
      expect.objectContaining({ type: 'message', id: MSG_ID }),
      {
        id: FC_ID,
        type: 'function_call',
        status: 'completed',
        arguments: '{"x":1}',
        call_id: 'call_1',
        name: 'a',
      },
      {
        id: FC_ID,
        type: 'function_call',
        status: 'completed',
        arguments: '{}',
        call_id: 'call_2',
        name: 'b',
      },
    ]);
  });

  it('has no message item when the completion has only tool calls, and a refusal part for a refusal', () => {
    const calls = toResponseObject(
      completionWith(
        {
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'a', arguments: '{}' } },
          ],
        },
        'tool_calls',
      ),
      contextFor({ model: 'm', input: 'Go' }),
    );
    expect(calls.output.map((item) => item.type)).toEqual(['function_call']);
    const refused = toResponseObject(
      completionWith({ refusal: 'I cannot help with that.' }),
      contextFor({ model: 'm', input: 'Bad' }),
    );
    expect(refused.output[0]).toMatchObject({
      content: [{ type: 'refusal', refusal: 'I cannot help with that.' }],
    });
  });

  it('carries token logprobs into the output_text part', () => {
    const response = toResponseObject(
      completionWith({ content: 'Hi' }, 'stop', {
        content: [
          {
            token: 'Hi',
            logprob: -0.1,
            bytes: [72, 105],
            top_logprobs: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105] }],
          },
        ],
        refusal: null,
      }),
      contextFor({ model: 'm', input: 'x', include: ['message.output_text.logprobs'] }),
    );
    expect(response.output[0]).toMatchObject({
      content: [
        {
          logprobs: [
            {
              token: 'Hi',
              logprob: -0.1,
              bytes: [72, 105],
              top_logprobs: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105] }],
            },
          ],
        },
      ],
    });
  });
});

describe('storedTurnItems', () => {
  it('lists the input as items with ids, then the output, as input_items and conversations show them', () => {
    const context = contextFor({
      model: 'm',
      instructions: 'Not an item.',
      input: [
        { role: 'user', content: 'Weather in Oslo?' },
        { type: 'function_call', call_id: 'call_1', name: 'w', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: '12' },
        { role: 'assistant', content: 'Noted.' },
        { type: 'item_reference', id: 'msg_old' },
      ],
    });
    const response = toResponseObject(completionWith({ content: 'It is 12 °C.' }), context);
    const old = {
      id: 'msg_old',
      type: 'message' as const,
      role: 'user' as const,
      status: 'completed' as const,
      content: [{ type: 'input_text' as const, text: 'Earlier' }],
    };
    const items = storedTurnItems(context.request, response, new Map([['msg_old', old]]));
    expect(items).toEqual([
      {
        id: MSG_ID,
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'Weather in Oslo?' }],
      },
      {
        id: FC_ID,
        type: 'function_call',
        status: 'completed',
        arguments: '{}',
        call_id: 'call_1',
        name: 'w',
      },
      {
        id: expect.stringMatching(/^fco_/),
        type: 'function_call_output',
        status: 'completed',
        call_id: 'call_1',
        output: '12',
      },
      {
        id: MSG_ID,
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Noted.', annotations: [] }],
      },
      old,
      response.output[0],
    ]);
  });

  it('makes a string input one user message', () => {
    const context = contextFor({ model: 'm', input: 'Hello' });
    const response = toResponseObject(completionWith({ content: 'Hi' }), context);
    expect(storedTurnItems(context.request, response)[0]).toEqual({
      id: MSG_ID,
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_text', text: 'Hello' }],
    });
  });
});
