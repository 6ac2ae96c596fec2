import { CLIENT_GONE, type ClientLink } from './upstream.js';
import type { TimeoutPhase } from './upstream-failure.js';
import { UpstreamTimeout } from './upstream-failure.js';

/** One upstream attempt's abort controller and timers; the client's leaving aborts it too. */
export class Attempt {
  readonly controller = new AbortController();
  /** The gateway timer that aborted the attempt, if one did. */
  timeout: UpstreamTimeout | null = null;
  readonly #client: ClientLink;
  readonly #totalTimer: NodeJS.Timeout;
  #firstByteTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #idleMs = 0;
  #lastChunkAt = 0;
  readonly #onClientClose = () => {
    if (this.#client.gone) this.controller.abort(CLIENT_GONE);
  };

  /**
   * Starts the total timer and, when `firstByteMs` is given, the first-byte timer (streams: the
   * first chunk must arrive within it).
   */
  constructor(client: ClientLink, firstByteMs: number | null, totalMs: number) {
    this.#client = client;
    this.#totalTimer = setTimeout(() => this.#fire('total'), totalMs);
    if (firstByteMs !== null) {
      this.#firstByteTimer = setTimeout(() => this.#fire('first-byte'), firstByteMs);
    }
    if (client.gone) this.controller.abort(CLIENT_GONE);
    else client.onClose(this.#onClientClose);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The first byte arrived: only the total timer still applies. */
  firstByteArrived(): void {
    if (this.#firstByteTimer) clearTimeout(this.#firstByteTimer);
    this.#firstByteTimer = null;
  }

  /**
   * From now on the stream may stay silent at most `idleMs` between two chunks. One timer serves
   * the whole stream: it is re-armed for the time left when it fires early, so a chunk costs a
   * clock read, not a timer.
   */
  watchIdle(idleMs: number, now: () => number): void {
    this.#idleMs = idleMs;
    this.#lastChunkAt = now();
    const check = () => {
      const left = this.#lastChunkAt + this.#idleMs - now();
      if (left <= 0) this.#fire('idle');
      else this.#idleTimer = setTimeout(check, left);
    };
    this.#idleTimer = setTimeout(check, idleMs);
  }

  /** A chunk arrived: the idle clock starts again. */
  chunkArrived(at: number): void {
    this.#lastChunkAt = at;
  }

  /** Releases the timers and the client listener; idempotent. */
  detach(): void {
    clearTimeout(this.#totalTimer);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.firstByteArrived();
    this.#client.offClose(this.#onClientClose);
  }

  #fire(phase: TimeoutPhase): void {
    this.timeout = new UpstreamTimeout(phase);
    this.controller.abort(this.timeout);
  }
}
