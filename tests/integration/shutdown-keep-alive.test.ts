import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream, UpstreamHandler } from '../helpers/fake-upstream.js';
import { ok, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // A drain bound far beyond the test: the requests end by themselves, not by the stop's bound.
  gateway = await startTestGateway({
    UPSTREAM_BASE_URL: upstream.url,
    SHUTDOWN_TIMEOUT_MS: '60000',
  });
  key = (await gateway.createKey()).key;
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** An upstream answer held until `release`, with a promise that it has arrived. */
function held(answer: UpstreamHandler) {
  let arrived!: () => void;
  let release!: () => void;
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const handler: UpstreamHandler = async (req, res) => {
    arrived();
    await released;
    await answer(req, res);
  };
  return { handler, arrival, release };
}

/** Posts a chat request on a keep-alive connection; resolves with the answer's headers and body. */
function post(agent: Agent, body: Record<string, unknown>) {
  const { port } = new URL(gateway.baseURL);
  return new Promise<{ status: number; connection: string | undefined; text: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/chat/completions',
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    },
  );
}

describe('a request in flight when the stop begins', () => {
  it('is answered whole, JSON and stream, and its keep-alive connection ends with the answer', async () => {
    const agent = new Agent({ keepAlive: true });
    const json = held(ok);
    const stream = held(sse(['Still ', 'here.']));
    upstream.enqueue(json.handler, stream.handler);
    const jsonAnswer = post(agent, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'asked before the stop' }],
    });
    await json.arrival;
    const streamAnswer = post(agent, {
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'streamed before the stop' }],
    });
    await stream.arrival;

    const stopped = gateway.stop();
    json.release();
    stream.release();
    const [a, b] = await Promise.all([jsonAnswer, streamAnswer]);
    expect(a.status, a.text).toBe(200);
    expect(JSON.parse(a.text)).toMatchObject({ object: 'chat.completion' });
    expect(a.connection).toBe('close');
    expect(b.status, b.text).toBe(200);
    expect(b.text).toContain('data: [DONE]');
    expect(b.connection).toBe('close');
    await stopped;
    agent.destroy();
  });
});
