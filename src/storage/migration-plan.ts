import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { rowsOf } from './rows-of.js';

/** What the plan reads with: any Drizzle database (the driver's handle, or a migration session). */
export interface SqlRunner {
  execute(query: SQL): Promise<unknown>;
}

/** What a migration run reports, so a slow start says what it is doing. */
export type MigrationEvent =
  | { phase: 'start'; pending: string[]; message: string }
  | { phase: 'done'; applied: string[]; ms: number; message: string };

/** Receives migration progress (the start-up passes the logger). */
export type MigrationProgress = (event: MigrationEvent) => void;

interface JournalEntry {
  tag: string;
  when: number;
}

/**
 * The committed migrations not yet applied to this database, by tag, in order. Drizzle's migrator
 * applies every migration newer than the newest one recorded, so the same rule picks them here.
 */
export async function pendingMigrations(db: SqlRunner, folder: string): Promise<string[]> {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: JournalEntry[];
  };
  const newest = await newestAppliedMillis(db);
  return journal.entries.filter((e) => newest === null || e.when > newest).map((e) => e.tag);
}

/**
 * Whether this database holds the Tollgate schema: drizzle's migrations journal with at least one
 * migration recorded. Reads only; a database that has none is left exactly as it was.
 */
export async function hasAppliedMigrations(db: SqlRunner): Promise<boolean> {
  return (await newestAppliedMillis(db)) !== null;
}

async function newestAppliedMillis(db: SqlRunner): Promise<number | null> {
  const exists = rowsOf(
    await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`),
  );
  if (exists[0]?.ok !== true) return null;
  const rows = rowsOf(
    await db.execute(sql`select max(created_at) as newest from drizzle.__drizzle_migrations`),
  );
  const newest = rows[0]?.newest;
  return newest === null || newest === undefined ? null : Number(newest);
}

/**
 * Runs `apply` (the driver's migrator) between two progress events: which migrations are about to
 * run, and how long they took.
 */
export async function migrateWithProgress(
  db: SqlRunner,
  folder: string,
  apply: () => Promise<void>,
  progress: MigrationProgress | undefined,
): Promise<void> {
  if (!progress) return apply();
  const pending = await pendingMigrations(db, folder);
  if (pending.length > 0) {
    progress({
      phase: 'start',
      pending,
      message: `applying ${pending.length} database migration(s): ${pending.join(', ')}`,
    });
  }
  const started = performance.now();
  await apply();
  const ms = Math.round(performance.now() - started);
  progress({
    phase: 'done',
    applied: pending,
    ms,
    message:
      pending.length > 0
        ? `applied ${pending.length} database migration(s) in ${ms} ms`
        : `database schema up to date (checked in ${ms} ms)`,
  });
}
