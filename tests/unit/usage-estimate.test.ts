import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { countRequestTokens, countTokens } from '../../src/compression/token-count.js';
import { estimatedUsage } from '../../src/recording/usage-estimate.js';

/** A completion as a stream's assembler leaves it: one message per choice, no usage. */
function completionOf(...messages: ChatCompletion.Choice['message'][]): ChatCompletion {
  return {
    id: 'chatcmpl-cut',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini',
    choices: messages.map((message, index) => ({
      index,
      message,
      logprobs: null,
      finish_reason: 'length',
    })),
  };
}

describe('estimatedUsage', () => {
  const body = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Look up the weather in Paris and Rome' }],
    tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
  };

  it("counts the prompt as sent and each choice's text, refusal and tool calls", () => {
    const usage = estimatedUsage(
      body,
      completionOf(
        { role: 'assistant', content: 'Checking both cities', refusal: null },
        { role: 'assistant', content: null, refusal: 'I cannot help with that' },
        {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'weather', arguments: '{"city":"Par' },
            },
          ],
        },
      ),
      'gpt-4o-mini',
    );
    const count = (text: string) => countTokens(text, 'gpt-4o-mini');
    const generated =
      count('Checking both cities') +
      count('I cannot help with that') +
      count('weather') +
      count('{"city":"Par');
    expect(usage).toEqual({
      prompt_tokens: countRequestTokens(body, 'gpt-4o-mini'),
      completion_tokens: generated,
      total_tokens: countRequestTokens(body, 'gpt-4o-mini') + generated,
    });
    expect(usage.prompt_tokens).toBeGreaterThan(count(body.messages[0]?.content ?? ''));
  });

  it('counts no completion tokens for an answer that had not begun', () => {
    const usage = estimatedUsage(
      body,
      completionOf({ role: 'assistant', content: '', refusal: null }),
      'gpt-4o-mini',
    );
    expect(usage.completion_tokens).toBe(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens);
  });
});
