/** The error a backend operation fails with when it does not answer within its time budget. */
export class BackendTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`rate limiter backend: ${operation} did not answer within ${timeoutMs} ms`);
    this.name = 'BackendTimeoutError';
  }
}

/**
 * Resolves or rejects like `promise`, but rejects with {@link BackendTimeoutError} after
 * `timeoutMs`. The late result of `promise` is ignored (the race keeps it from going unhandled).
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  operation: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendTimeoutError(operation, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
