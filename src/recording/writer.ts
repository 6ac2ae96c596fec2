import type { Logger } from '../runtime/logger.js';
import { withTimeout } from '../runtime/with-timeout.js';
import { UnstorableRowError } from '../storage/queries/interactions-copy.js';
import type { NewInteraction } from '../storage/schema.js';
import { sqlStateOf } from '../storage/sql-state.js';
import type { Outbox } from './outbox.js';

/** Counters and gauges of the log writer (exported on /metrics). */
export interface WriterMetrics {
  queueDepth: number;
  outboxRows: number;
  rowsWritten: number;
  writeFailures: number;
  duplicateRows: number;
  /** Rows recorded without their content because the tenant's key could not be loaded. */
  contentDropped: number;
  /** Rows the database refused on their own (set aside in the outbox's rejected file). */
  rowsRejected: number;
}

/** Takes finished interaction rows off the request path and gets them into the database. */
export interface InteractionWriter {
  enqueue(row: NewInteraction): void;
  /** Writes everything queued so far (to the database, or the outbox if it is down). */
  flush(): Promise<void>;
  /** Tries to move outbox rows into the database now. */
  replayOutbox(): Promise<void>;
  readonly metrics: WriterMetrics;
  /** Stops the timers, writes the queue and makes one last replay attempt. */
  close(): Promise<void>;
}

/** Writer tuning; the defaults suit one gateway process. */
export interface WriterOptions {
  insert: (rows: NewInteraction[]) => Promise<number>;
  outbox: Outbox;
  logger: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Rows held in memory before they spill to the outbox. */
  maxQueue?: number;
  /** How often the database is retried while rows wait in the outbox. */
  retryIntervalMs?: number;
  /** A database write that takes longer than this counts as a failure (its rows go to the outbox). */
  writeTimeoutMs?: number;
}

/** The short reason of a database failure (never the statement or its parameters). */
function reason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

/** SQLSTATE classes that blame the data, not the database: 22 data exception, 23 integrity, 54 limits. */
const ROW_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * True when a write failed because of what some row holds (a value its column cannot store), so
 * retrying the same rows can never succeed; false for failures of the database or the connection.
 */
function blamesTheRows(err: unknown): boolean {
  if (err instanceof UnstorableRowError) return true;
  const state = sqlStateOf(err);
  return state !== null && ROW_ERROR_CLASSES.has(state.slice(0, 2));
}

/**
 * Batches rows into multi-row INSERTs by size or a short interval. While the database fails, or
 * while older rows still wait in the outbox, batches go to the outbox (keeping their order) and
 * the database is retried on an interval; replay inserts skip ids already present, so every row
 * lands exactly once.
 */
export function createInteractionWriter(options: WriterOptions): InteractionWriter {
  const { insert, outbox, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const maxQueue = options.maxQueue ?? 20_000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const queue: NewInteraction[] = [];
  const metrics: WriterMetrics = {
    queueDepth: 0,
    outboxRows: outbox.pendingRows,
    rowsWritten: 0,
    writeFailures: 0,
    duplicateRows: 0,
    contentDropped: 0,
    rowsRejected: 0,
  };
  let healthy = true;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const serial = (task: () => Promise<void>): Promise<void> => {
    const run = chain.then(task);
    chain = run.catch((err: unknown) => logger.error({ err }, 'interaction writer task failed'));
    return run;
  };

  async function toOutbox(batch: NewInteraction[]): Promise<void> {
    await outbox.append(batch);
    metrics.outboxRows = outbox.pendingRows;
  }

  /**
   * Inserts rows; when the database refuses them for what they hold, halves the batch until the
   * refused rows stand alone and sets those aside, so one bad row never holds back the others.
   * Returns how many rows were new.
   */
  async function insertSettingAside(rows: NewInteraction[]): Promise<number> {
    try {
      return await withTimeout(insert(rows), writeTimeoutMs, 'database write timed out');
    } catch (err) {
      if (!blamesTheRows(err)) throw err;
      if (rows.length > 1) {
        const half = rows.length >> 1;
        return (
          (await insertSettingAside(rows.slice(0, half))) +
          (await insertSettingAside(rows.slice(half)))
        );
      }
      await outbox.reject(rows, reason(err));
      metrics.rowsRejected += rows.length;
      logger.error(
        { id: rows[0]?.id, reason: reason(err) },
        'the database refused an interaction row; it is kept in the outbox rejected file',
      );
      return 0;
    }
  }

  async function writeBatch(batch: NewInteraction[]): Promise<void> {
    if (!healthy || outbox.pendingRows > 0) return toOutbox(batch);
    try {
      const rejectedBefore = metrics.rowsRejected;
      const n = await insertSettingAside(batch);
      metrics.rowsWritten += n;
      metrics.duplicateRows += batch.length - n - (metrics.rowsRejected - rejectedBefore);
    } catch (err) {
      metrics.writeFailures++;
      healthy = false;
      logger.warn(
        { err: (err as Error).message, rows: batch.length },
        'database write failed; rows go to the outbox',
      );
      await toOutbox(batch);
    }
  }

  function drainQueue(): Promise<void> {
    return serial(async () => {
      while (queue.length > 0) {
        const batch = queue.splice(0, batchSize);
        metrics.queueDepth = queue.length;
        await writeBatch(batch);
      }
    });
  }

  function replayOutbox(): Promise<void> {
    return serial(async () => {
      if (outbox.pendingRows === 0) {
        healthy = true;
        return;
      }
      try {
        const n = await outbox.replay(insertSettingAside, batchSize);
        metrics.rowsWritten += n;
        healthy = true;
        logger.info({ rows: n }, 'outbox replayed into the database');
      } catch (err) {
        metrics.writeFailures++;
        healthy = false;
        logger.debug({ reason: reason(err) }, 'database still unavailable; outbox kept');
      } finally {
        metrics.outboxRows = outbox.pendingRows;
      }
    });
  }

  let flushScheduled = false;
  const flushTimer = setInterval(() => {
    if (queue.length > 0) void drainQueue();
  }, options.flushIntervalMs ?? 200);
  const retryTimer = setInterval(() => {
    if (!healthy || outbox.pendingRows > 0) void replayOutbox();
  }, options.retryIntervalMs ?? 1_000);
  flushTimer.unref();
  retryTimer.unref();

  return {
    enqueue(row) {
      queue.push(row);
      metrics.queueDepth = queue.length;
      if (queue.length > maxQueue) {
        // The database is too slow or gone: spill to disk rather than grow without bound.
        const spilled = queue.splice(0, queue.length);
        metrics.queueDepth = 0;
        void serial(() => toOutbox(spilled));
      } else if (queue.length >= batchSize && !flushScheduled && !closed) {
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          void drainQueue();
        });
      }
    },
    flush: drainQueue,
    replayOutbox,
    metrics,
    async close() {
      closed = true;
      clearInterval(flushTimer);
      clearInterval(retryTimer);
      await drainQueue().catch(() => {});
      // With the database failing, the outbox is already durable: the next start replays it,
      // so shutdown does not wait on a database that is not there.
      if (healthy && outbox.pendingRows > 0) await replayOutbox().catch(() => {});
      await chain;
    },
  };
}
