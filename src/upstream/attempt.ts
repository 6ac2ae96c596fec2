import { type ShutdownNotice, StopsOnShutdown } from '../runtime/shutdown-notice.js';
import { CLIENT_GONE, type ClientLink, SHUTTING_DOWN } from './upstream.js';
import type { TimeoutPhase } from './upstream-failure.js';
import { UpstreamTimeout } from './upstream-failure.js';

/** What ends an attempt early besides its own timers. */
export interface AttemptEnds {
  /** The client, whose leaving aborts the attempt. */
  client: ClientLink;
  /** The gateway's shutdown, which aborts it too (the request is then answered 503). */
  shutdown: ShutdownNotice;
}

/**
 * One upstream attempt's abort controller and timers; the client's leaving aborts it too, and so
 * does the gateway's shutdown while the attempt runs (a stream's, until it is released).
 */
export class Attempt extends StopsOnShutdown {
  readonly controller = new AbortController();
  /** The gateway timer that aborted the attempt, if one did. */
  timeout: UpstreamTimeout | null = null;
  /** True when the gateway's shutdown aborted the attempt. */
  shutDown = false;
  readonly #client: ClientLink;
  readonly #shutdown: ShutdownNotice;
  readonly #totalTimer: NodeJS.Timeout;
  #firstByteTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #idleMs = 0;
  #lastChunkAt = 0;
  /** The idle clock and its check, while the idle timeout applies. */
  #idleNow: (() => number) | null = null;
  #idleCheck: (() => void) | null = null;
  /** When the relay began waiting for the client, while it waits; null otherwise. */
  #pausedAt: number | null = null;
  readonly #onClientClose = () => {
    if (this.#client.gone) this.controller.abort(CLIENT_GONE);
  };

  /**
   * Starts the total timer and, when `firstByteMs` is given, the first-byte timer (streams: the
   * first chunk must arrive within it).
   */
  constructor(ends: AttemptEnds, firstByteMs: number | null, totalMs: number) {
    super();
    const { client } = ends;
    this.#client = client;
    this.#shutdown = ends.shutdown;
    this.#totalTimer = setTimeout(() => this.#fire('total'), totalMs);
    if (firstByteMs !== null) {
      this.#firstByteTimer = setTimeout(() => this.#fire('first-byte'), firstByteMs);
    }
    if (client.gone) this.controller.abort(CLIENT_GONE);
    else client.onClose(this.#onClientClose);
    this.#shutdown.watch(this);
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
      this.#idleTimer = null;
      // While the relay waits for the client the upstream's silence does not count: resumeIdle
      // arms the timer again.
      if (this.#pausedAt !== null) return;
      const left = this.#lastChunkAt + this.#idleMs - now();
      if (left <= 0) this.#fire('idle');
      else this.#idleTimer = setTimeout(check, left);
    };
    this.#idleNow = now;
    this.#idleCheck = check;
    this.#idleTimer = setTimeout(check, idleMs);
  }

  /** A chunk arrived: the idle clock starts again. */
  chunkArrived(at: number): void {
    this.#lastChunkAt = at;
  }

  /**
   * The relay waits for the client to take what it was sent: the idle clock stops, since the
   * upstream is not being asked for anything. Costs a clock read; the timer is left as it is.
   */
  pauseIdle(): void {
    if (this.#idleNow !== null && this.#pausedAt === null) this.#pausedAt = this.#idleNow();
  }

  /**
   * The client took it: the idle clock runs on from where it stopped. A timer is armed only if the
   * one running fired during the wait.
   */
  resumeIdle(): void {
    if (this.#idleNow === null || this.#idleCheck === null || this.#pausedAt === null) return;
    const now = this.#idleNow();
    this.#lastChunkAt += now - this.#pausedAt;
    this.#pausedAt = null;
    this.#idleTimer ??= setTimeout(this.#idleCheck, this.#lastChunkAt + this.#idleMs - now);
  }

  /** The gateway is shutting down: the attempt stops, unless something else stopped it first. */
  stopForShutdown(): void {
    if (this.controller.signal.aborted) return;
    this.shutDown = true;
    this.controller.abort(SHUTTING_DOWN);
  }

  /** Releases the timers, the client listener and the shutdown's watch; idempotent. */
  detach(): void {
    clearTimeout(this.#totalTimer);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    // No idle timer after this, whatever the relay still says.
    this.#idleNow = null;
    this.#idleCheck = null;
    this.firstByteArrived();
    this.#client.offClose(this.#onClientClose);
    this.#shutdown.unwatch(this);
  }

  #fire(phase: TimeoutPhase): void {
    this.timeout = new UpstreamTimeout(phase);
    this.controller.abort(this.timeout);
  }
}
