/**
 * Headers of an OpenAI-style server-sent event stream. Neither framing nor `connection` is
 * named: Node's server chooses them for each request, as it does for every other answer (chunked
 * for an HTTP/1.1 client, the body ended by closing the connection for an HTTP/1.0 one; `close`
 * when the client asked for it or the gateway is stopping, keep-alive otherwise).
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** One `data:` event carrying a JSON value. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** The terminating `data: [DONE]` event. */
export const SSE_DONE = 'data: [DONE]\n\n';
