import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { incomingOf } from '../http/incoming.js';
import { bodyTimeout } from '../http/read-body.js';
import type { Clock } from '../runtime/clock.js';
import type { Database } from '../storage/database.js';
import { createDatabaseProbe, isConnectionFailure } from '../storage/database-probe.js';

/** What the stage needs: the database, the clock, and its two bounds. */
export interface DatabaseReadyDeps {
  database: { db: Database };
  clock: Clock;
  config: { adminDatabase: { probeTimeoutMs: number; requestTimeoutMs: number } };
}

class RequestDeadline extends Error {
  constructor() {
    super('the request waited too long on the database');
    this.name = 'RequestDeadline';
  }
}

/**
 * For routes that only read and write the database (admin, analytics): a 503
 * `database_unavailable` within the probe timeout when the database does not answer, instead of
 * a call that waits on a dead connection and ends in a 500. A call the database stops answering
 * half-way ends in the same 503 after the request timeout; a connection that fails outright, at once.
 */
export function databaseReady(deps: DatabaseReadyDeps) {
  const { probeTimeoutMs, requestTimeoutMs } = deps.config.adminDatabase;
  const probe = createDatabaseProbe({
    db: deps.database.db,
    clock: deps.clock,
    timeoutMs: probeTimeoutMs,
  });
  return async function databaseReady(c, next) {
    if (!(await probe.answers())) throw GatewayError.databaseUnavailable();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RequestDeadline()), requestTimeoutMs);
    });
    try {
      await Promise.race([next(), deadline]);
    } catch (err) {
      // Still receiving the body at the deadline: the client is slow, not the database.
      if (err instanceof RequestDeadline && incomingOf(c)?.complete === false) {
        throw bodyTimeout(requestTimeoutMs);
      }
      if (err instanceof RequestDeadline || isConnectionFailure(err)) {
        throw GatewayError.databaseUnavailable();
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // A handler's failure reaches here already rendered (as a 500); a lost connection is a 503.
    if (isConnectionFailure(c.error)) throw GatewayError.databaseUnavailable();
  } satisfies MiddlewareHandler<AppEnv>;
}
