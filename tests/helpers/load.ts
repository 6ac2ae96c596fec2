/** One request of a small load run: its status, request id and latency. */
export interface LoadResult {
  index: number;
  status: number;
  requestId: string | null;
  latencyMs: number;
  /** When the whole answer had arrived (or the connection failed), on performance.now()'s clock. */
  finishedAt: number;
  /** Set when the connection itself failed (refused, reset). */
  error?: string;
}

/**
 * Sends `total` chat requests with `concurrency` in flight, calling `onProgress` after each; bounded
 * by count, loopback only.
 */
export async function runLoad(options: {
  url: string;
  key: string;
  total: number;
  concurrency: number;
  /**
   * Awaited by the worker that finished that request, with the results so far (the same array,
   * growing); the other workers keep sending.
   */
  onProgress?: (done: number, soFar: readonly LoadResult[]) => void | Promise<void>;
}): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  let next = 0;
  async function worker() {
    while (next < options.total) {
      const index = next++;
      const started = performance.now();
      try {
        const res = await fetch(`${options.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: `request ${index}` }],
          }),
        });
        await res.arrayBuffer();
        results.push({
          index,
          status: res.status,
          requestId: res.headers.get('x-request-id'),
          latencyMs: performance.now() - started,
          finishedAt: performance.now(),
        });
      } catch (err) {
        results.push({
          index,
          status: 0,
          requestId: null,
          latencyMs: performance.now() - started,
          finishedAt: performance.now(),
          error: failureOf(err),
        });
      }
      await options.onProgress?.(results.length, results);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return results;
}

/** A failed fetch's message with its cause's code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …). */
function failureOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  return code ? `${err.message} (${code})` : err.message;
}
