import type { RetentionCutoffs } from '../analytics/row-retention.js';
import type { Logger } from '../runtime/logger.js';
import type { NewInteraction } from '../storage/schema.js';
import type { InsertRows } from './insert-setting-aside.js';
import { insertSettingAside } from './insert-setting-aside.js';
import type { Outbox } from './outbox.js';
import { RowDelivery } from './row-delivery.js';
import { SerialTasks } from './serial-tasks.js';
import type { UndeliveredBatch, WriteStallState } from './write-stall.js';
import { WriteStall } from './write-stall.js';
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
  /**
   * While batches can be written neither to the database nor to the outbox (a full disk): the rows
   * held in memory and why; null while writes go through.
   */
  stalled(): WriteStallState | null;
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
  /**
   * Rows held in memory before they spill to the outbox; while neither the database nor the outbox
   * takes rows, rows past it are refused (counted and logged).
   */
  maxQueue?: number;
  /** A database write that takes longer than this counts as a failure (its rows go to the outbox). */
  writeTimeoutMs?: number;
  /** Monotonic milliseconds, for the wait between tries while no store takes rows. */
  clock?: () => number;
  /**
   * The retention cut-offs now: rows replayed from the outbox past them are dropped or lose their
   * text on the way in, as the retention pass would have done. Without it they go in as they are.
   */
  retentionCutoffs?: () => RetentionCutoffs;
}

/**
 * Batches rows into multi-row INSERTs, written as soon as a batch is full and otherwise when
 * `flush()` is called (the jobs do so on an interval). While the database fails, or while older
 * rows still wait in the outbox, batches go to the outbox (keeping their order) until `retry()`
 * finds the database back; replay inserts skip ids already present, so every row lands once.
 * A batch that neither the database nor the outbox takes (a full disk) goes back to the head of
 * the queue and is tried again, database first, after a doubling wait; meanwhile rows past
 * `maxQueue` are refused and counted.
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
    retentionCutoffs: options.retentionCutoffs,
  });
  const stall = new WriteStall(logger, options.clock ?? (() => performance.now()));
  let queue: NewInteraction[] = [];
  /** Batches taken off the queue whose write has not finished (a shutdown spills them too). */
  const writing = new Set<NewInteraction[]>();
  let flushScheduled = false;
  let closed = false;

  /** Writes one batch; a batch no store took goes back to the head of the queue. */
  async function write(batch: NewInteraction[], to: 'database' | 'outbox'): Promise<boolean> {
    writing.add(batch);
    let undelivered: UndeliveredBatch | null;
    try {
      undelivered = to === 'database' ? await delivery.deliver(batch) : await delivery.spill(batch);
    } catch (err) {
      undelivered = { databaseError: undefined, outboxError: err };
    }
    // In the same turn as leaving `writing`: a shutdown's spill finds the rows in one or the other.
    writing.delete(batch);
    if (undelivered !== null) {
      queue = batch.concat(queue);
      metrics.queueDepth = queue.length;
      stall.failed(undelivered, queue.length);
      return false;
    }
    stall.recovered(batch.length + queue.length);
    return true;
  }

  /** Writes the queue in batches; while stalled, only once the wait has passed (or if `now`). */
  async function writeQueue(now: boolean): Promise<void> {
    if (stall.stalled) {
      if (stall.waiting && !now) return;
      // Rows already in the outbox go first; with none (or once they are in), the database is
      // tried again before the outbox.
      await delivery.replay();
    }
    while (queue.length > 0) {
      const batch = queue.splice(0, batchSize);
      metrics.queueDepth = queue.length;
      if (!(await write(batch, 'database'))) return;
    }
  }

  function flush(): Promise<void> {
    return tasks.run(() => writeQueue(false));
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
      if (stall.stalled && queue.length >= maxQueue) {
        // Neither the database nor the outbox takes rows: memory is the last bound.
        metrics.rowsDropped++;
        stall.refused(maxQueue);
        return;
      }
      queue.push(row);
      metrics.queueDepth = queue.length;
      if (queue.length > maxQueue) {
        // The database is too slow or gone: spill to disk rather than grow without bound.
        const spilled = queue.splice(0, queue.length);
        metrics.queueDepth = 0;
        writing.add(spilled);
        void tasks.run(async () => {
          await write(spilled, 'outbox');
        });
      } else if (queue.length >= batchSize) {
        flushSoon();
      }
    },
    flush,
    replayOutbox,
    retry: () => (delivery.needsReplay ? replayOutbox() : Promise.resolve()),
    metrics,
    stalled() {
      let rows = queue.length;
      for (const batch of writing) rows += batch.length;
      return stall.state(rows);
    },
    async close() {
      closed = true;
      // A last try even while waiting between tries: after this, the process may end.
      await tasks.run(() => writeQueue(true)).catch(() => {});
      // With the database failing, the outbox is already durable: the next start replays it,
      // so shutdown does not wait on a database that is not there.
      if (delivery.databaseHealthy && outbox.pendingRows > 0) await replayOutbox().catch(() => {});
      await tasks.idle();
      const state = stall.state(queue.length);
      if (state !== null && state.rows > 0) {
        logger.error(
          { rows: state.rows, cause: state.cause },
          `interaction rows lost: the writer closed with ${state.rows} rows neither the database nor the outbox took (${state.cause})`,
        );
      }
    },
    async spillPending() {
      closed = true;
      const rows = [...[...writing].flat(), ...queue.splice(0, queue.length)];
      metrics.queueDepth = 0;
      await outbox.appendNow(rows);
      metrics.outboxRows = outbox.pendingRows;
      return rows.length;
    },
  };
}
