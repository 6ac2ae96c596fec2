import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import { chatStreamFormat } from '../../src/http/chat-sse.js';
import { relayStreamTo, type StreamEnd } from '../../src/http/stream-relay.js';
import type { Clock } from '../../src/runtime/clock.js';
import { ShutdownNotice } from '../../src/runtime/shutdown-notice.js';
import { createRouter } from '../../src/upstream/router.js';
import { defaultRouting } from '../../src/upstream/routing-config.js';
import type {
  ClientLink,
  Upstream,
  UpstreamAnswer,
  UpstreamStream,
} from '../../src/upstream/upstream.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';

/** A chunk of a streamed answer carrying `content`. */
function chunk(content: string, finish: 'stop' | null = null): ChatCompletionChunk {
  return {
    id: 'chatcmpl-relay',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content }, finish_reason: finish, logprobs: null }],
  };
}

/**
 * An upstream stream of `count` chunks after the first, each `size` characters of its index's
 * letter, handed out one `rest.next()` at a time; `onPull` runs at each pull.
 */
function upstreamStream(count: number, size: number, onPull: () => void) {
  const state = { pulled: 0, aborted: false, finished: false };
  const stream: UpstreamStream = {
    first: chunk(''),
    rest: {
      next: async () => {
        onPull();
        if (state.aborted) throw new Error('aborted');
        if (state.pulled === count) return { done: true, value: undefined };
        state.pulled++;
        const letter = String.fromCharCode(97 + (state.pulled % 26));
        return {
          done: false,
          value: chunk(letter.repeat(size), state.pulled === count ? 'stop' : null),
        };
      },
    },
    ready: () => null,
    raw: () => null,
    endedWithDone: () => state.pulled === count,
    clientBusy: () => {},
    clientReady: () => {},
    abort: () => {
      state.aborted = true;
    },
    finish: () => {
      state.finished = true;
    },
  };
  return { stream, state };
}

/** How long the relay waits for a client that stopped reading: longer than any case here. */
const STALL_MS = 60_000;

let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/**
 * Serves one relayed stream (`relay` starts it on the response); `filled` resolves at the first
 * write the response refused (the client's socket full).
 */
async function serve(
  relay: (response: ServerResponse) => void,
): Promise<{ port: number; filled: Promise<void> }> {
  let full: () => void = () => {};
  const filled = new Promise<void>((resolve) => (full = resolve));
  server = createServer((_request, response) => {
    const write = response.write.bind(response) as (text: string) => boolean;
    response.write = ((text: string) => {
      const taken = write(text);
      if (!taken) full();
      return taken;
    }) as typeof response.write;
    relay(response);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, filled };
}

/** A raw client that sends one request and reads nothing until told to. */
async function pausedClient(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.pause();
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n');
  return socket;
}

function readAll(socket: Socket): Promise<string> {
  const parts: Buffer[] = [];
  socket.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise<string>((resolve) =>
    socket.once('end', () => resolve(Buffer.concat(parts).toString('utf8'))),
  );
  socket.resume();
  return ended;
}

/** An HTTP/1.1 response's head and its chunked body, decoded. */
function parseResponse(raw: string): { head: string; body: string; ended: boolean } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  let rest = raw.slice(split + 4);
  let body = '';
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (size === 0) return { head, body, ended: rest === '0\r\n\r\n' };
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** The content deltas of an event-stream body, in order. */
function contents(body: string): string[] {
  const events = body.split('\n\n').filter((e) => e.startsWith('data: {'));
  return events.map((e) => {
    const parsed = JSON.parse(e.slice('data: '.length)) as ChatCompletionChunk;
    return parsed.choices[0]?.delta.content ?? '';
  });
}

/** Relays a chat stream onto `res` as the responder does, with the file's stall bound. */
function relayChat(
  res: ServerResponse,
  stream: UpstreamStream,
  onEnd: (end: StreamEnd) => void,
  shutdown = new ShutdownNotice(),
) {
  relayStreamTo(res, {
    headers: { 'content-type': 'text/event-stream' },
    stream,
    format: chatStreamFormat(false),
    secrets: [],
    onEnd,
    clientStallMs: STALL_MS,
    shutdown,
  });
}
describe('relayStreamTo', () => {
  it('reads the upstream no further while the client is not reading, then sends everything in order', async () => {
    // 128 chunks of 256 KB: far more than the sockets between the two can hold.
    const count = 128;
    const size = 256 * 1024;
    let response: ServerResponse | null = null;
    let pulledWhileFull = 0;
    const { stream, state } = upstreamStream(count, size, () => {
      if (response?.writableNeedDrain) pulledWhileFull++;
    });
    let end: StreamEnd | null = null;
    const { port, filled } = await serve((res) => {
      response = res;
      relayChat(res, stream, (e) => {
        end = e;
      });
    });
    const client = await pausedClient(port);
    await filled;
    const { head, body, ended } = parseResponse(await readAll(client));

    expect(pulledWhileFull).toBe(0);
    const sent = contents(body);
    expect(sent).toHaveLength(count + 1);
    expect(sent.slice(1).map((c) => c.length)).toEqual(Array(count).fill(size));
    expect(
      sent
        .slice(1)
        .map((c) => c[0])
        .join(''),
    ).toBe(
      Array.from({ length: count }, (_, i) => String.fromCharCode(97 + ((i + 1) % 26))).join(''),
    );
    expect(head.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(head).toMatch(/\r\ncontent-type: text\/event-stream(\r\n|$)/i);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(ended).toBe(true);
    expect(end).toMatchObject({ status: 200, errorCode: null });
    expect(state.finished).toBe(true);
  });

  it('aborts the upstream and ends as client_closed when the client leaves mid-stream', async () => {
    const { stream, state } = upstreamStream(1_000, 256 * 1024, () => {});
    let ended: (e: StreamEnd) => void = () => {};
    const end = new Promise<StreamEnd>((resolve) => (ended = resolve));
    const { port, filled } = await serve((res) => relayChat(res, stream, ended));
    const client = await pausedClient(port);
    await filled;
    client.destroy();

    expect(await end).toMatchObject({ status: 499, errorCode: 'client_closed' });
    expect(state.aborted).toBe(true);
    expect(state.pulled).toBeLessThan(1_000);
  });

  it("ends as 503 shutting_down when the stop closes the connection of a client that isn't reading", async () => {
    const { stream, state } = upstreamStream(1_000, 256 * 1024, () => {});
    let ended: (e: StreamEnd) => void = () => {};
    const end = new Promise<StreamEnd>((resolve) => (ended = resolve));
    const shutdown = new ShutdownNotice();
    const { port, filled } = await serve((res) => relayChat(res, stream, ended, shutdown));
    await pausedClient(port);
    await filled;
    // As the stop does: it tells the running requests, and closes what is still open later.
    shutdown.begin();
    server?.closeAllConnections();

    expect(await end).toMatchObject({ status: 503, errorCode: 'shutting_down' });
    expect(state.aborted).toBe(true);
  });
});

/** A monotonic clock that stands still until the test moves it (wall time stays real). */
function steppedClock(): Clock & { advance(ms: number): void } {
  let t = 1_000;
  return {
    now: () => Date.now(),
    monotonic: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/** A client that stays for the whole call: only the relay's own waits are under test. */
const staying: ClientLink = {
  gone: false,
  onClose: () => {},
  offClose: () => {},
};

function streamOf(answer: UpstreamAnswer): UpstreamStream {
  if (answer.kind !== 'stream') throw new Error(`expected a stream, got ${answer.kind}`);
  return answer.stream;
}

describe('relayStreamTo, from a real upstream call', () => {
  const IDLE_MS = 300;
  let fake: FakeUpstream | null = null;
  let router: Upstream | null = null;

  afterEach(async () => {
    await router?.close();
    await fake?.close();
    router = null;
    fake = null;
  });

  /** Streams a chat request through the router to the fake upstream; resolves at the first chunk. */
  async function chat(upstream: Upstream, content: string): Promise<UpstreamStream> {
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content }],
      stream: true,
      stream_options: { include_usage: true },
    };
    return streamOf(
      await upstream.chat({
        body,
        rawBody: null,
        model: body.model,
        stream: true,
        client: staying,
      }),
    );
  }

  it("does not count the time the client's full socket takes to drain as upstream silence", async () => {
    fake = await startFakeUpstream();
    const clock = steppedClock();
    const upstream = createRouter({
      routing: defaultRouting(fake.url, 'sk-test'),
      fetch: undefined,
      clock,
      timeouts: { firstTokenMs: 60_000, idleMs: IDLE_MS, totalMs: 600_000 },
      retry: { maxRetries: 0, baseMs: 1, maxMs: 1 },
      shutdown: new ShutdownNotice(),
    });
    router = upstream;
    // 64 parts of 256 KB: far more than the sockets between relay and client hold.
    const count = 64;
    const size = 256 * 1024;
    const parts = Array.from({ length: count }, (_, i) =>
      String.fromCharCode(97 + (i % 26)).repeat(size),
    );
    fake.enqueue(sse(parts));
    const stream = await chat(upstream, 'firehose');
    let end: StreamEnd | null = null;
    const { port, filled } = await serve((res) =>
      relayChat(res, stream, (e) => {
        end = e;
      }),
    );
    const client = await pausedClient(port);
    await filled;
    // The client keeps the relay waiting ten times the idle timeout...
    clock.advance(10 * IDLE_MS);
    // ...and the gateway's idle checks have run since: a second stream, whose upstream went silent
    // after its first chunk, has been cut by its own (later armed) idle timer.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.enqueue(sse(['w'], { pauseBefore: 1, pause: held }));
    try {
      const silent = await chat(upstream, 'silent');
      clock.advance(IDLE_MS);
      const cut = await silent.rest.next().catch((e: unknown) => e);
      expect(cut, JSON.stringify(cut)).toMatchObject({
        detail: { kind: 'timeout', phase: 'idle' },
      });
    } finally {
      release();
    }

    const { body, ended } = parseResponse(await readAll(client));
    expect(body.endsWith('data: [DONE]\n\n'), body.slice(-300)).toBe(true);
    expect(ended).toBe(true);
    const sent = contents(body);
    const summary = (texts: readonly string[]) => texts.map((t) => `${t.slice(0, 1)}${t.length}`);
    expect(summary(sent)).toEqual(summary(['', ...parts, '']));
    expect(end).toMatchObject({ status: 200, errorCode: null });
  });
});
