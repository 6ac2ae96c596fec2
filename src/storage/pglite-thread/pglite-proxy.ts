import {
  existsSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { QueryOptions, Results } from '@electric-sql/pglite';
import { runEntryProcess } from '../../runtime/entry-process.js';
import { SERVICE_THREAD_LIMITS, startWorkerThread } from '../../runtime/worker-thread.js';
import type { CopySteps } from '../binary-copy.js';
import type { DbReply, DbRequest, DbStartup, PgliteWorkerData } from './protocol.js';
import type { FailedStatement } from './wire-error.js';
import { fromWireError } from './wire-error.js';

/** Distributes `Omit` over a union, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The part of PGlite's client that Drizzle's PGlite session uses, answered by the database thread. */
export interface PgliteProxyClient {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
  transaction<T>(fn: (tx: PgliteProxyTransaction) => Promise<T>): Promise<T>;
}

/** A transaction on the database thread; the statements sent through it run inside it. */
export interface PgliteProxyTransaction {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
}

/** The embedded PGlite running on its own thread, and the client that talks to it. */
export interface PgliteThread {
  client: PgliteProxyClient;
  /**
   * Runs a COPY … FROM '/dev/blob' statement reading `data`: on its own, or with `steps` before and
   * after it in one transaction. The buffer is transferred to the database thread: it is unusable
   * here afterwards.
   */
  copyFrom(sql: string, data: Uint8Array<ArrayBuffer>, steps: CopySteps | null): Promise<Results>;
  /** Applies the migrations in `folder` on the database thread. */
  migrate(folder: string): Promise<void>;
  /** Closes PGlite (flushing its files) and ends the thread. */
  close(): Promise<void>;
}

interface Pending {
  resolve(value: DbReply & { ok: true }): void;
  reject(err: Error): void;
  statement: FailedStatement | null;
}

/**
 * Runs the caller's parsers on the values the database thread left as text. Drizzle's are
 * identities (timestamps stay strings for its own mapping), but any parser works.
 */
function applyParsers(result: Results, parsers: QueryOptions['parsers'], arrays: boolean): void {
  if (!parsers) return;
  result.fields.forEach((field, index) => {
    const parse = parsers[field.dataTypeID];
    if (!parse) return;
    const key: string | number = arrays ? index : field.name;
    for (const row of result.rows as Record<string | number, unknown>[]) {
      const value = row[key];
      if (typeof value === 'string') row[key] = parse(value);
    }
  });
}

/** The creation of a new embedded data directory (initdb takes seconds), for the start-up log. */
export type CreationEvent =
  | { phase: 'start'; pgdata: string; message: string }
  | { phase: 'done'; pgdata: string; ms: number; message: string };

/** Told when a new data directory is being created, and when it is. */
export type CreationProgress = (event: CreationEvent) => void;

/**
 * Starts PGlite on a worker thread (in memory when `pgdata` is null) and resolves once it is
 * open. Every statement, transaction, migration and the final close go to that thread by
 * message, so the server's event loop never runs the database itself.
 *
 * A data directory that does not exist yet is first created by a child process, which then
 * exits. PGlite runs initdb in a WebAssembly instance of its own, and compiling and running it
 * allocates and frees over 100 MB of native memory; freed inside this process it would stay in
 * its malloc arenas, resident, for good (a process that only opened a new data directory and
 * migrated it held 272 MB, 185 MB on a directory created before, and 159 MB once `malloc_trim`
 * gave the freed memory back). A process returns all of it to the operating system when it ends.
 */
export async function startPgliteThread(
  pgdata: string | null,
  progress?: CreationProgress,
): Promise<PgliteThread> {
  if (pgdata !== null && !existsSync(join(pgdata, 'PG_VERSION'))) {
    await createDataDirectory(pgdata, progress);
  }
  return openPgliteThread(pgdata);
}

/**
 * Creates a new data directory at `pgdata`, which must be missing or empty. initdb runs in a
 * directory beside it (`<pgdata>.creating`) that is renamed into place once whole, so `pgdata`
 * holds a database or nothing: a creation cut short (the process killed, the disk full) leaves
 * only that directory, which the next start removes and begins again. A `pgdata` that holds files
 * without a database is not new: its database was damaged (its PG_VERSION lost) or it is
 * something else, and creating over it would hide every key and row it held behind an empty
 * database. It is refused, and left as it is.
 */
async function createDataDirectory(
  pgdata: string,
  progress: CreationProgress | undefined,
): Promise<void> {
  const held = heldEntries(pgdata);
  if (held !== null) {
    throw new Error(
      `the embedded database in ${pgdata} is damaged or is not one: it holds ${held} but no ` +
        'PG_VERSION. Nothing was changed; restore the directory from a backup, or move it ' +
        'away to start with a new, empty database',
    );
  }
  progress?.({
    phase: 'start',
    pgdata,
    message: 'creating the embedded database (the first start of this data directory)',
  });
  const started = performance.now();
  const creating = `${pgdata}.creating`;
  try {
    // What a creation cut short left behind: never a database anyone used.
    rmSync(creating, { recursive: true, force: true });
    await runEntryProcess('pglite-create', import.meta.url, [creating]);
    // An empty directory where the database goes (made by an operator, or by an earlier version).
    if (existsSync(pgdata)) rmdirSync(pgdata);
    renameSync(creating, pgdata);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`could not create the embedded database in ${pgdata}: ${reason}`);
  }
  const ms = Math.round(performance.now() - started);
  progress?.({ phase: 'done', pgdata, ms, message: `created the embedded database in ${ms} ms` });
}

/** What a data directory without PG_VERSION holds ("3 entries", "a file"), or null when nothing. */
function heldEntries(pgdata: string): string | null {
  let stats: Stats;
  try {
    stats = statSync(pgdata);
  } catch {
    return null;
  }
  if (!stats.isDirectory()) return 'a file';
  const entries = readdirSync(pgdata).length;
  if (entries === 0) return null;
  return entries === 1 ? '1 entry' : `${entries} entries`;
}

async function openPgliteThread(pgdata: string | null): Promise<PgliteThread> {
  const worker: Worker = startWorkerThread('pglite-worker', import.meta.url, {
    workerData: { pgdata } satisfies PgliteWorkerData,
    resourceLimits: SERVICE_THREAD_LIMITS,
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let stopped: Error | null = null;

  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) =>
      reject(new Error(`the database thread exited (code ${code}) before the database opened`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: DbStartup) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (message.op === 'ready') resolve();
      else reject(fromWireError(message.error, null));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });

  // The thread keeps the process alive only while it owes an answer, like a socket would.
  worker.unref();

  const fail = (err: Error) => {
    stopped ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker.unref();
  };
  worker.on('message', (message: DbReply) => {
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (message.ok) p.resolve(message);
    else p.reject(fromWireError(message.error, p.statement));
  });
  worker.on('error', (err) => fail(new Error(`the database thread failed: ${err.message}`)));
  worker.on('exit', (code) => fail(new Error(`the database thread has stopped (code ${code})`)));

  function send(
    request: WithoutId<DbRequest>,
    statement: FailedStatement | null = null,
    transfer: readonly ArrayBuffer[] = [],
  ): Promise<DbReply & { ok: true }> {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject, statement });
      worker.postMessage({ ...request, id } as DbRequest, transfer);
    });
  }

  async function query<T>(
    tx: number | null,
    sql: string,
    params: unknown[] = [],
    options?: QueryOptions,
  ): Promise<Results<T>> {
    if (options?.serializers || options?.blob || options?.onNotice) {
      throw new Error('serializers, blob and onNotice are not supported across threads');
    }
    const parsers = options?.parsers;
    const rowMode = options?.rowMode ?? 'object';
    const reply = await send(
      {
        op: 'query',
        sql,
        params,
        rowMode,
        rawTypes: parsers ? Object.keys(parsers).map(Number) : [],
        paramTypes: options?.paramTypes,
        tx,
      },
      { query: sql, params, options },
    );
    const result = reply.value as Results<T>;
    applyParsers(result as Results, parsers, rowMode === 'array');
    return result;
  }

  async function exec(tx: number | null, sql: string): Promise<Results[]> {
    const reply = await send(
      { op: 'exec', sql, tx },
      { query: sql, params: [], options: undefined },
    );
    return reply.value as Results[];
  }

  async function transaction<T>(fn: (tx: PgliteProxyTransaction) => Promise<T>): Promise<T> {
    const tx = (await send({ op: 'begin' })).value as number;
    let result: T;
    try {
      result = await fn({
        query: (sql, params, options) => query(tx, sql, params, options),
        exec: (sql) => exec(tx, sql),
      });
    } catch (err) {
      // The caller's error is the one that matters; the rollback's own failure would hide it.
      await send({ op: 'end', tx, commit: false }).catch(() => {});
      throw err;
    }
    await send({ op: 'end', tx, commit: true });
    return result;
  }

  const client: PgliteProxyClient = {
    query: (sql, params, options) => query(null, sql, params, options),
    exec: (sql) => exec(null, sql),
    transaction,
  };

  let closing: Promise<void> | null = null;
  return {
    client,
    async copyFrom(sql, data, steps) {
      const statement = { query: sql, params: [], options: undefined };
      const reply = await send({ op: 'copy', sql, data, steps }, statement, [data.buffer]);
      return reply.value as Results;
    },
    async migrate(folder) {
      await send({ op: 'migrate', migrationsFolder: folder });
    },
    close() {
      closing ??= (async () => {
        if (stopped) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        await send({ op: 'close' });
        // Until the thread has ended, the process must not: its files are being released.
        worker.ref();
        await exited;
      })();
      return closing;
    },
  };
}
