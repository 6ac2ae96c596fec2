import type { Logger } from '../runtime/logger.js';
import type { Database } from '../storage/database.js';
import { rollUpPending } from '../storage/queries/analytics-rollups.js';

/** Folds the analytics rollups' pending deltas on an interval. */
export interface RollupTimer {
  /** Stops the timer and waits for a fold in progress. */
  stop(): Promise<void>;
}

/**
 * Starts folding every `intervalMs`, one fold at a time. A failing database is logged once (with
 * the reason only) until it recovers; summaries stay exact meanwhile, only slower.
 */
export function startRollups(db: Database, logger: Logger, intervalMs: number): RollupTimer {
  let running: Promise<void> | undefined;
  let failing = false;
  const tick = () => {
    if (running) return;
    running = rollUpPending(db)
      .then(
        (rows) => {
          if (failing) logger.info({ rows }, 'analytics rollups caught up');
          failing = false;
        },
        (err: unknown) => {
          if (!failing) {
            const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
            logger.warn({ reason }, 'analytics rollup fold failed; retrying');
          }
          failing = true;
        },
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
