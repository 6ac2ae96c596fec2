import { eq, inArray, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import {
  findInteraction,
  insertInteractions,
  storeInteractions,
} from '../../src/storage/queries/interactions.js';
import {
  encodeInteractionsCopy,
  UnstorableRowError,
} from '../../src/storage/queries/interactions-copy.js';
import { rowsOf } from '../../src/storage/rows-of.js';
import type { InteractionRow, NewInteraction } from '../../src/storage/schema.js';
import { interactions } from '../../src/storage/schema.js';
import { sqlStateOf } from '../../src/storage/sql-state.js';
import { migratedDatabaseOn, storageDrivers } from '../helpers/test-database.js';

/** Every column set, with values that are easy to get wrong in a binary encoding. */
function fullRow(overrides: Partial<NewInteraction> = {}): NewInteraction {
  return {
    id: uuidv7(),
    createdAt: new Date('1999-12-31T23:59:59.987Z'),
    tenantId: 'ten_copy',
    keyId: 'key_copy',
    endUser: 'ünïcode 👩‍💻 "quoted" \\back\\slash\ttab\nnew line',
    model: 'gpt-4o-mini',
    upstreamModel: 'gpt-4o-mini-2024-07-18',
    provider: 'openai',
    status: 499,
    errorCode: 'client_closed_request',
    cacheStatus: 'semantic-hit',
    cacheSimilarity: 0.9731,
    stream: true,
    promptTokens: 2_147_483_647,
    completionTokens: 0,
    tokensSavedCompression: -3,
    compressionMode: 'aggressive',
    promptTokensBeforeCompression: 123_456,
    tokensSavedCache: 77,
    latencyMs: 1234.5678,
    upstreamMs: 0.001,
    ttftMs: 98.76,
    requestEnc: Buffer.from([0, 1, 2, 0xfe, 0xff, 0]),
    responseEnc: Buffer.alloc(0),
    ...overrides,
  };
}

/** The row as a reader sees it, without its id. */
function stored(row: InteractionRow | undefined): Omit<InteractionRow, 'id'> {
  if (!row) throw new Error('row not stored');
  const { id: _id, ...rest } = row;
  return rest;
}

describe.each(storageDrivers())('interaction inserts on $name', (driver) => {
  const database = migratedDatabaseOn(driver);

  it('stores every column exactly as the JSON insert does', async () => {
    const cases: NewInteraction[] = [
      fullRow(),
      fullRow({ createdAt: new Date('2026-11-22T10:11:12.345Z'), latencyMs: -0.5, stream: false }),
      // Only what the table requires: the rest is NULL, and stream takes its default.
      {
        id: uuidv7(),
        createdAt: new Date(),
        tenantId: 'ten_copy',
        keyId: 'key_copy',
        status: 200,
        latencyMs: 1,
      },
    ];
    for (const row of cases) {
      const viaJson = { ...row, id: uuidv7() };
      expect(await storeInteractions(database(), [row])).toBe(1);
      expect(await insertInteractions(database().db, [viaJson])).toBe(1);
      const a = await findInteraction(database().db, row.id);
      const b = await findInteraction(database().db, viaJson.id);
      expect(stored(a)).toEqual(stored(b));
      expect(a?.createdAt.toISOString()).toBe(row.createdAt.toISOString());
      expect(a?.endUser).toBe(row.endUser ?? null);
      expect(a?.stream).toBe(row.stream ?? false);
    }
  });

  it('adds each row once: a batch meeting stored ids keeps the stored rows and adds the rest', async () => {
    const first = Array.from({ length: 10 }, () => fullRow());
    expect(await storeInteractions(database(), first)).toBe(10);
    const again = [...first, ...Array.from({ length: 5 }, () => fullRow())];
    expect(await storeInteractions(database(), again)).toBe(5);
    const ids = again.map((r) => r.id);
    const [count] = await database()
      .db.select({ n: sql<number>`count(*)::int`, distinct: sql<number>`count(distinct id)::int` })
      .from(interactions)
      .where(inArray(interactions.id, ids));
    expect(count).toEqual({ n: 15, distinct: 15 });
  });

  it('a batch the database refuses stores none of its rows and fails with the reason', async () => {
    const db = database().db;
    await db.execute(
      sql.raw('alter table interactions add constraint status_below_900 check (status < 900)'),
    );
    const good = fullRow({ status: 200 });
    const refused = fullRow({ status: 950 });
    try {
      const error = await storeInteractions(database(), [good, refused]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(sqlStateOf(error)).toBe('23514');
      expect(await findInteraction(db, good.id)).toBeUndefined();
    } finally {
      await db.execute(sql.raw('alter table interactions drop constraint status_below_900'));
    }
    // The connection that carried the refused batch takes the next one.
    expect(await storeInteractions(database(), [good])).toBe(1);
    expect((await findInteraction(db, good.id))?.status).toBe(200);
  });

  it('feeds the rollups from every row it stores', async () => {
    const tenantId = `ten_rollup_${driver.name}`;
    const rows = Array.from({ length: 40 }, () => fullRow({ tenantId }));
    await storeInteractions(database(), rows);
    const result = await database().db.execute(
      sql`select sum(requests)::int as n from interaction_rollup_pending where tenant_id = ${tenantId}`,
    );
    const pendingRows = rowsOf<{ n: number }>(result);
    const n = pendingRows[0]?.n;
    expect(n).toBe(40);
  });

  it('stores large batches of large rows intact', async () => {
    const rows = Array.from({ length: 1500 }, (_, i) =>
      fullRow({
        createdAt: new Date(Date.UTC(2026, 10, 22, 0, 0, 0, i)),
        requestEnc: Buffer.alloc(2048 + (i % 7), i % 251),
        responseEnc: Buffer.alloc(3000, (i * 7) % 256),
      }),
    );
    expect(await storeInteractions(database(), rows)).toBe(1500);
    for (const i of [0, 777, 1499]) {
      const row = rows[i];
      if (!row) throw new Error('missing row');
      const [back] = await database()
        .db.select()
        .from(interactions)
        .where(eq(interactions.id, row.id));
      expect(back?.requestEnc?.equals(row.requestEnc as Buffer)).toBe(true);
      expect(back?.responseEnc?.equals(row.responseEnc as Buffer)).toBe(true);
      expect(back?.createdAt.getTime()).toBe(row.createdAt.getTime());
    }
  });
});

describe('binary COPY encoding', () => {
  it.each([
    ['text with NUL', { endUser: 'a\u0000b' }, 'end_user must be free of NUL characters'],
    ['fractional tokens', { promptTokens: 1.5 }, 'prompt_tokens must be a 32-bit integer'],
    [
      'tokens past int4',
      { completionTokens: 2 ** 31 },
      'completion_tokens must be a 32-bit integer',
    ],
    ['a malformed id', { id: 'not-a-uuid' }, 'id must be a UUID'],
    ['an invalid date', { createdAt: new Date(Number.NaN) }, 'created_at must be a valid Date'],
  ] as const)('refuses %s, naming the row and column', (_name, override, message) => {
    const row = fullRow(override as Partial<NewInteraction>);
    const good = fullRow();
    let error: unknown;
    try {
      encodeInteractionsCopy([good, row]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnstorableRowError);
    expect((error as UnstorableRowError).rowId).toBe(row.id);
    expect((error as Error).message).toContain(message);
  });
});
