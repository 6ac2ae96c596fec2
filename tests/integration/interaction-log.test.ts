import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInteractionContent } from '../../src/analytics/interaction-content.js';
import { DecryptionError } from '../../src/crypto/envelope.js';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import { apiKeys, interactions } from '../../src/storage/schema.js';
import { forgetTenant } from '../../src/tenants/tenant-admin.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { completionFor, json, sse, startFakeUpstream } from '../helpers/fake-upstream.js';
import { settleLog } from '../helpers/settle.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const PROMPT_MARKER = 'ZEBRA-PROMPT-MARKER-7781';
const ANSWER_MARKER = 'QUOKKA-ANSWER-MARKER-3319';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('interaction log', () => {
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let client: OpenAI;
  let tenantId: string;
  let keyId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setFallback((req, res) =>
      json(200, completionFor(req.body, `Answer ${ANSWER_MARKER}`))(req, res),
    );
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_MAX_RETRIES: '0',
    });
    const k = await gateway.createKey();
    tenantId = k.tenantId;
    keyId = k.id;
    client = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('writes exactly one row per request, with status, usage, model and timings for each kind', async () => {
    const db = gateway.server.deps.database.db;
    const before =
      (await db.select({ n: sql<number>`count(*)::int` }).from(interactions))[0]?.n ?? 0;

    const jsonCall = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }], user: 'alice' })
      .withResponse();

    upstream.enqueue(sse(['a', 'b', 'c']));
    const streamCall = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two' }], stream: true })
      .withResponse();
    for await (const _ of streamCall.data) {
      // drain
    }

    upstream.enqueue(
      json(500, { error: { message: 'down', type: 'server_error', param: null, code: null } }),
    );
    const failed = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'three' }],
      }),
    });
    expect(failed.status).toBe(502);

    let release: () => void = () => {};
    upstream.enqueue(
      sse(['x', 'y', 'z'], { pauseBefore: 2, pause: new Promise<void>((r) => (release = r)) }),
    );
    const controller = new AbortController();
    const leaving = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'four' }], stream: true },
        { signal: controller.signal },
      )
      .withResponse();
    const it = leaving.data[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    controller.abort();
    await upstream.requests.at(-1)?.closedEarly;
    release();

    await settleLog(gateway.server.deps);
    const rows = await db
      .select()
      .from(interactions)
      .orderBy(interactions.createdAt, interactions.id);
    expect(rows.length - before).toBe(4);
    const byId = (id: string | null) => rows.find((r) => r.id === id);

    const j = byId(jsonCall.response.headers.get('x-request-id'));
    expect(j).toMatchObject({
      status: 200,
      stream: false,
      model: 'gpt-4o-mini',
      upstreamModel: 'gpt-4o-mini',
      provider: 'default',
      promptTokens: 12,
      completionTokens: 5,
      endUser: 'alice',
      tenantId,
      keyId,
    });
    expect(j?.latencyMs).toBeGreaterThan(0);
    expect(j?.upstreamMs).toBeGreaterThan(0);
    expect(j?.ttftMs).toBeNull();

    const s = byId(streamCall.response.headers.get('x-request-id'));
    expect(s).toMatchObject({ status: 200, stream: true, promptTokens: 9, completionTokens: 3 });
    expect(s?.ttftMs).toBeGreaterThan(0);
    expect(s?.latencyMs).toBeGreaterThanOrEqual(s?.ttftMs ?? 0);

    const f = byId(failed.headers.get('x-request-id'));
    expect(f).toMatchObject({
      status: 502,
      errorCode: 'upstream_error',
      provider: 'default',
      promptTokens: null,
    });
    expect(f?.upstreamMs).toBeGreaterThan(0);

    const d = byId(leaving.response.headers.get('x-request-id'));
    expect(d).toMatchObject({ status: 499, errorCode: 'client_closed', stream: true });
    const content = await readInteractionContent(
      gateway.server.deps.tenantKeys,
      d as NonNullable<typeof d>,
    );
    // What was sent before the client left is recorded.
    expect(
      content.ok &&
        (content.response as { choices: { message: { content: string } }[] }).choices[0]?.message
          .content,
    ).toBe('x');
  });

  it("records a passed-through upstream 4xx with the upstream's error code, its provider and time", async () => {
    const refusal = (code: string | null) => ({
      error: {
        message: "Invalid value for 'temperature'.",
        type: 'invalid_request_error',
        param: 'temperature',
        code,
      },
    });
    const ask = async (status: number, body: unknown) => {
      upstream.enqueue(json(status, body));
      const err = await client.chat.completions
        .create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'too hot' }],
          temperature: 1.9,
        })
        .catch((e: unknown) => e);
      expect(err, String(err)).toBeInstanceOf(APIError);
      expect((err as APIError).status, String(err)).toBe(status);
      return (err as APIError).requestID ?? '';
    };
    const coded = await ask(400, refusal('invalid_value'));
    const typed = await ask(404, refusal(null));
    await settleLog(gateway.server.deps);
    const db = gateway.server.deps.database.db;
    const rows = [await findInteraction(db, coded), await findInteraction(db, typed)];
    expect(rows[0], JSON.stringify(rows[0])).toMatchObject({
      status: 400,
      errorCode: 'invalid_value',
      provider: 'default',
    });
    expect(rows[1], JSON.stringify(rows[1])).toMatchObject({
      status: 404,
      errorCode: 'invalid_request_error',
      provider: 'default',
    });
    for (const row of rows) expect(row?.upstreamMs, JSON.stringify(row)).toBeGreaterThan(0);
    // The row keeps the body the client received.
    const content = await readInteractionContent(
      gateway.server.deps.tenantKeys,
      rows[0] as NonNullable<(typeof rows)[0]>,
    );
    expect(content.ok && content.response).toEqual(refusal('invalid_value'));
  });

  it('stores no plaintext, decrypts to the exact messages and answer, and refuses a moved ciphertext', async () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: `Remember ${PROMPT_MARKER} please` },
    ];
    const a = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages, temperature: 0.2 })
      .withResponse();
    const b = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'other' }] })
      .withResponse();
    await settleLog(gateway.server.deps);
    const db = gateway.server.deps.database.db;
    const raw = await db
      .select({ req: interactions.requestEnc, res: interactions.responseEnc })
      .from(interactions);
    let checked = 0;
    for (const r of raw) {
      for (const bytes of [r.req, r.res]) {
        if (bytes === null) continue;
        checked++;
        // Searched as bytes: Uint8Array.includes with a string argument is always false.
        const stored = Buffer.from(bytes);
        expect(stored.length).toBeGreaterThan(0);
        for (const plain of [PROMPT_MARKER, ANSWER_MARKER, 'Be brief']) {
          expect(stored.includes(plain), `${plain} stored in plaintext`).toBe(false);
        }
      }
    }
    // At least the request and response of both calls above were stored and searched.
    expect(checked).toBeGreaterThanOrEqual(4);
    const rowA = await findInteraction(db, a.response.headers.get('x-request-id') ?? '');
    const rowB = await findInteraction(db, b.response.headers.get('x-request-id') ?? '');
    if (!rowA || !rowB) throw new Error('rows missing');
    const content = await readInteractionContent(gateway.server.deps.tenantKeys, rowA);
    expect(content).toEqual({
      ok: true,
      request: { model: 'gpt-4o-mini', messages, temperature: 0.2 },
      response: a.data,
    });
    await expect(
      readInteractionContent(gateway.server.deps.tenantKeys, {
        ...rowB,
        requestEnc: rowA.requestEnc,
      }),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it('makes a forgotten tenant unreadable through every path while other tenants still decrypt', async () => {
    const deps = gateway.server.deps;
    const other = await insertTenant(deps.database.db, 'forget-me');
    const k = await gateway.createKey({ tenant: other.id });
    const c2 = new OpenAI({ apiKey: k.key, baseURL: `${gateway.baseURL}/v1`, maxRetries: 0 });
    const mine = await c2.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'secret' }] })
      .withResponse();
    const theirs = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'kept' }] })
      .withResponse();
    await settleLog(deps);
    const db = deps.database.db;
    const row = await findInteraction(db, mine.response.headers.get('x-request-id') ?? '');
    const kept = await findInteraction(db, theirs.response.headers.get('x-request-id') ?? '');
    if (!row || !kept) throw new Error('rows missing');
    expect((await readInteractionContent(deps.tenantKeys, row)).ok).toBe(true);

    // Forgotten by another process (the CLI): nothing in this gateway is told.
    await forgetTenant(db, 'forget-me', { actor: 'cli' });
    expect(await readInteractionContent(deps.tenantKeys, row)).toEqual({
      ok: false,
      reason: 'tenant_forgotten',
    });
    expect((await readInteractionContent(deps.tenantKeys, kept)).ok).toBe(true);
    const [meta] = await db.select().from(interactions).where(eq(interactions.id, row.id));
    expect(meta?.status).toBe(200);
    // Its keys are revoked too, so it sends no new traffic.
    const [key] = await db.select().from(apiKeys).where(eq(apiKeys.id, k.id));
    expect(key?.revokedAt).not.toBeNull();
  });

  it('keeps the marker out of every file of a file-backed database', async () => {
    const gw = await startTestGateway({ UPSTREAM_BASE_URL: upstream.url, DATABASE_URL: '' });
    const dataDir = gw.server.deps.config.dataDir;
    try {
      const k = await gw.createKey();
      const c = new OpenAI({ apiKey: k.key, baseURL: `${gw.baseURL}/v1`, maxRetries: 0 });
      for (let i = 0; i < 5; i++) {
        await c.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `${PROMPT_MARKER} ${i}` }],
        });
      }
      await settleLog(gw.server.deps);
      const [n] = await gw.server.deps.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(interactions);
      expect(n?.n).toBe(5);
    } finally {
      await gw.stop();
    }
    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(PROMPT_MARKER), f).toBe(false);
      expect(bytes.includes(ANSWER_MARKER), f).toBe(false);
    }
  });
});
