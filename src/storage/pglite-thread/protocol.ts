import type { Results, RowMode } from '@electric-sql/pglite';
import type { CopySteps } from '../binary-copy.js';

/** What the database thread is started with. */
export interface PgliteWorkerData {
  /** The PGlite data directory; null for an in-memory database. */
  pgdata: string | null;
}

/**
 * One request from the main thread to the database thread. `tx` names the open transaction a
 * statement belongs to (null outside one); `rawTypes` are the type OIDs whose values come back
 * as PostgreSQL's text, for the main thread to run the caller's own parsers on (functions
 * cannot be sent between threads).
 */
export type DbRequest =
  | {
      id: number;
      op: 'query';
      sql: string;
      params: readonly unknown[];
      rowMode: RowMode;
      rawTypes: readonly number[];
      paramTypes: readonly number[] | undefined;
      tx: number | null;
    }
  | { id: number; op: 'exec'; sql: string; tx: number | null }
  /**
   * A COPY … FROM '/dev/blob' statement and the data it reads (transferred, not copied); with
   * steps, run between them in one transaction.
   */
  | {
      id: number;
      op: 'copy';
      sql: string;
      data: Uint8Array<ArrayBuffer>;
      steps: CopySteps | null;
    }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'migrate'; migrationsFolder: string }
  | { id: number; op: 'close' };

/** The answer to one request: a query's results, a transaction's id, or nothing. */
export type DbReply =
  | { id: number; ok: true; value: Results | Results[] | number | null }
  | { id: number; ok: false; error: WireError };

/** Sent once when the database is open (or could not be opened). */
export type DbStartup = { op: 'ready' } | { op: 'failed'; error: WireError };

/**
 * An error as it crosses threads. A PostgreSQL error keeps every field PGlite gives it (code,
 * detail, constraint, …) so the main thread can rebuild the same DatabaseError.
 */
export type WireError =
  | {
      kind: 'database';
      message: string;
      length: number;
      name: string;
      fields: Record<string, string | undefined>;
    }
  | {
      kind: 'error';
      name: string;
      message: string;
      stack: string | undefined;
      /** What it wraps (a failed migration's statement wraps the database's own error). */
      cause?: WireError;
    };

/** The fields of PGlite's DatabaseError beyond message, length and name. */
export const DATABASE_ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;
