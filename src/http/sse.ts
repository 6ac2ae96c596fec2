/** Headers of an OpenAI-style server-sent event stream. */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** One `data:` event carrying a JSON value. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** The terminating `data: [DONE]` event. */
export const SSE_DONE = 'data: [DONE]\n\n';
