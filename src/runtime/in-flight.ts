import type { Gauge } from 'prom-client';

/**
 * Requests from their first middleware until what happens after their answer is handed to the
 * background runner (for a pipeline route, its after-response step; for the others, the access
 * log line). A stop waits for none to be open before it closes the dependencies, so a request the
 * drain had to cut still gets its row. Kept in step with `tollgate_http_requests_in_flight`.
 */
export class InFlightRequests {
  #open = 0;
  #idle: Array<() => void> = [];

  constructor(private readonly gauge: Gauge) {}

  begin(): void {
    this.#open++;
    this.gauge.inc();
  }

  end(): void {
    this.gauge.dec();
    if (--this.#open > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  get open(): number {
    return this.#open;
  }

  /** Resolves once no request is open. */
  idle(): Promise<void> {
    if (this.#open <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
