/** Headers of an OpenAI-style server-sent event stream. */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * Headers of a stream relayed as it arrives, declaring the chunked framing Node uses anyway for a
 * body of unknown length (the bytes on the wire are the same). Served by the Node server the relay
 * writes them itself (see relayStreamTo); a stream handed to the Node adapter without them would
 * make it read ahead for a length and, when the stream's second piece is not ready yet, wait a
 * timer tick (1 ms or more) before the first byte leaves.
 */
export const RELAYED_SSE_HEADERS: Record<string, string> = {
  ...SSE_HEADERS,
  'transfer-encoding': 'chunked',
};

/** One `data:` event carrying a JSON value. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** The terminating `data: [DONE]` event. */
export const SSE_DONE = 'data: [DONE]\n\n';
