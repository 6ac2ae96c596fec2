import { describe, expect, it } from 'vitest';
import { ThrottledWarning } from '../../src/runtime/throttled-warning.js';

describe('ThrottledWarning', () => {
  it('writes at most one line per interval, each saying how many it stood for', () => {
    let now = 0;
    const lines: Array<{ fields: object; message: string }> = [];
    const warning = new ThrottledWarning(
      { warn: (fields, message) => lines.push({ fields, message }) },
      () => now,
      10_000,
    );
    for (let i = 0; i < 500; i++) warning.warn({ reason: 'saturated' }, 'embedding failed');
    now = 9_999;
    warning.warn({ reason: 'saturated' }, 'embedding failed');
    now = 10_000;
    warning.warn({ reason: 'saturated' }, 'embedding failed');
    expect(lines).toEqual([
      {
        fields: { reason: 'saturated', suppressedSinceLastWarning: 0 },
        message: 'embedding failed',
      },
      {
        fields: { reason: 'saturated', suppressedSinceLastWarning: 500 },
        message: 'embedding failed',
      },
    ]);
  });
});
