import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url });
  key = (await gateway.createKey()).key;
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** A raw client connection: everything the server sent so far, and when it ended the connection. */
interface RawConnection {
  socket: Socket;
  /** The bytes received so far, as text. */
  received(): string;
  /** Resolves once the received text satisfies `done`. */
  until(done: (text: string) => boolean): Promise<string>;
  /** Resolves with everything received once the server has closed its side. */
  ended: Promise<string>;
}

async function open(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let text = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('utf8');
  socket.on('data', (part: string) => {
    text += part;
    for (const wake of waiters.splice(0)) wake();
  });
  const ended = new Promise<string>((resolve) => {
    socket.once('end', () => resolve(text));
    socket.once('error', () => resolve(text));
  });
  const until = async (done: (t: string) => boolean): Promise<string> => {
    while (!done(text)) await new Promise<void>((wake) => waiters.push(wake));
    return text;
  };
  return { socket, received: () => text, until, ended };
}

/** A streamed chat request's bytes, in the given HTTP version, with extra header lines. */
function streamRequest(
  version: '1.0' | '1.1',
  extraHeaders: string,
  content: string,
  apiKey = key,
): string {
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content }],
  });
  return (
    `POST /v1/chat/completions HTTP/${version}\r\nHost: gateway\r\n` +
    `Authorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`
  );
}

/** An answer's head (status line and lower-cased headers) and the raw bytes after it. */
function split(raw: string): { status: string; headers: Map<string, string>; rest: string } {
  const end = raw.indexOf('\r\n\r\n');
  const [status = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers = new Map(
    lines.map((l) => [
      l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]),
  );
  return { status, headers, rest: raw.slice(end + 4) };
}

/** True once `raw` holds a whole answer framed by its content-length. */
function wholeByLength(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = split(raw).headers.get('content-length');
  return length !== undefined && raw.length >= end + 4 + Number(length);
}

/** A chunked body decoded; null when the bytes are not a whole chunked body. */
function unchunk(rest: string): string | null {
  let body = '';
  let at = 0;
  for (;;) {
    const line = rest.indexOf('\r\n', at);
    if (line < 0) return null;
    const size = Number.parseInt(rest.slice(at, line), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return rest.slice(line) === '\r\n\r\n' ? body : null;
    body += rest.slice(line + 2, line + 2 + size);
    at = line + 2 + size + 2;
  }
}

/** The content deltas of an event-stream body, joined. */
function text(body: string): string {
  return body
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => {
      const chunk = JSON.parse(e.slice('data: '.length)) as {
        choices: { delta: { content?: string } }[];
      };
      return chunk.choices[0]?.delta.content ?? '';
    })
    .join('');
}

describe('the framing of a streamed answer', () => {
  it('sends an HTTP/1.0 client the stream un-chunked and closes the connection after [DONE]', async () => {
    upstream.enqueue(sse(['Hel', 'lo']));
    const conn = await open(gateway.server.port);
    conn.socket.write(streamRequest('1.0', '', 'an old client'));
    const { status, headers, rest } = split(await conn.ended);

    expect(status, rest).toBe('HTTP/1.1 200 OK');
    expect(headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(headers.has('transfer-encoding'), [...headers].join('\n')).toBe(false);
    expect(headers.get('connection')).toBe('close');
    // The body is the event stream itself, ended by the end of the connection.
    expect(rest.startsWith('data: {'), rest.slice(0, 80)).toBe(true);
    expect(rest.endsWith('data: [DONE]\n\n'), rest.slice(-80)).toBe(true);
    expect(text(rest)).toBe('Hello');
  });

  it.each([
    { source: 'the upstream', cache: 'miss' },
    { source: 'the cache', cache: 'hit' },
  ])(
    'answers Connection: close with connection: close and closes after [DONE] ($source)',
    async ({ cache }) => {
      const question = 'close when done';
      if (cache === 'hit') {
        // The same question streamed once before, over a connection of its own, fills the cache.
        upstream.enqueue(sse(['Bye']));
        const first = await open(gateway.server.port);
        first.socket.write(streamRequest('1.1', 'Connection: close\r\n', question));
        await first.ended;
        await settleLog(gateway.server.deps);
      } else {
        upstream.enqueue(sse(['Bye']));
      }
      const content = cache === 'hit' ? question : `${question} (fresh)`;
      const conn = await open(gateway.server.port);
      conn.socket.write(streamRequest('1.1', 'Connection: close\r\n', content));
      const { status, headers, rest } = split(await conn.ended);

      expect(status, rest).toBe('HTTP/1.1 200 OK');
      expect(headers.get('x-tollgate-cache')).toBe(cache);
      expect(headers.get('connection'), [...headers].join('\n')).toBe('close');
      const body = headers.get('transfer-encoding') === 'chunked' ? unchunk(rest) : rest;
      expect(body?.endsWith('data: [DONE]\n\n'), rest.slice(-80)).toBe(true);
      expect(text(body ?? '')).toBe('Bye');
    },
  );

  it('keeps a kept-alive HTTP/1.1 connection open after a stream, with chunked framing', async () => {
    upstream.enqueue(sse(['one']), sse(['two']));
    const conn = await open(gateway.server.port);
    const done = (t: string) => t.endsWith('0\r\n\r\n');
    conn.socket.write(streamRequest('1.1', '', 'first on the connection'));
    const first = split(await conn.until(done));
    expect(first.headers.get('connection'), [...first.headers].join('\n')).toBe('keep-alive');
    expect(first.headers.get('transfer-encoding')).toBe('chunked');
    expect(text(unchunk(first.rest) ?? '')).toBe('one');
    // The same connection carries a second request.
    const before = conn.received().length;
    conn.socket.write(streamRequest('1.1', '', 'second on the connection'));
    const second = split((await conn.until((t) => t.length > before && done(t))).slice(before));
    expect(text(unchunk(second.rest) ?? ''), second.rest).toBe('two');
    conn.socket.destroy();
  });
});

describe('a stream answered while the gateway stops', () => {
  it('carries connection: close and ends its kept-alive connection after [DONE]', async () => {
    const stopping = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
    let stopped: Promise<void> | null = null;
    try {
      const { key: stoppingKey } = await stopping.createKey();
      upstream.enqueue(sse(['late']));
      const conn = await open(stopping.server.port);
      // A first answer leaves the connection open and idle, as a keep-alive client's is.
      conn.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
      const health = split(await conn.until(wholeByLength));
      expect(health.headers.get('connection')).toBe('keep-alive');
      // The next request is on the wire as the stop begins: the server reads it only after this
      // turn of the event loop, the stop already under way.
      const before = conn.received().length;
      conn.socket.write(streamRequest('1.1', '', 'a stream during the stop', stoppingKey));
      stopped = stopping.stop();
      const answer = split((await conn.ended).slice(before));

      expect(answer.status, answer.rest).toBe('HTTP/1.1 200 OK');
      expect(answer.headers.get('connection'), [...answer.headers].join('\n')).toBe('close');
      const body = unchunk(answer.rest);
      expect(body?.endsWith('data: [DONE]\n\n'), answer.rest.slice(-80)).toBe(true);
      expect(text(body ?? '')).toBe('late');
      await stopped;
    } finally {
      await (stopped ?? stopping.stop());
    }
  });
});
