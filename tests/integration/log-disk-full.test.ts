import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogStores } from '../../src/deps/builders.js';
import type { Outbox } from '../../src/recording/outbox.js';
import { openOutbox } from '../../src/recording/outbox.js';
import { createInteractionWriter } from '../../src/recording/writer.js';
import type { Clock } from '../../src/runtime/clock.js';
import { createLogger } from '../../src/runtime/logger.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import { insertInteractions } from '../../src/storage/queries/interactions.js';
import type { NewInteraction } from '../../src/storage/schema.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { parseSamples, sampleValue } from '../helpers/prometheus-text.js';
import { settleLog } from '../helpers/settle.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';
import { migratedMemoryDatabase } from '../helpers/test-database.js';

/** A full disk as Node reports it. */
function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

/** PostgreSQL's own full disk (SQLSTATE 53100 disk_full). */
function databaseDiskFull(): Error {
  return Object.assign(new Error('could not extend file "base/5/16825": No space left on device'), {
    code: '53100',
  });
}

/** A disk that can be filled and freed: while full, the database insert and the outbox fail. */
class FillableDisk {
  full = false;
  insertCalls = 0;

  wrap(stores: LogStores): LogStores {
    const { insert, outbox } = stores;
    const wrapped: Outbox = {
      get pendingRows() {
        return outbox.pendingRows;
      },
      append: (rows) => (this.full ? Promise.reject(enospc()) : outbox.append(rows)),
      appendNow: (rows) => (this.full ? Promise.reject(enospc()) : outbox.appendNow(rows)),
      replay: (ins, batchSize) => outbox.replay(ins, batchSize),
      reject: (rows, reason) =>
        this.full ? Promise.reject(enospc()) : outbox.reject(rows, reason),
      prune: (cutoffs) => outbox.prune(cutoffs),
    };
    return {
      insert: (rows) => {
        this.insertCalls++;
        return this.full ? Promise.reject(databaseDiskFull()) : insert(rows);
      },
      outbox: wrapped,
    };
  }
}

/** Log lines as parsed JSON, from a logger writing to memory. */
function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger: createLogger('info', sink), parsed };
}

function row(i: number): NewInteraction {
  return {
    id: uuidv7(Date.now() + i),
    createdAt: new Date(),
    tenantId: 'ten_test',
    keyId: 'key_test',
    status: 200,
    stream: false,
    latencyMs: 1,
    requestEnc: Buffer.from([1, 2, 3, i % 256]),
    responseEnc: null,
  };
}

const database = migratedMemoryDatabase();

async function storedIds(ids: readonly string[]): Promise<string[]> {
  const found = await database()
    .db.select({ id: interactions.id })
    .from(interactions)
    .where(sql`${interactions.id} in ${ids}`)
    .orderBy(interactions.id);
  return found.map((r) => r.id);
}

describe('interaction writer when the disk is full', () => {
  it('holds the rows neither the database nor the outbox took, retries them with backoff and writes every one once space is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const disk = new FillableDisk();
    const { logger, parsed } = capturedLogger();
    let now = 0;
    const writer = createInteractionWriter({
      ...disk.wrap({
        insert: (rows) => insertInteractions(database().db, rows),
        outbox: await openOutbox(dir, () => {}),
      }),
      logger,
      batchSize: 10,
      maxQueue: 40,
      clock: () => now,
    });
    disk.full = true;
    const rows = Array.from({ length: 50 }, (_, i) => row(60_000 + i));
    for (const r of rows.slice(0, 30)) writer.enqueue(r);
    await writer.flush();

    expect(writer.metrics).toMatchObject({ queueDepth: 30, outboxRows: 0, rowsWritten: 0 });
    expect(writer.metrics.outboxWriteFailures).toBe(1);
    expect(writer.stalled()).toEqual({ rows: 30, cause: 'disk full (ENOSPC)' });
    expect(readdirSync(dir)).toEqual([]);

    // Within the wait nothing is tried; after it, the database is tried before the outbox.
    const calls = disk.insertCalls;
    await writer.flush();
    expect(disk.insertCalls).toBe(calls);
    now += 1_000;
    await writer.flush();
    expect(disk.insertCalls).toBe(calls + 1);
    expect(writer.metrics.outboxWriteFailures).toBe(2);
    // The wait doubled: one second more is not enough.
    now += 1_000;
    await writer.flush();
    expect(disk.insertCalls).toBe(calls + 1);

    // At the queue's bound, newer rows are refused and counted.
    for (const r of rows.slice(30)) writer.enqueue(r);
    expect(writer.metrics).toMatchObject({ queueDepth: 40, rowsDropped: 10 });

    // One line says why, without a stack; repeats within the interval are held back.
    const errors = parsed().filter((l) => l.level === 'error');
    expect(errors.map((l) => l.msg)).toEqual([
      'interaction rows could not be written: disk full (ENOSPC); neither the database nor the outbox took them, they are held in memory and retried',
      'interaction rows are being dropped: 40 rows (LOG_MAX_QUEUE) are held in memory and none can be written (disk full (ENOSPC))',
    ]);
    expect(errors[0]).toMatchObject({
      cause: 'disk full (ENOSPC)',
      heldRows: 30,
      database: 'could not extend file "base/5/16825": No space left on device',
      outbox: 'ENOSPC: no space left on device, write',
    });
    expect(JSON.stringify(errors)).not.toContain('stack');

    disk.full = false;
    now += 1_000;
    await writer.flush();
    const kept = rows.slice(0, 40).map((r) => r.id);
    expect(await storedIds(kept)).toEqual([...kept].sort());
    expect(await storedIds(rows.slice(40).map((r) => r.id))).toEqual([]);
    expect(writer.metrics).toMatchObject({ queueDepth: 0, outboxRows: 0, rowsWritten: 40 });
    expect(writer.stalled()).toBeNull();
    expect(parsed().filter((l) => l.level === 'error')).toHaveLength(2);
    expect(parsed().at(-1)).toMatchObject({
      level: 'info',
      msg: 'interaction rows are being written again; the rows held in memory follow',
      heldRows: 40,
    });
    await writer.close();
  });

  it('puts rows the outbox could not take back in the queue when it spills past its bound, and writes them once it can', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const disk = new FillableDisk();
    let now = 0;
    const writer = createInteractionWriter({
      ...disk.wrap({
        insert: (rows) => insertInteractions(database().db, rows),
        outbox: await openOutbox(dir, () => {}),
      }),
      logger: createLogger('silent'),
      batchSize: 100,
      maxQueue: 5,
      clock: () => now,
    });
    disk.full = true;
    const rows = Array.from({ length: 6 }, (_, i) => row(61_000 + i));
    // The sixth row passes the bound: the queue goes to the outbox, which is full.
    for (const r of rows) writer.enqueue(r);
    await writer.flush();
    expect(writer.metrics).toMatchObject({ queueDepth: 6, outboxWriteFailures: 1, rowsDropped: 0 });
    writer.enqueue(row(61_100));
    expect(writer.metrics.rowsDropped).toBe(1);

    disk.full = false;
    now += 1_000;
    await writer.flush();
    await writer.replayOutbox();
    const ids = rows.map((r) => r.id);
    expect(await storedIds(ids)).toEqual([...ids].sort());
    expect(writer.stalled()).toBeNull();
    await writer.close();
  });

  it('cuts a partly written append back, so the next append does not continue a cut line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const outbox = await openOutbox(dir, () => {});
    const rows = Array.from({ length: 4 }, (_, i) => row(62_000 + i));
    await outbox.append(rows.slice(0, 1));
    const [segment] = readdirSync(dir);
    if (segment === undefined) throw new Error('no segment');
    const before = readFileSync(join(dir, segment), 'utf8');

    // A disk that fills part-way through a write: the first bytes land, then ENOSPC.
    const { open } = await import('node:fs/promises');
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { appendFile: typeof probe.appendFile };
    await probe.close();
    const appendFile = proto.appendFile;
    proto.appendFile = async function partly(this: typeof probe, data) {
      await appendFile.call(this, String(data).slice(0, 40));
      throw enospc();
    };
    try {
      await expect(outbox.append(rows.slice(1, 3))).rejects.toThrow('ENOSPC');
    } finally {
      proto.appendFile = appendFile;
    }
    expect(readFileSync(join(dir, segment), 'utf8')).toBe(before);
    expect(outbox.pendingRows).toBe(1);

    await outbox.append(rows.slice(1));
    const corrupt: number[] = [];
    const reopened = await openOutbox(dir, (_file, line) => corrupt.push(line));
    expect(reopened.pendingRows).toBe(4);
    const replayed: string[] = [];
    await reopened.replay(async (batch) => {
      replayed.push(...batch.map((r) => r.id));
      return batch.length;
    }, 10);
    expect(replayed).toEqual(rows.map((r) => r.id));
    expect(corrupt).toEqual([]);
  });
});

describe('gateway with a full disk', () => {
  const disk = new FillableDisk();
  let offsetMs = 0;
  const clock: Clock = { now: () => Date.now(), monotonic: () => performance.now() + offsetMs };
  let upstream: FakeUpstream;
  let gateway: TestApp;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gateway = await createTestApp(
      { UPSTREAM_BASE_URL: upstream.url, LOG_MAX_QUEUE: '6', CACHE: 'off' },
      { clock, logStores: (stores) => disk.wrap(stores) },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** A sample of what /metrics exports. */
  async function metric(name: string): Promise<number> {
    return sampleValue(parseSamples(await gateway.deps.metrics.scrape()), name);
  }

  it('keeps answered requests rows in memory, says not ready past half the queue bound, and writes them once space is back', async () => {
    const { key } = await gateway.createKey();
    const client = gateway.openai(key);
    const ask = async (i: number) => {
      const completion = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `question ${i}` }],
      });
      return completion._request_id ?? '';
    };
    disk.full = true;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push(await ask(i));
      await settleLog(gateway.deps);
    }

    const ready = await gateway.request('/readyz');
    const readyBody = await ready.text();
    expect(ready.status, readyBody).toBe(503);
    expect(JSON.parse(readyBody).error, readyBody).toMatchObject({
      code: 'not_ready',
      message: 'Interaction rows cannot be written (disk full (ENOSPC)): 6 are held in memory.',
    });
    expect((await gateway.request('/healthz')).status).toBe(200);
    expect(await metric('tollgate_log_queue_depth')).toBe(6);
    expect(await metric('tollgate_log_rows_dropped_total')).toBe(2);
    expect(await metric('tollgate_log_outbox_write_failures_total')).toBeGreaterThan(0);
    const stallLines = gateway.logs.filter((l) =>
      l.includes('interaction rows could not be written'),
    );
    expect(stallLines, stallLines.join('\n')).toHaveLength(1);
    expect(stallLines[0]).toContain('disk full (ENOSPC)');

    disk.full = false;
    offsetMs += 60_000;
    await settleLog(gateway.deps);
    const [stored] = await gateway.deps.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(interactions)
      .where(sql`${interactions.id} in ${ids.slice(0, 6)}`);
    expect(stored?.n).toBe(6);
    expect(await metric('tollgate_log_queue_depth')).toBe(0);
    const readyAgain = await gateway.request('/readyz');
    expect(readyAgain.status, await readyAgain.text()).toBe(200);
  });
});
