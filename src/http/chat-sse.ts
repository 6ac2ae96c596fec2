import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { SSE_DONE, sseData } from './sse.js';
import type { StreamFormat } from './stream-relay.js';

/** Removes what the client did not ask for: the usage chunk and `usage: null` fields. */
function visibleChunk(
  chunk: ChatCompletionChunk,
  includeUsage: boolean,
): ChatCompletionChunk | null {
  if (includeUsage || !('usage' in chunk)) return chunk;
  if (chunk.usage && chunk.choices.length === 0) return null;
  const { usage: _usage, ...rest } = chunk;
  return rest;
}

/**
 * Chat completions' wire format: each chunk as a `data:` event (the usage chunk only when the
 * client asked for it), `data: [DONE]` at the end, and an error as a last `data: {"error":…}`.
 */
export function chatStreamFormat(includeUsage: boolean): StreamFormat {
  return {
    start: () => '',
    chunk: (chunk) => {
      const visible = visibleChunk(chunk, includeUsage);
      return visible ? sseData(visible) : '';
    },
    end: () => SSE_DONE,
    error: (error) => sseData(error.body()),
  };
}
