import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { reasoningTextOf } from './reasoning-items.js';
import type { ResponseContext, ResponseObject } from './response-shell.js';
import type { StreamTranslatorOptions } from './stream-translator.js';
import { ResponsesStreamTranslator } from './stream-translator.js';

/** Words per replayed text delta: enough deltas to look like a stream, few enough to be cheap. */
const WORDS_PER_DELTA = 4;

function pieces(text: string): string[] {
  const words = text.split(/(?<=\s)(?=\S)/).filter((word) => word !== '');
  const out: string[] = [];
  for (let i = 0; i < words.length; i += WORDS_PER_DELTA) {
    out.push(words.slice(i, i + WORDS_PER_DELTA).join(''));
  }
  return out;
}

/** A delta carrying reasoning text, as servers that reason in the open send it. */
function reasoningDelta(text: string): ChatCompletionChunk.Choice['delta'] {
  const delta: ChatCompletionChunk.Choice['delta'] & { reasoning_content: string } = {
    reasoning_content: text,
  };
  return delta;
}

/** The first choice of a completion as the chunks an upstream would have streamed. */
function chunksOf(completion: ChatCompletion): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk' as const,
    model: completion.model,
  };
  const chunk = (delta: ChatCompletionChunk.Choice['delta'], extra = {}): ChatCompletionChunk => ({
    ...base,
    created: completion.created,
    choices: [{ index: 0, delta, finish_reason: null, ...extra }],
  });
  const choice = completion.choices[0];
  if (choice === undefined) return [];
  const { message } = choice;
  const logprobs = choice.logprobs?.content ?? null;
  // Token logprobs cannot be split along word pieces, so text that has them goes in one delta.
  const texts = logprobs ? [message.content ?? ''] : pieces(message.content ?? '');
  const chunks = texts.map((content) =>
    chunk({ content }, logprobs ? { logprobs: { content: logprobs, refusal: null } } : {}),
  );
  // The reasoning came before the answer, in one delta (a reasoning item shows it whole).
  const reasoning = reasoningTextOf(message);
  if (reasoning !== '') chunks.unshift(chunk(reasoningDelta(reasoning)));
  if (message.refusal) chunks.push(chunk({ refusal: message.refusal }));
  (message.tool_calls ?? []).forEach((call, index) => {
    if (call.type !== 'function') return;
    chunks.push(
      chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: call.function }] }),
    );
  });
  chunks.push(chunk({}, { finish_reason: choice.finish_reason }));
  return chunks;
}

/**
 * A stored or cached completion as the full Responses event stream a client would have seen had it
 * come from the upstream (text in several deltas, then each function call), and the response it ends
 * with, for storing.
 */
export function replayResponseEvents(
  completion: ChatCompletion,
  context: ResponseContext,
  options: StreamTranslatorOptions = {},
): { frames: string[]; response: ResponseObject } {
  const translator = new ResponsesStreamTranslator(context, options);
  const frames = [translator.start()];
  for (const chunk of chunksOf(completion)) frames.push(translator.push(chunk));
  if (completion.usage) {
    frames.push(
      translator.push({
        id: completion.id,
        object: 'chat.completion.chunk',
        created: completion.created,
        model: completion.model,
        choices: [],
        usage: completion.usage,
      }),
    );
  }
  frames.push(translator.finish());
  const { response } = translator;
  if (response === null) throw new Error('A finished translator always has a response.');
  return { frames: frames.filter((frame) => frame !== ''), response };
}
