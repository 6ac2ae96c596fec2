import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const LIMIT_BYTES = 1_000;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  gateway = await startTestGateway({
    MAX_BODY_BYTES: String(LIMIT_BYTES),
    REQUEST_BODY_TIMEOUT_MS: '1000',
  });
  ({ key } = await gateway.createKey());
});

afterAll(async () => {
  await gateway?.stop();
});

/** The head of a chat-completions POST with the test key and `headers`. */
function chatHead(headers: string): string {
  return (
    'POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n' +
    `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n${headers}\r\n`
  );
}

/** Everything the gateway sends on `socket` until the connection ends (or the error that ended it). */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`${answer}[${err.code}]`));
    socket.on('close', () => resolve(answer));
  });
}

/** Sends `bytes` on a new connection and resolves with all the gateway sent until it closed. */
async function exchange(bytes: string): Promise<string> {
  const socket = connect(gateway.server.port, '127.0.0.1');
  const answer = untilClosed(socket);
  socket.write(bytes);
  return answer;
}

/** The status, headers (lower-case names) and body of the first answer in `text`. */
function parse(text: string) {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers = new Map(
    lines.map((l) => [
      l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]),
  );
  const length = Number(headers.get('content-length'));
  const body = text.slice(end + 4, end + 4 + length);
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('answers after which the gateway closes the connection', () => {
  it('a 408 for a body that stopped arriving says Connection: close, and the connection ends', async () => {
    const text = await exchange(`${chatHead('Content-Length: 100\r\n')}{"model":`);
    const answer = parse(text);
    expect(answer.status, text).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'request_timeout' } });
    expect(answer.headers.get('connection'), text).toBe('close');
    expect(answer.headers.has('keep-alive'), text).toBe(false);
  });

  it('a 413 that leaves the body unread says Connection: close; one after reading it all does not', async () => {
    const declared = await exchange(
      `${chatHead(`Content-Length: ${LIMIT_BYTES * 5}\r\n`)}${'x'.repeat(LIMIT_BYTES * 2)}`,
    );
    const refused = parse(declared);
    expect(refused.status, declared).toBe(413);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'request_too_large' } });
    expect(refused.headers.get('connection'), declared).toBe('close');

    const streamed = await exchange(
      `${chatHead('Transfer-Encoding: chunked\r\n')}${(LIMIT_BYTES * 2).toString(16)}\r\n${'x'.repeat(LIMIT_BYTES * 2)}\r\n`,
    );
    expect(parse(streamed).status, streamed).toBe(413);
    expect(parse(streamed).headers.get('connection'), streamed).toBe('close');

    // Small once sent, too large once decoded: the body was read whole, the connection stays.
    const zipped = gzipSync(JSON.stringify({ model: 'gpt-4o-mini', pad: 'y'.repeat(5_000) }));
    const socket = connect(gateway.server.port, '127.0.0.1');
    const head = await new Promise<string>((resolve) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('}}')) resolve(text);
      });
      socket.write(chatHead(`Content-Encoding: gzip\r\nContent-Length: ${zipped.byteLength}\r\n`));
      socket.write(zipped);
    });
    socket.destroy();
    expect(parse(head).status, head).toBe(413);
    expect(parse(head).headers.get('connection'), head).toBe('keep-alive');
  });

  it('a client that writes its whole body before reading still gets its 413', async () => {
    const socket = connect(gateway.server.port, '127.0.0.1');
    // Nothing is read until the body is written, as clients that send first and read after do.
    socket.pause();
    const answer = untilClosed(socket);
    const size = 32 * 1024 * 1024;
    socket.write(chatHead(`Content-Length: ${size}\r\n`));
    const part = Buffer.alloc(256 * 1024, 'x');
    for (let sent = 0; sent < size && !socket.destroyed; sent += part.byteLength) {
      if (!socket.write(part)) {
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
    }
    socket.resume();
    const text = await answer;
    expect(parse(text).status, text.slice(0, 300)).toBe(413);
    expect(parse(text).headers.get('connection')).toBe('close');
    expect(text, text.slice(-300)).toMatch(/"code":"request_too_large"}}$/);
  });
});

describe('a transfer coding other than chunked', () => {
  it('is answered 501 unsupported_transfer_encoding in OpenAI’s shape, and the connection ends', async () => {
    const body = gzipSync(
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    );
    const chunked = `${body.byteLength.toString(16)}\r\n${body.toString('latin1')}\r\n0\r\n\r\n`;
    const socket = connect(gateway.server.port, '127.0.0.1');
    const answer = untilClosed(socket);
    socket.write(chatHead('Transfer-Encoding: gzip, chunked\r\n'));
    socket.write(Buffer.from(chunked, 'latin1'));
    const text = await answer;
    const parsed = parse(text);
    expect(parsed.status, text).toBe(501);
    expect(parsed.headers.get('content-type')).toBe('application/json');
    expect(parsed.headers.get('connection'), text).toBe('close');
    expect(JSON.parse(parsed.body)).toEqual({
      error: {
        message:
          "Transfer-Encoding 'gzip' is not supported: only chunked is. To send a compressed body, use Content-Encoding (gzip, deflate or br).",
        type: 'invalid_request_error',
        param: null,
        code: 'unsupported_transfer_encoding',
      },
    });
  });
});
