import { ThrottledWarning } from '../runtime/throttled-warning.js';
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
  readonly #warning: ThrottledWarning;

  constructor(options: BackendErrorReporterOptions) {
    this.#options = options;
    this.#warning = new ThrottledWarning(options.logger, options.clock, BACKEND_WARN_INTERVAL_MS);
  }

  /** Records one failed backend operation. Never throws. */
  report(operation: BackendErrorEvent['operation'], error: unknown): void {
    const { failPolicy, onBackendError } = this.#options;
    try {
      onBackendError?.({ operation, error });
    } catch {
      // A broken metric callback must not turn a degraded backend into failed requests.
    }
    const message = error instanceof Error ? error.message : String(error);
    this.#warning.warn(
      { operation, failPolicy, err: message },
      failPolicy === 'fail-open'
        ? 'rate limiter backend failed; admitting requests unlimited (fail-open)'
        : 'rate limiter backend failed; rejecting requests as unavailable (fail-closed)',
    );
  }
}
