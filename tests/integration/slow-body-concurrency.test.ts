import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { ok, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
let gateway: TestApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setFallback(ok);
  gateway = await createTestApp({ UPSTREAM_BASE_URL: upstream.url, CACHE: 'off' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** A request body that sends its first bytes, then nothing until `fail` is called. */
function tricklingBody() {
  let reading: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    reading = resolve;
  });
  let fail: (reason: Error) => void = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"model":"gpt-4o-mini",'));
      fail = (reason) => controller.error(reason);
    },
    pull() {
      // The gateway asks for more: it has authenticated the request and is reading its body.
      reading();
      return new Promise<void>(() => {});
    },
  });
  return { body, started, fail: (reason: Error) => fail(reason) };
}

describe('6: a slow request body', () => {
  it("6: holds a slot of its key's max_concurrency while it trickles, and frees it when it ends", async () => {
    const { key } = await gateway.createKey({ name: 'one-at-a-time', maxConcurrency: 1 });
    const client = gateway.openai(key);
    const ask = () =>
      client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
        .then(
          () => 200,
          (err: { status?: number }) => err.status ?? 0,
        );
    expect(await ask()).toBe(200);
    // The first answer's slot is freed by its after-response step.
    await settleLog(gateway.deps);
    expect(await ask(), 'one at a time').toBe(200);
    await settleLog(gateway.deps);

    const slow = tricklingBody();
    const slowAnswer = gateway.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: slow.body,
      duplex: 'half',
    } as RequestInit);
    await slow.started;
    expect(await ask(), 'a second request while the first body trickles').toBe(429);

    slow.fail(new Error('the client went away'));
    const ended = await slowAnswer;
    expect(ended.status).toBeGreaterThanOrEqual(400);
    await settleLog(gateway.deps);
    expect(await ask(), 'once the slow request ended').toBe(200);
  });
});
