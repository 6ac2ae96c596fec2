import { createRollupFolder } from './analytics/rollups.js';
import type { Deps } from './deps.js';
import { errorReason } from './runtime/error-reason.js';
import { ThrottledWarning } from './runtime/throttled-warning.js';
import { vacuumChurnedTables } from './storage/queries/vacuum.js';

/** How often keys' last-used times are written. */
const KEY_USAGE_FLUSH_INTERVAL_MS = 30_000;
/** How often expired cache entries are deleted and memory hit counts written. */
const CACHE_MAINTENANCE_INTERVAL_MS = 60_000;
/** How often queued cache writes are written and other instances' entries read. */
const CACHE_SYNC_INTERVAL_MS = 1_000;
/** How often pending log deltas are folded into the analytics rollups. */
const ROLLUP_INTERVAL_MS = 5_000;
/** A job run at least this long is logged (see `startJobs`). */
export const SLOW_JOB_MS = 1_000;
const SLOW_JOB_WARN_INTERVAL_MS = 10_000;
/** At most one line per failing job in this long. */
export const FAILED_JOB_WARN_INTERVAL_MS = 60_000;
/**
 * How often the embedded database's churned tables are vacuumed. Often, so that each run has few
 * dead rows to clear: the database does nothing else while it runs (every minute, a burst of cache
 * misses left ~1 s of work, and the requests' key lookups and writes waited behind it).
 */
const EMBEDDED_VACUUM_INTERVAL_MS = 10_000;

/** Work repeated on an interval. */
export interface Job {
  name: string;
  intervalMs: number;
  /** Also run once as the jobs start. */
  atStart?: boolean;
  run(): Promise<unknown>;
}

/** The running timers; `stop` clears them all (work in flight is drained with the deps). */
export interface RunningJobs {
  readonly names: readonly string[];
  stop(): void;
}

/** Every periodic task of a gateway process, from its dependencies. */
export function jobsFor(deps: Deps): Job[] {
  const { config, database, writer } = deps;
  const rollups = createRollupFolder(database.db, deps.logger);
  const jobs: Job[] = [
    {
      name: 'interaction writer flush',
      intervalMs: config.log.flushIntervalMs,
      run: () => writer.flush(),
    },
    {
      name: 'interaction outbox retry',
      intervalMs: config.log.retryIntervalMs,
      // Rows a previous process left in the outbox go in as soon as the database answers.
      atStart: true,
      run: () => writer.retry(),
    },
    {
      name: 'key last-used flush',
      intervalMs: KEY_USAGE_FLUSH_INTERVAL_MS,
      run: () => deps.keys.flushUsage(),
    },
    {
      name: 'cache maintenance',
      intervalMs: CACHE_MAINTENANCE_INTERVAL_MS,
      run: () => deps.cache.maintain(),
    },
    {
      name: 'cache sync',
      intervalMs: CACHE_SYNC_INTERVAL_MS,
      run: async () => {
        await deps.cache.flush();
        // A tenant another instance flushed loses its embeddings answers here too.
        for (const tenantId of await deps.cache.sync()) deps.embeddingsCache.clear(tenantId);
      },
    },
    { name: 'analytics rollups', intervalMs: ROLLUP_INTERVAL_MS, run: () => rollups.fold() },
  ];
  if (deps.retention.enabled) {
    jobs.push({
      name: 'retention',
      intervalMs: config.retention.intervalMs,
      run: () => deps.retention.run(),
    });
  }
  // PGlite has no autovacuum: the tables rewritten all the time would only grow.
  if (database.kind === 'pglite') {
    jobs.push({
      name: 'embedded vacuum',
      intervalMs: EMBEDDED_VACUUM_INTERVAL_MS,
      run: () => vacuumChurnedTables(database.db),
    });
  }
  return jobs;
}

/**
 * Starts every job on its own interval, through the background runner (so tests and shutdown can
 * drain them). A tick is skipped while the job's previous run is still going: a slow database
 * never piles up runs of the same job.
 */
export function startJobs(deps: Deps, jobs: readonly Job[] = jobsFor(deps)): RunningJobs {
  if (deps.writer.metrics.outboxRows > 0) {
    deps.logger.info(
      { rows: deps.writer.metrics.outboxRows },
      'replaying interaction rows left in the outbox',
    );
  }
  const monotonic = () => deps.clock.monotonic();
  const timers = jobs.map((job) => {
    let running = false;
    // A database that stays slow (an outage) would make every run slow: a line per 10 s per job.
    const slow = new ThrottledWarning(deps.logger, monotonic, SLOW_JOB_WARN_INTERVAL_MS);
    // A job that keeps failing (a full disk, a database gone) fails every run: a line a minute,
    // naming the job and its reason, never the stack dump of each run.
    const failing = new ThrottledWarning(deps.logger, monotonic, FAILED_JOB_WARN_INTERVAL_MS);
    const tick = () => {
      if (running) return;
      running = true;
      const startedAt = monotonic();
      deps.background.run(
        Promise.resolve()
          .then(() => job.run())
          .catch((err: unknown) => {
            failing.warn({ job: job.name, reason: errorReason(err) }, 'background job failed');
          })
          .finally(() => {
            running = false;
            const ms = monotonic() - startedAt;
            // A job holds the database it works on (the embedded one runs one statement at a
            // time): a long run delays requests' reads and writes queued behind it.
            if (ms >= SLOW_JOB_MS) {
              slow.warn({ job: job.name, ms: Math.round(ms) }, 'background job was slow');
            }
          }),
      );
    };
    if (job.atStart) tick();
    return setInterval(tick, job.intervalMs).unref();
  });
  return {
    names: jobs.map((j) => j.name),
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
