import type { BackendErrorEvent, FailPolicy, RateLimiterLogger } from './rate-limiter.js';

/** How often a failing backend is logged at most; every failure still reaches `onBackendError`. */
export const BACKEND_WARN_INTERVAL_MS = 10_000;

/** Options for {@link BackendErrorReporter}. */
export interface BackendErrorReporterOptions {
  logger: RateLimiterLogger;
  failPolicy: FailPolicy;
  clock: () => number;
  onBackendError?: ((event: BackendErrorEvent) => void) | undefined;
}

/**
 * Reports backend failures: every one to `onBackendError` (a metric), and a warning to the log at
 * most once per interval so an outage does not write one line per request.
 */
export class BackendErrorReporter {
  readonly #options: BackendErrorReporterOptions;
  #lastWarnAtMs = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(options: BackendErrorReporterOptions) {
    this.#options = options;
  }

  /** Records one failed backend operation. Never throws. */
  report(operation: BackendErrorEvent['operation'], error: unknown): void {
    const { logger, failPolicy, clock, onBackendError } = this.#options;
    try {
      onBackendError?.({ operation, error });
    } catch {
      // A broken metric callback must not turn a degraded backend into failed requests.
    }
    const now = clock();
    if (now - this.#lastWarnAtMs < BACKEND_WARN_INTERVAL_MS) {
      this.#suppressed += 1;
      return;
    }
    const suppressed = this.#suppressed;
    this.#lastWarnAtMs = now;
    this.#suppressed = 0;
    const message = error instanceof Error ? error.message : String(error);
    logger.warn(
      { operation, failPolicy, err: message, suppressedSinceLastWarning: suppressed },
      failPolicy === 'fail-open'
        ? 'rate limiter backend failed; admitting requests unlimited (fail-open)'
        : 'rate limiter backend failed; rejecting requests as unavailable (fail-closed)',
    );
  }
}
