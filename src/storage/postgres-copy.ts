import type pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { CopySteps } from './binary-copy.js';

/**
 * Loads a binary COPY batch into PostgreSQL with `statement` (`copy … from stdin with (format
 * binary)`) on one pooled connection; with `steps`, inside a transaction that runs `before` and
 * `after` around it, so the three are stored together or not at all (a temporary table `before`
 * makes is this connection's, whichever one the pool lends). A batch the server refuses fails
 * with the server's error (its SQLSTATE on `code`), having stored nothing.
 *
 * A connection that failed in any way is not lent again: the pool closes it when it is released
 * with the failure.
 */
export async function copyIntoPostgres(
  pool: pg.Pool,
  statement: string,
  data: Uint8Array,
  steps?: CopySteps,
): Promise<void> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    if (steps) {
      await client.query('begin');
      await client.query(steps.before);
    }
    await writeCopy(client, statement, data);
    if (steps) {
      await client.query(steps.after);
      await client.query('commit');
    }
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // Released with its failure, the connection (and any transaction still open on it) is closed:
    // the server rolls the transaction back.
    client.release(failure);
  }
}

/** Sends `data` as the whole of a COPY FROM STDIN and waits for the server's answer to it. */
function writeCopy(client: pg.PoolClient, statement: string, data: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFromStdin(statement));
    // 'finish' comes once the server has accepted the data; 'error' when it refused it, or when
    // the connection failed.
    stream.once('error', reject);
    stream.once('finish', resolve);
    stream.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}
