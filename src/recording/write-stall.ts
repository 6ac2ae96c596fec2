import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { ThrottledWarning } from '../runtime/throttled-warning.js';
import { sqlStateOf } from '../storage/sql-state.js';

/** The wait before rows that neither the database nor the outbox took are first tried again. */
const FIRST_RETRY_MS = 1_000;
/** The longest wait between two tries (the wait doubles from the first). */
const MAX_RETRY_MS = 30_000;
/** While rows cannot be written (or are refused), at most one line per this interval. */
const STALL_LOG_INTERVAL_MS = 60_000;

/** Why a batch was written neither to the database nor to the outbox. */
export interface UndeliveredBatch {
  /** The database's failure; undefined when the batch went to the outbox without trying it. */
  databaseError: unknown;
  outboxError: unknown;
}

/** Rows held in memory because no store took them. */
export interface WriteStallState {
  /** Rows held in memory now. */
  rows: number;
  /** What stopped the writes, for a person: `disk full (ENOSPC)`. */
  cause: string;
}

/** File-system failures named for a person; the code stays in the text for searching. */
const FILE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'disk full (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  EROFS: 'read-only file system (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EIO: 'I/O error (EIO)',
  EMFILE: 'too many open files (EMFILE)',
};

export function fileErrorCode(err: unknown): string | null {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}

/** The cause of an undelivered batch: the outbox's failure, named when it is a known one. */
export function stallCause(failure: UndeliveredBatch): string {
  const code = fileErrorCode(failure.outboxError);
  const named = code === null ? undefined : FILE_FAILURES[code];
  if (named !== undefined) return named;
  // 53100 disk_full: the database's own disk, when the outbox failed for a reason of its own.
  if (sqlStateOf(failure.databaseError) === '53100') return 'database disk full (53100)';
  return errorReason(failure.outboxError);
}

/**
 * The writer's state while batches can be written neither to the database nor to the outbox:
 * when to try again (a doubling wait), and the log lines — one when writes stop (then at most one
 * per interval, counting the failures between), one for rows refused at the queue's bound, and
 * one when writes go through again.
 */
export class WriteStall {
  #since: number | null = null;
  #retryAt = 0;
  #waitMs = 0;
  #cause = '';
  readonly #failures: ThrottledWarning;
  readonly #refusals: ThrottledWarning;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {
    // Rows at risk are an error, not a warning; the throttling is the same.
    const asError = { warn: (fields: object, message: string) => logger.error(fields, message) };
    this.#failures = new ThrottledWarning(asError, clock, STALL_LOG_INTERVAL_MS);
    this.#refusals = new ThrottledWarning(asError, clock, STALL_LOG_INTERVAL_MS);
  }

  /** True from a batch that no store took until a write goes through again. */
  get stalled(): boolean {
    return this.#since !== null;
  }

  /** True while stalled and the wait before the next try has not passed. */
  get waiting(): boolean {
    return this.#since !== null && this.clock() < this.#retryAt;
  }

  /** The state for readiness and the log, with the rows held now; null while not stalled. */
  state(heldRows: number): WriteStallState | null {
    return this.#since === null ? null : { rows: heldRows, cause: this.#cause };
  }

  /** A batch went to no store: waits longer before the next try, and says why (throttled). */
  failed(failure: UndeliveredBatch, heldRows: number): void {
    const now = this.clock();
    this.#since ??= now;
    this.#waitMs = this.#waitMs === 0 ? FIRST_RETRY_MS : Math.min(this.#waitMs * 2, MAX_RETRY_MS);
    this.#retryAt = now + this.#waitMs;
    this.#cause = stallCause(failure);
    this.#failures.warn(
      {
        cause: this.#cause,
        heldRows,
        database: failure.databaseError === undefined ? null : errorReason(failure.databaseError),
        outbox: errorReason(failure.outboxError),
        retryInMs: this.#waitMs,
      },
      `interaction rows could not be written: ${this.#cause}; neither the database nor the outbox took them, they are held in memory and retried`,
    );
  }

  /** A row was refused at the queue's bound while stalled (counted by the caller). */
  refused(maxQueue: number): void {
    this.#refusals.warn(
      { cause: this.#cause, maxQueue },
      `interaction rows are being dropped: ${maxQueue} rows (LOG_MAX_QUEUE) are held in memory and none can be written (${this.#cause})`,
    );
  }

  /** A write went through: ends a stall, saying so once (`heldRows`: that batch and the rest). */
  recovered(heldRows: number): void {
    if (this.#since === null) return;
    const stalledForMs = Math.round(this.clock() - this.#since);
    this.#since = null;
    this.#waitMs = 0;
    this.logger.info(
      { stalledForMs, heldRows, cause: this.#cause },
      'interaction rows are being written again; the rows held in memory follow',
    );
  }
}
