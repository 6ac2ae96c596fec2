import type { RetentionCutoffs, RowsPruned } from '../analytics/row-retention.js';
import { retainRows } from '../analytics/row-retention.js';
import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import type { NewInteraction } from '../storage/schema.js';
import type { InsertRows } from './insert-setting-aside.js';
import type { Outbox } from './outbox.js';
import type { UndeliveredBatch } from './write-stall.js';
import type { WriterMetrics } from './writer-metrics.js';

/**
 * Gets batches of rows into the database, or into the outbox while the database fails or older
 * rows still wait there (so rows land in order), and replays the outbox once the database is back.
 * A batch neither takes is handed back to the caller, which keeps it. Not safe to call
 * concurrently: the writer runs these one at a time.
 */
export class RowDelivery {
  private healthy = true;

  constructor(
    private readonly parts: {
      insert: InsertRows;
      outbox: Outbox;
      logger: Logger;
      metrics: WriterMetrics;
      batchSize: number;
      retentionCutoffs?: () => RetentionCutoffs;
    },
  ) {}

  /** True while the outbox holds rows or the last database write failed. */
  get needsReplay(): boolean {
    return !this.healthy || this.parts.outbox.pendingRows > 0;
  }

  /** True when the last database write succeeded. */
  get databaseHealthy(): boolean {
    return this.healthy;
  }

  /**
   * Writes one batch to the database, or to the outbox if it must wait; resolves with why when
   * neither took it (the caller keeps the rows), null once it is stored.
   */
  async deliver(batch: NewInteraction[]): Promise<UndeliveredBatch | null> {
    const { insert, metrics, logger } = this.parts;
    if (this.needsReplay) return this.spill(batch);
    try {
      const rejectedBefore = metrics.rowsRejected;
      const n = await insert(batch);
      metrics.rowsWritten += n;
      metrics.duplicateRows += batch.length - n - (metrics.rowsRejected - rejectedBefore);
      return null;
    } catch (err) {
      metrics.writeFailures++;
      this.healthy = false;
      logger.warn(
        { reason: errorReason(err), rows: batch.length },
        'database write failed; rows go to the outbox',
      );
      const undelivered = await this.spill(batch);
      return undelivered === null ? null : { ...undelivered, databaseError: err };
    }
  }

  /**
   * Appends rows to the outbox (durably) for a later replay; resolves with why when the outbox
   * could not take them (the caller keeps the rows), null once they are on disk.
   */
  async spill(batch: readonly NewInteraction[]): Promise<UndeliveredBatch | null> {
    const { outbox, metrics } = this.parts;
    try {
      await outbox.append(batch);
      return null;
    } catch (err) {
      metrics.outboxWriteFailures++;
      return { databaseError: undefined, outboxError: err };
    } finally {
      metrics.outboxRows = outbox.pendingRows;
    }
  }

  /**
   * Moves the outbox's rows into the database; on failure they stay for the next try. Rows past
   * the retention cut-offs go in as the retention pass would leave them: without their text, or
   * not at all.
   */
  async replay(): Promise<void> {
    const { outbox, insert, metrics, logger, batchSize, retentionCutoffs } = this.parts;
    if (outbox.pendingRows === 0) {
      // A retention pass may have emptied the outbox since the gauge was last set.
      metrics.outboxRows = 0;
      this.healthy = true;
      return;
    }
    const pruned: RowsPruned = { rowsDeleted: 0, contentErased: 0 };
    const cutoffs = retentionCutoffs?.();
    const retained: InsertRows =
      cutoffs === undefined
        ? insert
        : async (rows) => {
            const kept = retainRows(rows, cutoffs, pruned);
            return kept.length === 0 ? 0 : insert(kept);
          };
    try {
      const n = await outbox.replay(retained, batchSize);
      metrics.rowsWritten += n;
      this.healthy = true;
      logger.info({ rows: n }, 'outbox replayed into the database');
      if (pruned.rowsDeleted > 0 || pruned.contentErased > 0) {
        logger.info({ ...pruned }, 'retention: pruned old interactions replayed from the outbox');
      }
    } catch (err) {
      metrics.writeFailures++;
      this.healthy = false;
      logger.debug({ reason: errorReason(err) }, 'database still unavailable; outbox kept');
    } finally {
      metrics.outboxRows = outbox.pendingRows;
    }
  }
}
