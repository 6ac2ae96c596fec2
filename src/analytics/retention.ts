import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Database } from '../storage/database.js';
import {
  deleteConversationItemsBatch,
  deleteEmptyConversationsBatch,
  deleteRowsBatch,
  deleteStoredResponsesBatch,
  eraseContentBatch,
} from '../storage/queries/retention.js';
import type { RetentionCutoffs, RetentionPolicy, RowsPruned } from './row-retention.js';
import { cutoffsAt, storedBefore } from './row-retention.js';

/** What one pruning pass removed (interaction rows in the database and in the outbox's files). */
export interface PruneResult {
  contentErased: number;
  rowsDeleted: number;
  /** Stored responses, conversation items and emptied conversations deleted. */
  storedDeleted: number;
}

/** Prunes old interactions; the retention job calls `run` on an interval (tests call it directly). */
export interface Retention {
  /** False when the policy keeps everything: there is nothing to schedule. */
  readonly enabled: boolean;
  /** One full pass; a call while a pass runs waits for that one instead of starting another. */
  run(): Promise<PruneResult>;
}

/**
 * Builds the pruner. Each statement touches at most `batchRows` rows, so a large backlog is
 * removed in short statements that never hold long locks or block the log writer.
 */
export function createRetention(options: {
  db: Database;
  clock: Clock;
  logger: Logger;
  policy: RetentionPolicy;
  /** The outbox whose files hold rows too (waiting, or refused by the database). */
  outbox?: { prune(cutoffs: RetentionCutoffs): Promise<RowsPruned> };
  batchRows?: number;
}): Retention {
  const batchRows = options.batchRows ?? 5_000;
  let running: Promise<PruneResult> | undefined;

  async function drainBatches(step: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step(batchRows);
      total += n;
      if (n < batchRows) return total;
    }
  }

  async function pass(): Promise<PruneResult> {
    const cutoffs = cutoffsAt(options.policy, options.clock.now());
    // The files first: they are pruned even while the database is down.
    const onDisk: RowsPruned = (await options.outbox?.prune(cutoffs)) ?? {
      rowsDeleted: 0,
      contentErased: 0,
    };
    const result: PruneResult = { ...onDisk, storedDeleted: 0 };
    const { rowsBefore, contentBefore } = cutoffs;
    if (rowsBefore !== undefined) {
      result.rowsDeleted += await drainBatches((n) => deleteRowsBatch(options.db, rowsBefore, n));
    }
    if (contentBefore !== undefined) {
      result.contentErased += await drainBatches((n) =>
        eraseContentBatch(options.db, contentBefore, n),
      );
    }
    const cutoff = storedBefore(cutoffs);
    if (cutoff !== undefined) {
      const { db } = options;
      result.storedDeleted =
        (await drainBatches((n) => deleteStoredResponsesBatch(db, cutoff, n))) +
        (await drainBatches((n) => deleteConversationItemsBatch(db, cutoff, n))) +
        (await drainBatches((n) => deleteEmptyConversationsBatch(db, cutoff, n)));
    }
    if (result.contentErased > 0 || result.rowsDeleted > 0 || result.storedDeleted > 0) {
      options.logger.info({ ...result, outbox: onDisk }, 'retention: pruned old interactions');
    }
    return result;
  }

  return {
    enabled: options.policy.contentDays !== undefined || options.policy.rowsDays !== undefined,
    run() {
      // One pass at a time: a slow pass is not overlapped by the next tick.
      running ??= pass().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
