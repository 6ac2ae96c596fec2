import { describe, expect, it } from 'vitest';
import { requestTurns, responseTurns } from '../../src/dashboard/turns.js';

describe("a session thread's turns", () => {
  it('takes from a chat request only what follows the last assistant turn', () => {
    const request = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'image_url' }] },
      ],
    };
    expect(requestTurns(request)).toEqual([{ role: 'user', text: 'second\n[image_url]' }]);
    expect(requestTurns({ messages: request.messages.slice(0, 2) })).toEqual([
      { role: 'system', text: 'Be brief.' },
      { role: 'user', text: 'first' },
    ]);
  });

  it('reads Responses input as text or items, and embeddings input as one block', () => {
    expect(requestTurns({ input: 'Hello' })).toEqual([{ role: 'user', text: 'Hello' }]);
    expect(
      requestTurns({
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          { type: 'function_call_output', call_id: 'c1', output: '42' },
        ],
      }),
    ).toEqual([
      { role: 'user', text: 'hi' },
      {
        role: 'function_call_output',
        text: JSON.stringify(
          { type: 'function_call_output', call_id: 'c1', output: '42' },
          null,
          2,
        ),
      },
    ]);
    expect(requestTurns({ input: ['alpha', 'beta'] })).toEqual([
      { role: 'input', text: 'alpha\nbeta' },
    ]);
  });

  it("shows an answer's choices, a Responses object's text, or an error's message", () => {
    expect(
      responseTurns({ choices: [{ message: { role: 'assistant', content: 'Sure.' } }] }),
    ).toEqual([{ role: 'assistant', text: 'Sure.' }]);
    const call = [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }];
    expect(
      responseTurns({
        choices: [{ message: { role: 'assistant', content: null, tool_calls: call } }],
      }),
    ).toEqual([{ role: 'assistant', text: JSON.stringify(call, null, 2) }]);
    expect(responseTurns({ output_text: 'Done.' })).toEqual([{ role: 'assistant', text: 'Done.' }]);
    expect(responseTurns({ error: { message: 'Rate limit reached' } })).toEqual([
      { role: 'error', text: 'Rate limit reached' },
    ]);
    expect(responseTurns(null)).toEqual([]);
  });
});
