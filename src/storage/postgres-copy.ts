import type { Sql } from 'postgres';
import type { CopySteps } from './binary-copy.js';
import { sqlStateOf } from './sql-state.js';

/** PostgreSQL's in_failed_sql_transaction: a statement sent after one that failed in the same transaction. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * A COPY batch the server refused (a duplicate key, a constraint): nothing of it was stored. The
 * server's reason does not reach the client (see copyIntoPostgres); the caller may send the rows
 * again another way to hear it.
 */
export class CopyRefusedError extends Error {
  constructor() {
    super('the database refused the COPY batch; nothing of it was stored');
    this.name = 'CopyRefusedError';
  }
}

/**
 * Loads a binary COPY batch into PostgreSQL with `statement` (`copy … from stdin with (format
 * binary)`), in a transaction of its own with `steps` around it, so the batch is stored whole or
 * not at all.
 *
 * postgres.js 3.4 answers a COPY with a stream and settles that stream only when the server accepts
 * the data: when the server refuses it after the end of the data has been sent (a duplicate key,
 * a constraint), the stream never finishes and the server's error is dropped. So the end of the
 * data is sent with one query queued behind it in the same transaction (the `after` step, or
 * `select 1`): that query fails with in_failed_sql_transaction exactly when the COPY failed
 * (CopyRefusedError; the transaction rolls back), and otherwise succeeds or fails for its own
 * reason. A connection lost meanwhile fails that query too.
 */
export async function copyIntoPostgres(
  client: Sql,
  statement: string,
  data: Uint8Array,
  steps?: CopySteps,
): Promise<void> {
  await client.begin(async (tx) => {
    if (steps) await tx.unsafe(steps.before);
    const stream = await tx.unsafe(statement).writable();
    // Errors are heard through the write below or the query after it; a stream error with no
    // listener would end the process.
    stream.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.write(data, (err) => {
        stream.off('error', reject);
        if (err) reject(err);
        else resolve();
      });
    });
    // Nothing is pending now, so Node runs the stream's final step within end(): postgres.js sends
    // the end of the data and frees the connection for the query below (the `after` step, if any).
    stream.end();
    try {
      await (steps ? tx.unsafe(steps.after) : tx`select 1`);
    } catch (err) {
      if (sqlStateOf(err) === IN_FAILED_TRANSACTION) throw new CopyRefusedError();
      throw err;
    }
  });
}
