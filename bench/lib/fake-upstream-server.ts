import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runService } from './service-process.js';

/**
 * Child process: the fastest honest OpenAI stand-in. Every answer is built once at start-up, so
 * per request it only reads the body, checks `stream` and writes prepared bytes.
 */

const CREATED = 1_700_000_000;
/** 18 words: one content delta each when streamed. */
const WORDS =
  'The quick brown fox jumps over the lazy dog while a gateway in between counts every byte twice.'.split(
    ' ',
  );

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion',
    created: CREATED,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_bench00000',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: `${WORDS.join(' ')} It answers in one piece, as a provider does.`,
          refusal: null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 24,
      completion_tokens: 36,
      total_tokens: 60,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
  }),
);

function chunk(
  delta: Record<string, unknown>,
  finish: string | null,
  usage: boolean,
): Record<string, unknown> {
  return {
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_bench00000',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage: null } : {}),
  };
}

/** The SSE frames of one streamed answer: role, 18 content deltas, finish, optional usage. */
function streamFrames(includeUsage: boolean): Buffer[] {
  const events = [
    chunk({ role: 'assistant', content: '', refusal: null }, null, includeUsage),
    ...WORDS.map((w, i) => chunk({ content: i === 0 ? w : ` ${w}` }, null, includeUsage)),
    chunk({}, 'stop', includeUsage),
  ];
  if (includeUsage) {
    events.push({
      ...chunk({}, null, false),
      choices: [],
      usage: { prompt_tokens: 24, completion_tokens: 18, total_tokens: 42 },
    });
  }
  return [
    ...events.map((e) => Buffer.from(`data: ${JSON.stringify(e)}\n\n`)),
    Buffer.from('data: [DONE]\n\n'),
  ];
}

const FRAMES_WITH_USAGE = streamFrames(true);
const FRAMES_WITHOUT_USAGE = streamFrames(false);

function answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
    return;
  }
  let body: { stream?: unknown; stream_options?: { include_usage?: unknown } };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
    return;
  }
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': COMPLETION.length });
    res.end(COMPLETION);
    return;
  }
  const frames =
    body.stream_options?.include_usage === true ? FRAMES_WITH_USAGE : FRAMES_WITHOUT_USAGE;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // One write per event, back to back: as many chunks as a real stream, none of its waiting.
  for (const frame of frames) res.write(frame);
  res.end();
}

runService(async () => {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => answer(req, res, Buffer.concat(parts).toString('utf8')));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
