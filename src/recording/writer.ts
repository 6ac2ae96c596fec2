import type { Logger } from '../runtime/logger.js';
import type { NewInteraction } from '../storage/schema.js';
import type { InsertRows } from './insert-setting-aside.js';
import { insertSettingAside } from './insert-setting-aside.js';
import type { Outbox } from './outbox.js';
import { RowDelivery } from './row-delivery.js';
import { SerialTasks } from './serial-tasks.js';
import type { WriterMetrics } from './writer-metrics.js';
import { newWriterMetrics } from './writer-metrics.js';

/** Takes finished interaction rows off the request path and gets them into the database. */
export interface InteractionWriter {
  enqueue(row: NewInteraction): void;
  /** Writes everything queued so far (to the database, or the outbox if it is down). */
  flush(): Promise<void>;
  /** Tries to move outbox rows into the database now. */
  replayOutbox(): Promise<void>;
  /** Replays the outbox if rows wait in it or the database last failed (the retry job). */
  retry(): Promise<void>;
  readonly metrics: WriterMetrics;
  /** Writes the queue and makes one last replay attempt; later rows are still accepted. */
  close(): Promise<void>;
  /**
   * At a shutdown deadline: writes every row still held in memory (queued, or in a database write
   * that has not returned) to the outbox without waiting on the database; resolves with the count.
   * A row whose write did land after all is skipped when the outbox is replayed.
   */
  spillPending(): Promise<number>;
}

/** Writer tuning; the defaults suit one gateway process. */
export interface WriterOptions {
  insert: InsertRows;
  outbox: Outbox;
  logger: Logger;
  batchSize?: number;
  /** Rows held in memory before they spill to the outbox. */
  maxQueue?: number;
  /** A database write that takes longer than this counts as a failure (its rows go to the outbox). */
  writeTimeoutMs?: number;
}

/**
 * Batches rows into multi-row INSERTs, written as soon as a batch is full and otherwise when
 * `flush()` is called (the jobs do so on an interval). While the database fails, or while older
 * rows still wait in the outbox, batches go to the outbox (keeping their order) until `retry()`
 * finds the database back; replay inserts skip ids already present, so every row lands once.
 */
export function createInteractionWriter(options: WriterOptions): InteractionWriter {
  const { outbox, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const maxQueue = options.maxQueue ?? 20_000;
  const metrics = newWriterMetrics(outbox.pendingRows);
  const tasks = new SerialTasks(logger);
  const delivery = new RowDelivery({
    insert: insertSettingAside({
      insert: options.insert,
      outbox,
      logger,
      writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
      onRejected: (n) => {
        metrics.rowsRejected += n;
      },
    }),
    outbox,
    logger,
    metrics,
    batchSize,
  });
  const queue: NewInteraction[] = [];
  let flushScheduled = false;
  let closed = false;

  function flush(): Promise<void> {
    return tasks.run(async () => {
      while (queue.length > 0) {
        const batch = queue.splice(0, batchSize);
        metrics.queueDepth = queue.length;
        await delivery.deliver(batch);
      }
    });
  }

  function replayOutbox(): Promise<void> {
    return tasks.run(() => delivery.replay());
  }

  function flushSoon(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      void flush();
    });
  }

  return {
    enqueue(row) {
      queue.push(row);
      metrics.queueDepth = queue.length;
      if (queue.length > maxQueue) {
        // The database is too slow or gone: spill to disk rather than grow without bound.
        const spilled = queue.splice(0, queue.length);
        metrics.queueDepth = 0;
        void tasks.run(() => delivery.spill(spilled));
      } else if (queue.length >= batchSize) {
        flushSoon();
      }
    },
    flush,
    replayOutbox,
    retry: () => (delivery.needsReplay ? replayOutbox() : Promise.resolve()),
    metrics,
    async close() {
      closed = true;
      await flush().catch(() => {});
      // With the database failing, the outbox is already durable: the next start replays it,
      // so shutdown does not wait on a database that is not there.
      if (delivery.databaseHealthy && outbox.pendingRows > 0) await replayOutbox().catch(() => {});
      await tasks.idle();
    },
    async spillPending() {
      closed = true;
      const rows = [...delivery.inFlight, ...queue.splice(0, queue.length)];
      metrics.queueDepth = 0;
      await outbox.appendNow(rows);
      metrics.outboxRows = outbox.pendingRows;
      return rows.length;
    },
  };
}
