import { parentPort, workerData } from 'node:worker_threads';
import type { ParserOptions, PGlite, Transaction } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { openPglite } from './pglite-open.js';
import type { DbReply, DbRequest, DbStartup, PgliteWorkerData } from './protocol.js';
import { toWireError } from './wire-error.js';

/**
 * The database thread: owns the embedded PGlite (WebAssembly, so every statement it runs is CPU
 * on this thread, not on the server's event loop) and answers the main thread's requests.
 * Requests start in arrival order; PGlite's own lock then runs them one at a time, and a
 * statement outside an open transaction waits until it ends, as it would in process.
 */

const port = parentPort;
if (!port) throw new Error('pglite-worker must run as a worker thread');
const { pgdata } = workerData as PgliteWorkerData;

/** An open transaction: its PGlite handle, how to end it, and when it has ended. */
interface OpenTransaction {
  tx: Transaction;
  end(commit: boolean): void;
  ended: Promise<void>;
}

const transactions = new Map<number, OpenTransaction>();
let nextTransaction = 1;

const keepText = (value: string) => value;
const rawParsers = new Map<string, ParserOptions>();

/** Parsers that leave the given types as PostgreSQL's text (the main thread parses them). */
function parsersFor(types: readonly number[]): ParserOptions | undefined {
  if (types.length === 0) return undefined;
  const key = types.join(',');
  let parsers = rawParsers.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(types.map((t) => [t, keepText]));
    rawParsers.set(key, parsers);
  }
  return parsers;
}

function reply(message: DbReply): void {
  port?.postMessage(message);
}

function target(client: PGlite, tx: number | null): PGlite | Transaction {
  if (tx === null) return client;
  const open = transactions.get(tx);
  if (!open) throw new Error(`transaction ${tx} is not open`);
  return open.tx;
}

/** Opens a transaction and answers once it has begun; it stays open until an `end` request. */
function begin(client: PGlite, id: number): void {
  const txId = nextTransaction++;
  let started = false;
  let end: (commit: boolean) => void = () => {};
  const decided = new Promise<boolean>((resolve) => {
    end = resolve;
  });
  const ended = client
    .transaction(async (tx) => {
      transactions.set(txId, { tx, end, ended });
      started = true;
      reply({ id, ok: true, value: txId });
      if (!(await decided)) await tx.rollback();
    })
    .finally(() => transactions.delete(txId));
  ended.catch((err: unknown) => {
    // Once begun, the failure is the `end` request's to report.
    if (!started) reply({ id, ok: false, error: toWireError(err) });
  });
}

async function handle(
  client: PGlite,
  request: DbRequest,
): Promise<Extract<DbReply, { ok: true }>['value']> {
  switch (request.op) {
    case 'query':
      return target(client, request.tx).query(request.sql, [...request.params], {
        rowMode: request.rowMode,
        parsers: parsersFor(request.rawTypes),
        ...(request.paramTypes ? { paramTypes: [...request.paramTypes] } : {}),
      });
    case 'exec':
      return target(client, request.tx).exec(request.sql);
    case 'copy': {
      const { sql, steps } = request;
      const blob = new Blob([request.data]);
      if (!steps) return client.query(sql, [], { blob });
      return client.transaction(async (tx) => {
        await tx.exec(steps.before);
        const copied = await tx.query<Record<string, unknown>>(sql, [], { blob });
        await tx.exec(steps.after);
        return copied;
      });
    }
    case 'begin':
      begin(client, request.id);
      return null;
    case 'end': {
      const open = transactions.get(request.tx);
      if (!open) throw new Error(`transaction ${request.tx} is not open`);
      open.end(request.commit);
      await open.ended;
      return null;
    }
    case 'migrate':
      await migrate(drizzle({ client }), { migrationsFolder: request.migrationsFolder });
      return null;
    case 'close':
      // Closing flushes PGlite's files; the thread ends once the port closes.
      await client.close();
      return null;
  }
}

try {
  const client = await openPglite(pgdata);
  port.on('message', (request: DbRequest) => {
    handle(client, request).then(
      (value) => {
        // `begin` answers by itself, once the transaction has actually begun.
        if (request.op !== 'begin') reply({ id: request.id, ok: true, value });
        if (request.op === 'close') port.close();
      },
      (err: unknown) => reply({ id: request.id, ok: false, error: toWireError(err) }),
    );
  });
  port.postMessage({ op: 'ready' } satisfies DbStartup);
} catch (err) {
  port.postMessage({ op: 'failed', error: toWireError(err) } satisfies DbStartup);
  port.close();
}
