import { errorReason } from './error-reason.js';
import type { Logger } from './logger.js';
import { withTimeout } from './with-timeout.js';

/** How long one close step may take before shutdown moves on to the next. */
export const DEFAULT_CLOSE_STEP_TIMEOUT_MS = 5_000;

/** One way to release something that was built, with how long it may take. */
export interface CloseStep {
  name: string;
  close(): Promise<void> | void;
  timeoutMs: number;
}

/**
 * What has been built and must be released. Each builder registers its close as it builds, so
 * closing runs in the reverse of the build order (a dependency outlives everything built on it)
 * and a new dependency cannot be left out of shutdown.
 */
export class Resources {
  private readonly steps: CloseStep[] = [];
  private closing: Promise<void> | null = null;

  constructor(private readonly logger: Logger) {}

  /** Registers a close step; it runs before every step registered earlier. */
  add(name: string, close: () => Promise<void> | void, timeoutMs = DEFAULT_CLOSE_STEP_TIMEOUT_MS) {
    if (this.closing) throw new Error(`cannot register ${name}: resources are closing`);
    this.steps.push({ name, close, timeoutMs });
  }

  /** The registered steps, in the order they will close. */
  get closeOrder(): readonly string[] {
    return this.steps.map((s) => s.name).reverse();
  }

  /**
   * Closes everything, newest first. A step that fails or outlasts its bound is logged and
   * shutdown goes on: one stuck dependency must not keep the others (or the process) open.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await withTimeout(
            Promise.resolve().then(() => step.close()),
            step.timeoutMs,
            `closing ${step.name} timed out`,
          );
        } catch (err) {
          this.logger.warn({ step: step.name, reason: errorReason(err) }, 'close step failed');
        }
      }
    })();
    return this.closing;
  }

  /** Closes what was built so far and rethrows: for a build step that failed half way. */
  async abandon(err: unknown): Promise<never> {
    await this.close();
    throw err;
  }
}
