import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/cache/embedders/embedder.js';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/**
 * An embedder that answers at once until told to hold; then each call waits for its abort signal
 * and reports the signal it was given (a slow embeddings provider, as seen from the gateway).
 */
function holdingEmbedder() {
  const local = createLocalEmbedder();
  let holding = false;
  let reportHeld: (signal: AbortSignal | undefined) => void = () => {};
  const held = new Promise<AbortSignal | undefined>((resolve) => {
    reportHeld = resolve;
  });
  const embedder: Embedder = {
    id: local.id,
    dimensions: local.dimensions,
    defaultThreshold: local.defaultThreshold,
    skippedGuards: local.skippedGuards,
    async embed(texts, signal) {
      if (!holding) return local.embed(texts, signal);
      reportHeld(signal);
      if (!signal) throw new Error('embedding without a signal');
      return new Promise<Float32Array[]>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
  return {
    embedder,
    hold: () => {
      holding = true;
    },
    held,
  };
}

let upstream: FakeUpstream;
let gateway: TestGateway;
let client: OpenAI;
const slow = holdingEmbedder();

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway(
    { UPSTREAM_BASE_URL: upstream.url, UPSTREAM_MAX_RETRIES: '0' },
    { embedder: slow.embedder },
  );
  client = new OpenAI({
    apiKey: (await gateway.createKey()).key,
    baseURL: `${gateway.baseURL}/v1`,
    maxRetries: 0,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

describe('a client that leaves while the cache embeds its question', () => {
  it('cancels the embedding, and the question never goes upstream', async () => {
    const ask = (content: string, signal?: AbortSignal) =>
      client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
        signal ? { signal } : {},
      );
    // The first question of a scope is stored (and embedded) after its answer.
    await ask('How long do pangolins sleep each day?');
    await settleLog(gateway.server.deps);
    const chats = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions'));
    expect(chats()).toHaveLength(1);

    // The next question of the scope is embedded for the lookup, before any upstream call.
    slow.hold();
    const leaving = new AbortController();
    const pending = ask('Which habitats do pangolins prefer?', leaving.signal);
    const signal = await slow.held;
    expect(signal).toBeDefined();
    expect(signal?.aborted).toBe(false);
    const cancelled = new Promise<void>((resolve) =>
      signal?.addEventListener('abort', () => resolve(), { once: true }),
    );
    leaving.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    await cancelled;
    await settleLog(gateway.server.deps);
    expect(chats()).toHaveLength(1);
  });
});
