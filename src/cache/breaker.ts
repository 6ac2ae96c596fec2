import type { Clock } from '../runtime/clock.js';

/**
 * A circuit breaker for the cache's database tier. The cache is an optimisation: while the
 * database fails or hangs, its steps are skipped for `openMs`, then one step probes whether it is
 * back (the others keep skipping until that probe succeeds).
 */
export class Breaker {
  private failing = false;
  private probing = false;
  private openUntil = 0;

  constructor(private readonly options: { clock: Clock; openMs: number }) {}

  /** True when a step may run now; after an outage the first caller past the window is the probe. */
  allows(): boolean {
    if (!this.failing) return true;
    if (this.probing || this.options.clock.monotonic() < this.openUntil) return false;
    this.probing = true;
    return true;
  }

  /** A step succeeded: the database is usable again. */
  succeeded(): void {
    this.failing = false;
    this.probing = false;
  }

  /** A step failed; returns true when this failure opened the breaker (worth one log line). */
  failed(): boolean {
    const opened = !this.failing;
    this.failing = true;
    this.probing = false;
    this.openUntil = this.options.clock.monotonic() + this.options.openMs;
    return opened;
  }

  /** True while steps are being skipped or probed. */
  get open(): boolean {
    return this.failing;
  }
}
