import { withoutNullMember } from './json-member.js';
import { SSE_DONE, sseData } from './sse.js';
import type { StreamFormat } from './stream-relay.js';

/**
 * Chat completions' wire format: each chunk as a `data:` event (the usage chunk only when the
 * client asked for it), `data: [DONE]` at the end, and an error as a last `data: {"error":…}`.
 */
export function chatStreamFormat(includeUsage: boolean): StreamFormat {
  return {
    start: () => '',
    chunk: (chunk, raw) => {
      // A chunk goes out as the upstream wrote it (one line of JSON), less the usage the client
      // did not ask for: re-encoded only when that cannot be cut from the text.
      const line = raw !== null && raw.indexOf('\n') === -1 ? raw : null;
      if (includeUsage || !('usage' in chunk))
        return line === null ? sseData(chunk) : `data: ${line}\n\n`;
      // A usage chunk has no choices (some OpenAI-compatible servers leave the field out).
      if (chunk.usage && (chunk.choices ?? []).length === 0) return '';
      const cut = line !== null && chunk.usage === null ? withoutNullMember(line, 'usage') : null;
      if (cut !== null) return `data: ${cut}\n\n`;
      const { usage: _usage, ...visible } = chunk;
      return sseData(visible);
    },
    end: () => SSE_DONE,
    error: (error) => sseData(error.body()),
  };
}
