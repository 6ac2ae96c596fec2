/** What a throttled warning writes to: a pino logger, or anything with its `warn(fields, msg)`. */
export interface WarnLogger {
  warn(fields: object, message: string): void;
}

/**
 * A warning written at most once per interval: a condition that hits every request (a saturated
 * embedder, an unreachable backend) must not write one line per request. Each line says how many
 * occurrences it stands for since the one before (`suppressedSinceLastWarning`).
 */
export class ThrottledWarning {
  #lastAtMs = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(
    private readonly logger: WarnLogger,
    private readonly clock: () => number,
    private readonly intervalMs: number,
  ) {}

  /** Writes `message` with `fields`, unless a line was written less than the interval ago. */
  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.clock();
    if (now - this.#lastAtMs < this.intervalMs) {
      this.#suppressed += 1;
      return;
    }
    const suppressedSinceLastWarning = this.#suppressed;
    this.#lastAtMs = now;
    this.#suppressed = 0;
    this.logger.warn({ ...fields, suppressedSinceLastWarning }, message);
  }
}
