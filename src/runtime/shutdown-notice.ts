/** Work a shutdown ends early, with an answer of its own: an upstream attempt, a retry's wait. */
export interface StopsOnShutdown {
  /** The gateway is shutting down: stop now and let the request answer so. Called at most once. */
  stopForShutdown(): void;
}

/**
 * The gateway's shutdown, as the requests still running hear it when the stop's drain ends. What
 * may keep a request waiting (an upstream attempt, from its start until it is released, or a
 * retry's wait) is watched here while it runs; `begin` stops each of them, so each answers the
 * client itself (a 503, or a stream's final error frame) rather than having its connection reset.
 * Watching costs a set entry: no listener, closure or AbortController per request.
 */
export class ShutdownNotice {
  readonly #running = new Set<StopsOnShutdown>();
  #begun = false;

  /** True once the shutdown has begun. */
  get begun(): boolean {
    return this.#begun;
  }

  /** Watches `work` until `unwatch`; work that starts after the shutdown began is stopped at once. */
  watch(work: StopsOnShutdown): void {
    if (this.#begun) work.stopForShutdown();
    else this.#running.add(work);
  }

  unwatch(work: StopsOnShutdown): void {
    this.#running.delete(work);
  }

  /** Stops everything watched, once; returns how many were stopped. */
  begin(): number {
    if (this.#begun) return 0;
    this.#begun = true;
    const running = [...this.#running];
    this.#running.clear();
    for (const work of running) work.stopForShutdown();
    return running.length;
  }
}
