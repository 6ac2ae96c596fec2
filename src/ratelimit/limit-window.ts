/**
 * Fixed one-minute windows decided by the injected clock.
 *
 * Fixed rather than sliding windows: every process (and Redis) agrees on a window from the clock
 * alone, counters are plain increments the backends do atomically, and "reset" has one exact answer
 * for OpenAI's headers. The cost is the usual fixed-window edge: a client can spend a full limit at
 * the end of one window and another at the start of the next. The window index is part of every
 * counter key, so the clock alone decides boundaries; the backends' own expiry (real time,
 * COUNTER_TTL_S) only garbage-collects old windows and is longer than a window so it never cuts
 * one short.
 */
export const WINDOW_MS = 60_000;

/** How long a window's counters live in the backend: two windows, so one is never cut short. */
export const COUNTER_TTL_S = (2 * WINDOW_MS) / 1000;

/** The index of the window `nowMs` falls in. */
export function windowIndex(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_MS);
}

/** Milliseconds from `nowMs` until the window it falls in ends (always > 0). */
export function msUntilWindowReset(nowMs: number): number {
  return (windowIndex(nowMs) + 1) * WINDOW_MS - nowMs;
}
