import type { QueryOptions } from '@electric-sql/pglite';
import { messages } from '@electric-sql/pglite';
import type { WireError } from './protocol.js';
import { DATABASE_ERROR_FIELDS } from './protocol.js';

/** How many wrapped causes cross with an error: enough for a statement wrapped by a migration. */
const MAX_CAUSES = 4;

/** Flattens an error thrown on the database thread so it can be posted to the main thread. */
export function toWireError(err: unknown, depth = 0): WireError {
  if (err instanceof messages.DatabaseError) {
    const fields: Record<string, string | undefined> = {};
    for (const field of DATABASE_ERROR_FIELDS) fields[field] = err[field];
    return {
      kind: 'database',
      message: err.message,
      length: err.length,
      name: err.name,
      fields,
    };
  }
  if (err instanceof Error) {
    const wire: WireError = {
      kind: 'error',
      name: err.name,
      message: err.message,
      stack: err.stack,
    };
    // A statement that failed during a migration arrives wrapped, its reason in `cause`.
    // Bounded: a cause that leads back to its own error would otherwise never end.
    if (err.cause !== undefined && depth < MAX_CAUSES) {
      wire.cause = toWireError(err.cause, depth + 1);
    }
    return wire;
  }
  return { kind: 'error', name: 'Error', message: String(err), stack: undefined };
}

/** The statement an error belongs to; PGlite attaches it to the errors it throws. */
export interface FailedStatement {
  query: string;
  params: readonly unknown[];
  options: QueryOptions | undefined;
}

/**
 * Rebuilds on the main thread the error the database thread threw: a PostgreSQL error becomes
 * PGlite's own DatabaseError with the same fields (and, like PGlite's, the statement attached),
 * anything else an Error with the same name and message.
 */
export function fromWireError(wire: WireError, statement: FailedStatement | null): Error {
  if (wire.kind === 'error') {
    const err = new Error(
      wire.message,
      wire.cause ? { cause: fromWireError(wire.cause, statement) } : undefined,
    );
    err.name = wire.name;
    if (wire.stack) err.stack = `${err.stack}\n    at (database thread)\n${wire.stack}`;
    return err;
  }
  const err = new messages.DatabaseError(
    wire.message,
    wire.length,
    wire.name as messages.MessageName,
  );
  Object.assign(err, wire.fields);
  if (statement) {
    Object.assign(err, {
      query: statement.query,
      params: statement.params,
      queryOptions: statement.options,
    });
  }
  return err;
}
