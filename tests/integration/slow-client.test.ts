import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import type { FakeUpstream, RecordedRequest } from '../helpers/fake-upstream.js';
import { sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const STALL_MS = 300;
let upstream: FakeUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_MAX_RETRIES: '0',
    CACHE: 'off',
    CLIENT_STALL_TIMEOUT_MS: String(STALL_MS),
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** Sends a streamed chat request over a raw socket that reads nothing until told to. */
async function nonReader(key: string): Promise<Socket> {
  const url = new URL(gateway.baseURL);
  const socket = connect(Number(url.port), url.hostname);
  socket.pause();
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'firehose' }],
    stream: true,
  });
  socket.write(
    'POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n' +
      `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  return socket;
}

/** Everything the socket receives from now until the connection ends. */
function readToEnd(socket: Socket): Promise<string> {
  const parts: Buffer[] = [];
  socket.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise<string>((resolve) => {
    const done = () => resolve(Buffer.concat(parts).toString('utf8'));
    socket.once('end', done);
    socket.once('error', done);
  });
  socket.resume();
  return ended;
}

describe('a streaming client that stops reading', () => {
  it('is cut off after CLIENT_STALL_TIMEOUT_MS: upstream aborted, slot freed, a 499 client_stalled row', async () => {
    const { key } = await gateway.createKey({ maxConcurrency: 1 });
    // 64 parts of 256 KB: far more than the sockets between gateway and client hold.
    const parts = Array.from({ length: 64 }, () => 'y'.repeat(256 * 1024));
    let reached: (call: RecordedRequest) => void = () => {};
    const upstreamCall = new Promise<RecordedRequest>((resolve) => (reached = resolve));
    upstream.enqueue((req, res) => {
      reached(req);
      return sse(parts)(req, res);
    });
    const client = await nonReader(key);

    // The gateway gave up on the client: it aborted the upstream call, which was still sending.
    await (await upstreamCall).closedEarly;

    // What reached the client before the cut, then the end of the connection: no [DONE], and no
    // last chunk of the chunked body.
    const received = await readToEnd(client);
    const head = received.slice(0, received.indexOf('\r\n\r\n'));
    expect(head, head).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toContain('data: [DONE]');
    expect(received.endsWith('0\r\n\r\n'), received.slice(-200)).toBe(false);
    const requestId = /\r\nx-request-id: ([^\r\n]+)/i.exec(head)?.[1];
    expect(requestId, head).toBeTruthy();

    await settleLog(gateway.server.deps);
    const row = await findInteraction(gateway.server.deps.database.db, String(requestId));
    expect(row).toMatchObject({ status: 499, errorCode: 'client_stalled', stream: true });

    // The key's one concurrency slot is free again.
    upstream.enqueue(sse(['free']));
    const next = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'again' }],
        stream: true,
      }),
    });
    const text = await next.text();
    expect(next.status, text).toBe(200);
    expect(text).toContain('"free"');
  });
});
