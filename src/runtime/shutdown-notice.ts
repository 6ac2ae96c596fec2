/**
 * Work a shutdown ends early, with an answer of its own: an upstream attempt, a retry's wait. It
 * carries its own links in the notice's list (see ShutdownNotice); only the notice touches them.
 */
export abstract class StopsOnShutdown {
  shutdownPrev: StopsOnShutdown | null = null;
  shutdownNext: StopsOnShutdown | null = null;

  /** The gateway is shutting down: stop now and let the request answer so. Called at most once. */
  abstract stopForShutdown(): void;
}

/**
 * The gateway's shutdown, as the requests still running hear it when the stop's drain ends. What
 * may keep a request waiting (an upstream attempt, from its start until it is released, or a
 * retry's wait) is watched here while it runs; `begin` stops each of them, so each answers the
 * client itself (a 503, or a stream's final error frame) rather than having its connection reset.
 * The watched work is a list linked through the work itself: watching costs two pointer writes,
 * with no listener, closure or AbortController per request, and no table to grow (a `Set` that
 * every request enters and leaves made V8 promote ~25 KB per streamed request to the old
 * generation, `npm run bench:allocations`).
 */
export class ShutdownNotice {
  #head: StopsOnShutdown | null = null;
  #begun = false;
  #draining = false;

  /** True once the shutdown has begun. */
  get begun(): boolean {
    return this.#begun;
  }

  /** True once the stop's drain has begun: every answer from then on closes its connection. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The stop's drain begins (requests still run; `begin` stops them at its bound). */
  drain(): void {
    this.#draining = true;
  }

  /** Watches `work` until `unwatch`; work that starts after the shutdown began is stopped at once. */
  watch(work: StopsOnShutdown): void {
    if (this.#begun) {
      work.stopForShutdown();
      return;
    }
    work.shutdownNext = this.#head;
    if (this.#head) this.#head.shutdownPrev = work;
    this.#head = work;
  }

  /** Stops watching `work`; harmless if it is not watched. */
  unwatch(work: StopsOnShutdown): void {
    const { shutdownPrev: prev, shutdownNext: next } = work;
    if (prev) prev.shutdownNext = next;
    else if (this.#head === work) this.#head = next;
    else return;
    if (next) next.shutdownPrev = prev;
    work.shutdownPrev = null;
    work.shutdownNext = null;
  }

  /** Stops everything watched, once; returns how many were stopped. */
  begin(): number {
    if (this.#begun) return 0;
    this.#begun = true;
    this.#draining = true;
    const running: StopsOnShutdown[] = [];
    for (let work = this.#head; work; work = work.shutdownNext) running.push(work);
    for (const work of running) this.unwatch(work);
    for (const work of running) work.stopForShutdown();
    return running.length;
  }
}
