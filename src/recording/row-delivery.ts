import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import type { NewInteraction } from '../storage/schema.js';
import type { InsertRows } from './insert-setting-aside.js';
import type { Outbox } from './outbox.js';
import type { WriterMetrics } from './writer-metrics.js';

/**
 * Gets batches of rows into the database, or into the outbox while the database fails or older
 * rows still wait there (so rows land in order), and replays the outbox once the database is back.
 * Not safe to call concurrently: the writer runs these one at a time.
 */
export class RowDelivery {
  private healthy = true;
  private writing: readonly NewInteraction[] = [];

  constructor(
    private readonly parts: {
      insert: InsertRows;
      outbox: Outbox;
      logger: Logger;
      metrics: WriterMetrics;
      batchSize: number;
    },
  ) {}

  /** True while the outbox holds rows or the last database write failed. */
  get needsReplay(): boolean {
    return !this.healthy || this.parts.outbox.pendingRows > 0;
  }

  /** The batch being delivered (to the database or the outbox) right now; empty when none is. */
  get inFlight(): readonly NewInteraction[] {
    return this.writing;
  }

  /** True when the last database write succeeded. */
  get databaseHealthy(): boolean {
    return this.healthy;
  }

  /** Writes one batch to the database, or to the outbox if it must wait. */
  async deliver(batch: NewInteraction[]): Promise<void> {
    this.writing = batch;
    try {
      await this.deliverNow(batch);
    } finally {
      this.writing = [];
    }
  }

  private async deliverNow(batch: NewInteraction[]): Promise<void> {
    const { insert, metrics, logger } = this.parts;
    if (this.needsReplay) return this.spill(batch);
    try {
      const rejectedBefore = metrics.rowsRejected;
      const n = await insert(batch);
      metrics.rowsWritten += n;
      metrics.duplicateRows += batch.length - n - (metrics.rowsRejected - rejectedBefore);
    } catch (err) {
      metrics.writeFailures++;
      this.healthy = false;
      logger.warn(
        { err: errorReason(err), rows: batch.length },
        'database write failed; rows go to the outbox',
      );
      await this.spill(batch);
    }
  }

  /** Appends rows to the outbox (durably) for a later replay. */
  async spill(batch: NewInteraction[]): Promise<void> {
    await this.parts.outbox.append(batch);
    this.parts.metrics.outboxRows = this.parts.outbox.pendingRows;
  }

  /** Moves the outbox's rows into the database; on failure they stay for the next try. */
  async replay(): Promise<void> {
    const { outbox, insert, metrics, logger, batchSize } = this.parts;
    if (outbox.pendingRows === 0) {
      this.healthy = true;
      return;
    }
    try {
      const n = await outbox.replay(insert, batchSize);
      metrics.rowsWritten += n;
      this.healthy = true;
      logger.info({ rows: n }, 'outbox replayed into the database');
    } catch (err) {
      metrics.writeFailures++;
      this.healthy = false;
      logger.debug({ reason: errorReason(err) }, 'database still unavailable; outbox kept');
    } finally {
      metrics.outboxRows = outbox.pendingRows;
    }
  }
}
