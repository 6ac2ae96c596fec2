import { errorReason } from '../runtime/error-reason.js';
import type { Logger } from '../runtime/logger.js';
import { withTimeout } from '../runtime/with-timeout.js';
import { UnstorableRowError } from '../storage/queries/interactions-copy.js';
import type { NewInteraction } from '../storage/schema.js';
import { sqlStateOf } from '../storage/sql-state.js';
import type { Outbox } from './outbox.js';

/** Inserts rows and returns how many were new (ids already present are skipped). */
export type InsertRows = (rows: NewInteraction[]) => Promise<number>;

/** SQLSTATE classes that blame the data, not the database: 22 data exception, 23 integrity, 54 limits. */
const ROW_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * True when a write failed because of what some row holds (a value its column cannot store), so
 * retrying the same rows can never succeed; false for failures of the database or the connection.
 */
export function blamesTheRows(err: unknown): boolean {
  if (err instanceof UnstorableRowError) return true;
  const state = sqlStateOf(err);
  return state !== null && ROW_ERROR_CLASSES.has(state.slice(0, 2));
}

/** What an insert that sets refused rows aside needs. */
export interface SettingAsideOptions {
  insert: InsertRows;
  outbox: Outbox;
  logger: Logger;
  /** A write that takes longer than this counts as a failure of the database. */
  writeTimeoutMs: number;
  /** Told how many rows were set aside. */
  onRejected(rows: number): void;
}

/**
 * Wraps `insert`: when the database refuses rows for what they hold, halves the batch until the
 * refused rows stand alone and keeps those in the outbox's rejected file, so one bad row never
 * holds back the others. Failures of the database itself are thrown to the caller.
 */
export function insertSettingAside(options: SettingAsideOptions): InsertRows {
  const { insert, outbox, logger, writeTimeoutMs } = options;
  return async function insertOrSetAside(rows: NewInteraction[]): Promise<number> {
    try {
      return await withTimeout(insert(rows), writeTimeoutMs, 'database write timed out');
    } catch (err) {
      if (!blamesTheRows(err)) throw err;
      if (rows.length > 1) {
        const half = rows.length >> 1;
        return (
          (await insertOrSetAside(rows.slice(0, half))) + (await insertOrSetAside(rows.slice(half)))
        );
      }
      const reason = errorReason(err);
      await outbox.reject(rows, reason);
      options.onRejected(rows.length);
      logger.error(
        { id: rows[0]?.id, reason },
        'the database refused an interaction row; it is kept in the outbox rejected file',
      );
      return 0;
    }
  };
}
