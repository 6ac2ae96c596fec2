import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { insertSettingAside } from '../../src/recording/insert-setting-aside.js';
import { openOutbox, REJECTED_FILE } from '../../src/recording/outbox.js';
import { createInteractionWriter } from '../../src/recording/writer.js';
import { createLogger } from '../../src/runtime/logger.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import { insertInteractions, storeInteractions } from '../../src/storage/queries/interactions.js';
import { UnstorableRowError } from '../../src/storage/queries/interactions-copy.js';
import type { NewInteraction } from '../../src/storage/schema.js';
import { interactions } from '../../src/storage/schema.js';
import { migratedMemoryDatabase } from '../helpers/test-database.js';

function row(i: number): NewInteraction {
  return {
    id: uuidv7(Date.now() + i),
    createdAt: new Date(),
    tenantId: 'ten_test',
    keyId: 'key_test',
    sessionId: `session-${i % 7}`,
    status: 200,
    stream: false,
    latencyMs: 1,
    requestEnc: Buffer.from([1, 2, 3, i % 256]),
    responseEnc: null,
  };
}

const logger = createLogger('silent');
const database = migratedMemoryDatabase();

async function count(ids: readonly string[]): Promise<{ total: number; distinct: number }> {
  const [r] = await database()
    .db.select({
      total: sql<number>`count(*)::int`,
      distinct: sql<number>`count(distinct id)::int`,
    })
    .from(interactions)
    .where(sql`${interactions.id} in ${ids}`);
  return { total: r?.total ?? 0, distinct: r?.distinct ?? 0 };
}

describe('interaction writer', () => {
  it('batches rows into multi-row inserts', async () => {
    const sizes: number[] = [];
    const outbox = await openOutbox(mkdtempSync(join(tmpdir(), 'tg-outbox-')), () => {});
    const writer = createInteractionWriter({
      insert: (rows) => {
        sizes.push(rows.length);
        return insertInteractions(database().db, rows);
      },
      outbox,
      logger,
      batchSize: 100,
    });
    const rows = Array.from({ length: 250 }, (_, i) => row(i));
    for (const r of rows) writer.enqueue(r);
    await writer.close();
    expect(sizes).toEqual([100, 100, 50]);
    expect(await count(rows.map((r) => r.id))).toEqual({ total: 250, distinct: 250 });
    expect(writer.metrics.rowsWritten).toBe(250);
  });

  it('sends rows to the outbox while the database fails and replays them exactly once, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const outbox = await openOutbox(dir, () => {});
    let down = false;
    const inserted: string[] = [];
    const writer = createInteractionWriter({
      insert: async (rows) => {
        if (down) throw new Error('connection refused');
        const n = await insertInteractions(database().db, rows);
        inserted.push(...rows.map((r) => r.id));
        return n;
      },
      outbox,
      logger,
      batchSize: 20,
    });
    const rows = Array.from({ length: 300 }, (_, i) => row(1000 + i));
    for (const r of rows.slice(0, 100)) writer.enqueue(r);
    await writer.flush();
    down = true;
    for (const r of rows.slice(100, 200)) writer.enqueue(r);
    await writer.flush();
    expect(writer.metrics.outboxRows).toBe(100);
    expect(writer.metrics.writeFailures).toBeGreaterThan(0);
    const onDisk = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('');
    expect(onDisk.split('\n').filter(Boolean)).toHaveLength(100);

    // Still down: the replay fails and keeps every row.
    await writer.replayOutbox();
    expect(writer.metrics.outboxRows).toBe(100);
    // New rows queue behind the outbox rather than overtaking them.
    down = false;
    for (const r of rows.slice(200)) writer.enqueue(r);
    await writer.flush();
    await writer.replayOutbox();
    await writer.flush();
    await writer.replayOutbox();
    expect(writer.metrics.outboxRows).toBe(0);
    expect(await count(rows.map((r) => r.id))).toEqual({ total: 300, distinct: 300 });
    expect(inserted).toEqual(rows.map((r) => r.id));
    // The outbox keeps every metadata column, the session included.
    const stored = await database()
      .db.select({ id: interactions.id, sessionId: interactions.sessionId })
      .from(interactions)
      .where(sql`${interactions.id} in ${rows.map((r) => r.id)}`);
    expect(new Map(stored.map((r) => [r.id, r.sessionId]))).toEqual(
      new Map(rows.map((r) => [r.id, r.sessionId])),
    );
    expect(readdirSync(dir)).toEqual([]);
    await writer.close();
  });

  it('replays an outbox left by a previous process at start-up without duplicating rows already in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const first = await openOutbox(dir, () => {});
    const rows = Array.from({ length: 50 }, (_, i) => row(5000 + i));
    await first.append(rows);
    // Half of them reached the database before the crash.
    await insertInteractions(database().db, rows.slice(0, 25));
    const reopened = await openOutbox(dir, () => {});
    expect(reopened.pendingRows).toBe(50);
    const writer = createInteractionWriter({
      insert: (r) => insertInteractions(database().db, r),
      outbox: reopened,
      logger,
    });
    await writer.replayOutbox();
    expect(await count(rows.map((r) => r.id))).toEqual({ total: 50, distinct: 50 });
    expect(writer.metrics.rowsWritten).toBe(25);
    await writer.close();
  });

  it('spills to the outbox instead of growing past its queue bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const outbox = await openOutbox(dir, () => {});
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const writer = createInteractionWriter({
      insert: async (rows) => {
        await gate;
        return insertInteractions(database().db, rows);
      },
      outbox,
      logger,
      batchSize: 10,
      maxQueue: 30,
    });
    const rows = Array.from({ length: 100 }, (_, i) => row(9000 + i));
    for (const r of rows) writer.enqueue(r);
    expect(writer.metrics.queueDepth).toBeLessThanOrEqual(30);
    release();
    await writer.flush();
    await writer.replayOutbox();
    await writer.close();
    expect(await count(rows.map((r) => r.id))).toEqual({ total: 100, distinct: 100 });
  });

  it.each([
    ['binary COPY', () => (rows: NewInteraction[]) => storeInteractions(database(), rows)],
    [
      'the skipping insert',
      () => (rows: NewInteraction[]) => insertInteractions(database().db, rows),
    ],
  ])('sets aside rows the database refuses (%s) and writes the rest', async (_name, makeInsert) => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const outbox = await openOutbox(dir, () => {});
    const writer = createInteractionWriter({
      insert: makeInsert(),
      outbox,
      logger,
      batchSize: 50,
    });
    const rows = Array.from({ length: 50 }, (_, i) => row(20_000 + i));
    const bad = [rows[10], rows[37]].map((r) => {
      if (!r) throw new Error('missing row');
      r.endUser = 'nul \u0000 inside';
      return r.id;
    });
    for (const r of rows) writer.enqueue(r);
    await writer.flush();
    const good = rows.filter((r) => !bad.includes(r.id)).map((r) => r.id);
    expect(await count(good)).toEqual({ total: 48, distinct: 48 });
    expect(await count(bad)).toEqual({ total: 0, distinct: 0 });
    expect(writer.metrics).toMatchObject({
      rowsWritten: 48,
      rowsRejected: 2,
      duplicateRows: 0,
      outboxRows: 0,
    });
    const rejected = readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n');
    expect(rejected.map((line) => (JSON.parse(line) as { row: { id: string } }).row.id)).toEqual(
      bad,
    );

    // The writer stays healthy: the next rows go straight to the database.
    const next = Array.from({ length: 5 }, (_, i) => row(21_000 + i));
    for (const r of next) writer.enqueue(r);
    await writer.flush();
    expect(await count(next.map((r) => r.id))).toEqual({ total: 5, distinct: 5 });
    expect(writer.metrics.outboxRows).toBe(0);
    await writer.close();
  });

  it('sets aside a refused row met while replaying the outbox, and replays the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const first = await openOutbox(dir, () => {});
    const rows = Array.from({ length: 30 }, (_, i) => row(30_000 + i));
    const poisoned = rows[12];
    if (!poisoned) throw new Error('missing row');
    poisoned.endUser = '\u0000';
    await first.append(rows);
    const writer = createInteractionWriter({
      insert: (r) => storeInteractions(database(), r),
      outbox: await openOutbox(dir, () => {}),
      logger,
    });
    await writer.replayOutbox();
    const others = rows.filter((r) => r !== poisoned).map((r) => r.id);
    expect(await count(others)).toEqual({ total: 29, distinct: 29 });
    expect(writer.metrics).toMatchObject({ outboxRows: 0, rowsRejected: 1 });
    expect(readdirSync(dir)).toEqual([REJECTED_FILE]);
    await writer.close();
  });
});

describe('insert setting rows aside', () => {
  it('halves a refused batch until the bad rows stand alone, and counts only the good ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const rows = Array.from({ length: 8 }, (_, i) => row(40_000 + i));
    const badIds = new Set([rows[2]?.id, rows[5]?.id]);
    const attempts: number[] = [];
    let rejected = 0;
    const insert = insertSettingAside({
      insert: async (batch) => {
        attempts.push(batch.length);
        const bad = batch.find((r) => badIds.has(r.id));
        if (bad) throw new UnstorableRowError(bad.id, 'a value its column cannot store');
        return batch.length;
      },
      outbox: await openOutbox(dir, () => {}),
      logger,
      writeTimeoutMs: 10_000,
      onRejected: (n) => {
        rejected += n;
      },
    });
    expect(await insert(rows)).toBe(6);
    expect(rejected).toBe(2);
    expect(attempts).toEqual([8, 4, 2, 2, 1, 1, 4, 2, 1, 1, 2]);
    const kept = readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n');
    expect(kept.map((l) => JSON.parse(l) as { reason: string; row: { id: string } })).toEqual([
      {
        reason: 'a value its column cannot store',
        row: expect.objectContaining({ id: rows[2]?.id }),
      },
      {
        reason: 'a value its column cannot store',
        row: expect.objectContaining({ id: rows[5]?.id }),
      },
    ]);
  });

  it('throws a failure of the database itself to the caller without setting rows aside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    let rejected = 0;
    const insert = insertSettingAside({
      insert: async () => {
        throw new Error('connection refused');
      },
      outbox: await openOutbox(dir, () => {}),
      logger,
      writeTimeoutMs: 10_000,
      onRejected: (n) => {
        rejected += n;
      },
    });
    await expect(insert([row(41_000), row(41_001)])).rejects.toThrow('connection refused');
    expect(rejected).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
