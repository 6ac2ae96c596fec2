import { describe, expect, it } from 'vitest';
import { Breaker } from '../../src/cache/breaker.js';

function breakerAt(): { breaker: Breaker; advance(ms: number): void } {
  let t = 0;
  const clock = { now: () => t, monotonic: () => t };
  return {
    breaker: new Breaker({ clock, openMs: 1_000 }),
    advance(ms) {
      t += ms;
    },
  };
}

describe('Breaker', () => {
  it('lets every step through while the database works', () => {
    const { breaker } = breakerAt();
    expect(breaker.allows()).toBe(true);
    expect(breaker.allows()).toBe(true);
    expect(breaker.open).toBe(false);
  });

  it('skips steps for the open window after a failure, then lets exactly one probe through', () => {
    const { breaker, advance } = breakerAt();
    expect(breaker.failed()).toBe(true);
    expect(breaker.failed()).toBe(false);
    expect(breaker.allows()).toBe(false);
    advance(999);
    expect(breaker.allows()).toBe(false);
    advance(1);
    expect(breaker.allows()).toBe(true);
    expect(breaker.allows()).toBe(false);
    breaker.succeeded();
    expect(breaker.allows()).toBe(true);
    expect(breaker.open).toBe(false);
  });

  it('opens again for a whole window when the probe fails', () => {
    const { breaker, advance } = breakerAt();
    breaker.failed();
    advance(1_000);
    expect(breaker.allows()).toBe(true);
    expect(breaker.failed()).toBe(false);
    advance(500);
    expect(breaker.allows()).toBe(false);
    advance(500);
    expect(breaker.allows()).toBe(true);
  });
});
