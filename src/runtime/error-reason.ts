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

/** An error as a log line may show it: never a statement, its parameters or a row's values. */
export interface LoggableError {
  type: string;
  message: string;
  /** The driver's code, such as a SQLSTATE, when the failure has one. */
  code?: string;
  /** Where it was thrown: stack frames only, without the messages they follow. */
  stack?: string;
}

function codeOf(err: Error): string | undefined {
  for (const source of [err.cause, err]) {
    if (typeof source === 'object' && source !== null && 'code' in source) {
      const { code } = source as { code: unknown };
      if (typeof code === 'string') return code;
    }
  }
  return undefined;
}

/**
 * The logger's serializer for `err`: a failed query's message carries the statement and every
 * parameter (a new key's secret hash among them), and a driver's `detail` can carry a row's
 * values, so only the short reason, the code and the stack frames are kept.
 */
export function loggableError(err: unknown): LoggableError {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const code = codeOf(err);
  return {
    type: err.name,
    message: errorReason(err),
    ...(code === undefined ? {} : { code }),
    ...(frames.length > 0 ? { stack: frames.join('\n') } : {}),
  };
}
