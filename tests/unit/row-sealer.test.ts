import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, decryptRowField, generateDataKey } from '../../src/crypto/envelope.js';
import type { RowSealer, RowToSeal } from '../../src/recording/row-sealer.js';
import { createInlineRowSealer, createThreadRowSealer } from '../../src/recording/row-sealer.js';
import { createLogger } from '../../src/runtime/logger.js';

const keyA = generateDataKey();
const keyB = generateDataKey();

function row(i: number, overrides: Partial<RowToSeal> = {}): RowToSeal {
  return {
    dataKey: i % 2 === 0 ? keyA : keyB,
    rowId: `0193a5b2-0000-7000-8000-${String(i).padStart(12, '0')}`,
    tenantId: i % 2 === 0 ? 'ten_a' : 'ten_b',
    request: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `q${i} ünïcode 👩‍💻` }],
    }),
    response: JSON.stringify({ choices: [{ message: { content: `answer ${i} ✓` } }] }),
    ...overrides,
  };
}

const sealers: { name: string; create(): RowSealer }[] = [
  {
    name: 'thread',
    create: () => createThreadRowSealer({ logger: createLogger('silent'), maxBatch: 4 }),
  },
  { name: 'inline', create: () => createInlineRowSealer() },
];

describe.each(sealers)('$name row sealer', ({ create }) => {
  let sealer: RowSealer;

  beforeAll(() => {
    sealer = create();
  });

  afterAll(async () => {
    await sealer.close();
  });

  it('seals rows of several tenants into ciphertexts that decryptRowField opens', async () => {
    // Batches mix rows with and without a request, and multi-byte text.
    const rows = Array.from({ length: 11 }, (_, i) => row(i, i % 3 === 0 ? { request: null } : {}));
    const sealed = await Promise.all(rows.map((r) => sealer.seal(r)));
    for (const [i, r] of rows.entries()) {
      const fields = sealed[i];
      if (!fields?.responseEnc) throw new Error(`row ${i} lost its response`);
      const ctx = { rowId: r.rowId, tenantId: r.tenantId };
      if (r.request === null) {
        expect(fields.requestEnc).toBeNull();
      } else {
        if (!fields.requestEnc) throw new Error(`row ${i} lost its request`);
        expect(
          await decryptRowField(r.dataKey, fields.requestEnc, { ...ctx, field: 'request' }),
        ).toEqual(JSON.parse(r.request));
      }
      expect(
        await decryptRowField(r.dataKey, fields.responseEnc, { ...ctx, field: 'response' }),
      ).toEqual(JSON.parse(r.response ?? 'null'));
    }
  });

  it('binds each ciphertext to its key, row, tenant and field', async () => {
    const r = row(0);
    const { requestEnc } = await sealer.seal(r);
    if (!requestEnc) throw new Error('no ciphertext');
    const ctx = { rowId: r.rowId, tenantId: r.tenantId, field: 'request' };
    await expect(decryptRowField(keyB, requestEnc, ctx)).rejects.toBeInstanceOf(DecryptionError);
    await expect(
      decryptRowField(keyA, requestEnc, { ...ctx, rowId: row(2).rowId }),
    ).rejects.toBeInstanceOf(DecryptionError);
    await expect(
      decryptRowField(keyA, requestEnc, { ...ctx, tenantId: 'ten_b' }),
    ).rejects.toBeInstanceOf(DecryptionError);
    await expect(
      decryptRowField(keyA, requestEnc, { ...ctx, field: 'response' }),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it('writes format 1: IV, tag, then deflated JSON under AES-256-GCM, a fresh IV each time', async () => {
    const r = row(4);
    const [one, two] = await Promise.all([sealer.seal(r), sealer.seal(r)]);
    const a = one?.requestEnc;
    const b = two?.requestEnc;
    if (!a || !b) throw new Error('no ciphertext');
    expect(a[0]).toBe(1);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(1 + 12 + 16 + deflatedLength(r.request ?? ''));
  });

  it('keeps a missing field missing', async () => {
    const fields = await sealer.seal(row(6, { request: null }));
    expect(fields.requestEnc).toBeNull();
    expect(fields.responseEnc).not.toBeNull();
  });
});

/** Length of the deflate-raw form encryptRowField stores for this JSON. */
function deflatedLength(json: string): number {
  const deflated = deflateRawSync(Buffer.from(json, 'utf8'));
  expect(inflateRawSync(deflated).toString('utf8')).toBe(json);
  return deflated.length;
}

describe('thread row sealer', () => {
  it('seals everything still queued when closed, then keeps sealing on the calling thread', async () => {
    const sealer = createThreadRowSealer({ logger: createLogger('silent'), windowMs: 60_000 });
    const pending = [sealer.seal(row(1)), sealer.seal(row(2))];
    await sealer.close();
    const sealed = await Promise.all(pending);
    expect(sealed.every((f) => f.requestEnc && f.responseEnc)).toBe(true);
    const after = row(3);
    const { responseEnc } = await sealer.seal(after);
    if (!responseEnc) throw new Error('no ciphertext after close');
    expect(
      await decryptRowField(after.dataKey, responseEnc, {
        rowId: after.rowId,
        tenantId: after.tenantId,
        field: 'response',
      }),
    ).toEqual(JSON.parse(after.response ?? 'null'));
  });
});
