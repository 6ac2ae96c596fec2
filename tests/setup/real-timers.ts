import { afterAll, vi } from 'vitest';

// Test files share long-lived processes (isolate: false): whatever a file did with the clock, the
// next file in the same process starts on real timers.
afterAll(() => {
  vi.useRealTimers();
});
