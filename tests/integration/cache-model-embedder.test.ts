import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { storageDrivers } from '../helpers/test-database.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/**
 * The semantic cache with the offline model embedder (EMBEDDINGS=model): on PGlite, and on the
 * local PostgreSQL, which has no pgvector (vectors in a plain column, searched in memory).
 */
describe.each(storageDrivers())('semantic cache with the model embedder on $name', (driver) => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let gateway: TestGateway;
  let client: OpenAI;
  let answers = 0;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) =>
      json(200, completionFor(req.body, `Answer ${++answers}`))(req, res),
    );
    target = await driver.create();
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      EMBEDDINGS: 'model',
      ...(target.target.kind === 'postgres'
        ? { DATABASE_URL: target.target.url, TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci') }
        : {}),
    });
    client = new OpenAI({
      apiKey: (await gateway.createKey()).key,
      baseURL: `${gateway.baseURL}/v1`,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await target?.drop();
  });

  async function ask(content: string) {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })
      .withResponse();
    await settleLog(gateway.server.deps);
    await gateway.server.deps.cache.flush();
    return {
      text: data.choices[0]?.message.content,
      cache: response.headers.get('x-tollgate-cache'),
    };
  }

  it('answers a paraphrase from the cache, and not a question with another number or a negation', async () => {
    const first = await ask('How can I change the password of my email account?');
    expect(first.cache).toBe('miss');

    const paraphrase = await ask('How do I change my email account password?');
    expect(paraphrase.cache).toBe('semantic-hit');
    expect(paraphrase.text).toBe(first.text);

    await ask('How many calories are in 2 eggs?');
    const number = await ask('How many calories are in 3 eggs?');
    expect(number.cache).toBe('miss');

    await ask('Is it safe to take ibuprofen with coffee?');
    const negated = await ask('Is it not safe to take ibuprofen with coffee?');
    expect(negated.cache).toBe('miss');

    expect(upstream.requests).toHaveLength(5);
  });
});
