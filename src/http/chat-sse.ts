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
    chunk: (chunk, raw) => {
      const visible = visibleChunk(chunk, includeUsage);
      if (!visible) return '';
      // Unchanged chunks go out as the upstream wrote them (one line of JSON): no re-encoding.
      if (visible === chunk && raw !== null && raw.indexOf('\n') === -1) return `data: ${raw}\n\n`;
      return sseData(visible);
    },
    end: () => SSE_DONE,
    error: (error) => sseData(error.body()),
  };
}
