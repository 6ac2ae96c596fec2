import { sql } from 'drizzle-orm';
import type { Clock } from '../runtime/clock.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { Database } from './database.js';

/** How long a successful probe vouches for the database before the next call probes again. */
const PROBE_FRESH_MS = 1_000;

/** Codes of a connection that failed or went away (Node's sockets, SQLSTATE 08/57P0x). */
const CONNECTION_FAILURE_RE =
  /^(E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)|08\w{3}|57P0[1-3])$/;

/** node-postgres's own connection failures, which carry no code: its messages, as it words them. */
const NODE_POSTGRES_CONNECTION_FAILURES = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
]);

/** Answers, quickly, whether the database answers at all. */
export interface DatabaseProbe {
  /** True when `select 1` came back within the probe timeout (or did less than a second ago). */
  answers(): Promise<boolean>;
}

/**
 * A probe that runs `select 1` with a short timeout, shares one probe among concurrent callers,
 * and trusts a success for a second so a busy admin client does not double its queries.
 */
export function createDatabaseProbe(options: {
  db: Database;
  clock: Clock;
  timeoutMs: number;
}): DatabaseProbe {
  let answeredAt = Number.NEGATIVE_INFINITY;
  let running: Promise<boolean> | null = null;
  return {
    answers() {
      if (options.clock.now() - answeredAt < PROBE_FRESH_MS) return Promise.resolve(true);
      running ??= withTimeout(options.db.execute(sql`select 1`), options.timeoutMs, 'probe')
        .then(
          () => {
            answeredAt = options.clock.now();
            return true;
          },
          () => false,
        )
        .finally(() => {
          running = null;
        });
      return running;
    },
  };
}

/** True when a failure is the connection's, not the statement's: the database did not answer. */
export function isConnectionFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_FAILURE_RE.test(code)) return true;
    if (code === undefined && NODE_POSTGRES_CONNECTION_FAILURES.has(e.message)) return true;
  }
  return false;
}
