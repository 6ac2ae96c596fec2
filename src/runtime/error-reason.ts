/** The query builder's wrapper puts the statement and its parameters in the message. */
const FAILED_QUERY_PREFIX = 'Failed query: ';

/**
 * The short reason of a failure, for a log line or a one-line CLI error: the first line of the
 * message, never a statement or its parameters (for a failed query, the driver's own reason).
 */
export function errorReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message.startsWith(FAILED_QUERY_PREFIX) && err.cause !== undefined) {
    return errorReason(err.cause);
  }
  return err.message.split('\n', 1)[0] ?? '';
}
