import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake upstream received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  rawBody: string;
  /** Resolves when the client closed this request's connection before the answer finished. */
  closedEarly: Promise<number>;
  receivedAt: number;
}

/** Answers one request; may write slowly, pause, or fail. */
export type UpstreamHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/** A real HTTP server standing in for the provider. */
export interface FakeUpstream {
  url: string;
  requests: RecordedRequest[];
  /** Queue handlers for the next requests (in order); `fallback` answers when the queue is empty. */
  enqueue(...handlers: UpstreamHandler[]): void;
  setFallback(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** A fixed chat completion the fake returns by default. */
export function completionFor(body: Record<string, unknown>, content = 'Hello from upstream') {
  return {
    id: 'chatcmpl-fake123',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: String(body.model ?? 'gpt-4o-mini'),
    system_fingerprint: 'fp_fake',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  };
}

/** Replies with a JSON body. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

/** Replies with the default completion. */
export const ok: UpstreamHandler = (req, res) => json(200, completionFor(req.body))(req, res);

/** Builds streamed chunks for a text, the way OpenAI does (role first, finish and usage last). */
export function chunksFor(model: string, parts: readonly string[], includeUsage: boolean) {
  const base = {
    id: 'chatcmpl-stream1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    system_fingerprint: 'fp_fake',
  };
  const u = includeUsage ? { usage: null } : {};
  const chunks: Record<string, unknown>[] = [
    {
      ...base,
      choices: [
        {
          index: 0,
          delta: { role: 'assistant', content: '', refusal: null },
          logprobs: null,
          finish_reason: null,
        },
      ],
      ...u,
    },
    ...parts.map((p) => ({
      ...base,
      choices: [{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }],
      ...u,
    })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...u },
  ];
  if (includeUsage) {
    chunks.push({
      ...base,
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: parts.length, total_tokens: 9 + parts.length },
    });
  }
  return chunks;
}

/**
 * Streams the given text parts as SSE, optionally pausing before a given chunk index. `failAfter`
 * drops the connection before that chunk; `endAfter` ends the body cleanly before it, with nothing
 * more (no `data: [DONE]`), as a connection cut on the way looks to the gateway.
 */
export function sse(
  parts: readonly string[],
  options: {
    pauseBefore?: number;
    pause?: Promise<void>;
    failAfter?: number;
    endAfter?: number;
  } = {},
): UpstreamHandler {
  return async (req, res) => {
    const includeUsage =
      (req.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunks = chunksFor(String(req.body.model), parts, includeUsage);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < chunks.length; i++) {
      if (options.endAfter === i) break;
      if (options.pauseBefore === i && options.pause) await options.pause;
      if (options.failAfter === i) {
        // Let what was written reach the client first, then drop the connection.
        await new Promise((r) => setTimeout(r, 30));
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      await new Promise<void>((r) =>
        res.write(`data: ${JSON.stringify(chunks[i])}\n\n`, () => r()),
      );
    }
    res.end(options.endAfter === undefined ? 'data: [DONE]\n\n' : undefined);
  };
}

/** Starts the fake provider on a random loopback port. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const queue: UpstreamHandler[] = [];
  let fallback: UpstreamHandler = ok;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const rawBody = Buffer.concat(parts).toString('utf8');
      let closeResolve: (t: number) => void = () => {};
      const closedEarly = new Promise<number>((r) => (closeResolve = r));
      res.on('close', () => {
        if (!res.writableFinished) closeResolve(Date.now());
      });
      let body: Record<string, unknown> = {};
      try {
        body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {};
      } catch {
        body = {};
      }
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        rawBody,
        closedEarly,
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      const handler = queue.shift() ?? fallback;
      Promise.resolve(handler(recorded, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...handlers) => queue.push(...handlers),
    setFallback: (h) => {
      fallback = h;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port where nothing listens (connection refused). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers nothing until released (for timeouts). */
export function hang(release: Promise<void>): UpstreamHandler {
  return async (_req, res: ServerResponse) => {
    await release;
    res.destroy();
  };
}
