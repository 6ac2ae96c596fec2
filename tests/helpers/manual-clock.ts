import type { Clock } from '../../src/runtime/clock.js';

/** A wall clock the test moves by hand (monotonic time stays real, for latency figures). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** A manual clock starting at `startMs`. */
export function manualClock(startMs: number): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    monotonic: () => performance.now(),
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

/** The start of the current one-minute window plus `offsetMs`. */
export function minuteStart(offsetMs = 0): number {
  return Math.floor(Date.now() / 60_000) * 60_000 + offsetMs;
}
