import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import type { Database } from '../storage/database.js';
import { rollUpPending } from '../storage/queries/analytics-rollups.js';

/** Folds the analytics rollups' pending deltas (the rollup job calls it on an interval). */
export interface RollupFolder {
  /** One fold; a call while a fold runs waits for that one instead of starting another. */
  fold(): Promise<void>;
}

/**
 * Builds the folder. A failing database is logged once (with the reason only) until it recovers;
 * summaries stay exact meanwhile, only slower.
 */
export function createRollupFolder(db: Database, logger: Logger): RollupFolder {
  let running: Promise<void> | undefined;
  let failing = false;
  async function foldOnce(): Promise<void> {
    try {
      const rows = await rollUpPending(db);
      if (failing) logger.info({ rows }, 'analytics rollups caught up');
      failing = false;
    } catch (err) {
      if (!failing)
        logger.warn({ reason: errorReason(err) }, 'analytics rollup fold failed; retrying');
      failing = true;
    }
  }
  return {
    fold() {
      running ??= foldOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
