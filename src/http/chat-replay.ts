import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { COMPLETION_CHUNK_FIELDS } from '../upstream/stream-assembly.js';
import { SSE_DONE, sseData } from './sse.js';

/** Words per replayed content chunk: enough chunks to look like a stream, few enough to be cheap. */
const WORDS_PER_CHUNK = 4;

/** Splits text into pieces that concatenate back to exactly the text, a few words each. */
export function splitForReplay(text: string): string[] {
  if (text === '') return [];
  const words = text.split(/(?<=\s)(?=\S)/);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += WORDS_PER_CHUNK) {
    pieces.push(words.slice(i, i + WORDS_PER_CHUNK).join(''));
  }
  return pieces;
}

type Delta = ChatCompletionChunk.Choice.Delta;

/** A replayed tool call: a function's, or a custom tool's, which the SDK's chunk type does not name. */
type ReplayToolCall =
  | NonNullable<Delta['tool_calls']>[number]
  | { index: number; id: string; type: 'custom'; custom: { name: string; input: string } };

/** A replayed chunk's choice. */
type ChunkChoice = Omit<ChatCompletionChunk.Choice, 'delta'> & {
  delta: Omit<Delta, 'tool_calls'> & { tool_calls?: ReplayToolCall[] };
};

/** The pieces a text is replayed in: one (none when empty) when it is sent `whole`. */
function replayPieces(text: string, whole: boolean): string[] {
  if (!whole) return splitForReplay(text);
  return text === '' ? [] : [text];
}

/** Message fields the replay sends as OpenAI streams them (role, text pieces, tool calls). */
const STREAMED_MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  'role',
  'content',
  'refusal',
  'tool_calls',
  'function_call',
]);

/**
 * The message's other fields with a value (`reasoning_content`, `annotations`, …), each sent whole
 * in one delta: text first (a model's reasoning comes before its answer), the rest after the
 * answer. Whole, so a client that joins the pieces and one that keeps the last both get it.
 */
function otherFields(message: ChatCompletion.Choice['message']): {
  before: [string, unknown][];
  after: [string, unknown][];
} {
  const before: [string, unknown][] = [];
  const after: [string, unknown][] = [];
  for (const [name, value] of Object.entries(message)) {
    if (STREAMED_MESSAGE_FIELDS.has(name) || value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (typeof value === 'string') {
      if (value !== '') before.push([name, value]);
    } else after.push([name, value]);
  }
  return { before, after };
}

/**
 * The completion's other top-level fields with a value (`moderation`, a provider's own), which a
 * stream sends on a chunk of their own, with no choices.
 */
function otherTopFields(completion: ChatCompletion): Record<string, unknown> | null {
  let fields: Record<string, unknown> | null = null;
  for (const [name, value] of Object.entries(completion)) {
    // The fields every replayed chunk carries, or that the replay builds itself, are not others.
    if (COMPLETION_CHUNK_FIELDS.has(name) || value === null || value === undefined) continue;
    fields ??= {};
    fields[name] = value;
  }
  return fields;
}

/** The fields every replayed chunk starts with, in OpenAI's order. */
function chunkBase(completion: ChatCompletion) {
  return {
    id: completion.id,
    object: 'chat.completion.chunk' as const,
    created: completion.created,
    model: completion.model,
    ...(completion.service_tier ? { service_tier: completion.service_tier } : {}),
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
}

/**
 * Turns a stored completion back into the stream OpenAI would have sent, as `data:` events ending
 * with `[DONE]`: per choice the role first, the message's other text fields (a reasoning), then
 * the content (or refusal) in several pieces, tool calls (or a deprecated function call), its
 * other fields (annotations), and the finish reason; then the completion's other fields
 * (`moderation`) on a chunk with empty choices; the usage chunk (empty choices) last. With
 * `includeUsage`, every other chunk carries `usage: null`, as OpenAI's do; without it no chunk has
 * a usage field. The fields every chunk shares are serialised once; each event is what serialising
 * its chunk gives.
 */
export function replayFrames(completion: ChatCompletion, includeUsage: boolean): string {
  const base = JSON.stringify(chunkBase(completion));
  // `{…shared fields` without its closing brace: every chunk continues it with its choices.
  const open = `data: ${base.slice(0, -1)},"choices":[`;
  const close = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  let out = '';
  for (const choice of replayChoices(completion)) out += `${open}${JSON.stringify(choice)}${close}`;
  const others = otherTopFields(completion);
  if (others) {
    const usage = includeUsage ? { usage: null } : {};
    out += sseData({ ...chunkBase(completion), choices: [], ...usage, ...others });
  }
  if (includeUsage && completion.usage) {
    out += `${open}],"usage":${JSON.stringify(completion.usage)}}\n\n`;
  }
  return out + SSE_DONE;
}

/** The one choice of each replayed chunk, in the order they are sent. */
function replayChoices(completion: ChatCompletion): ChunkChoice[] {
  const choices: ChunkChoice[] = [];
  for (const choice of completion.choices) {
    const { index, message } = choice;
    const logprobs = choice.logprobs ?? null;
    choices.push({
      index,
      // As OpenAI opens them: `content: ''` for an answer with text, null for one without (tool
      // calls only), so a client that joins the pieces gets the message's own content back.
      delta: { role: 'assistant', content: message.content == null ? null : '', refusal: null },
      logprobs: null,
      finish_reason: null,
    });
    const { before, after } = otherFields(message);
    for (const [name, value] of before) {
      choices.push({ index, delta: { [name]: value }, logprobs: null, finish_reason: null });
    }
    // Token logprobs cannot be split along our pieces, so a text that has them goes in one, with
    // them. A client appends each chunk's: the content's go with the content, the refusal's with
    // the refusal.
    const refusalLogprobs = logprobs?.refusal?.length ? logprobs.refusal : null;
    const contentLogprobs = logprobs && refusalLogprobs ? { ...logprobs, refusal: null } : logprobs;
    for (const piece of replayPieces(message.content ?? '', logprobs !== null)) {
      choices.push({
        index,
        delta: { content: piece },
        logprobs: contentLogprobs,
        finish_reason: null,
      });
    }
    const withRefusal = refusalLogprobs ? { content: null, refusal: refusalLogprobs } : null;
    for (const piece of replayPieces(message.refusal ?? '', withRefusal !== null)) {
      choices.push({
        index,
        delta: { refusal: piece },
        logprobs: withRefusal,
        finish_reason: null,
      });
    }
    const functionCall = message.function_call;
    if (functionCall) {
      const { name, arguments: args } = functionCall;
      choices.push({
        index,
        delta: { function_call: { name, arguments: args } },
        logprobs: null,
        finish_reason: null,
      });
    }
    (message.tool_calls ?? []).forEach((call, i) => {
      const { id } = call;
      const sent: ReplayToolCall =
        call.type === 'custom'
          ? {
              index: i,
              id,
              type: 'custom',
              custom: { name: call.custom.name, input: call.custom.input },
            }
          : {
              index: i,
              id,
              type: 'function',
              function: { name: call.function.name, arguments: call.function.arguments },
            };
      choices.push({ index, delta: { tool_calls: [sent] }, logprobs: null, finish_reason: null });
    });
    for (const [name, value] of after) {
      choices.push({ index, delta: { [name]: value }, logprobs: null, finish_reason: null });
    }
    choices.push({ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason });
  }
  return choices;
}
