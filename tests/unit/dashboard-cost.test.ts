import { describe, expect, it } from 'vitest';
import { cost } from '../../src/dashboard/format.js';

describe('dashboard cost cell', () => {
  it('shows a dash when a group spent only on models without a price, even with refused requests among them', () => {
    // A model without a price: 5 answered requests (unpriced), 1 refused (spent nothing).
    expect(cost(0, 5)).toBe('–');
  });

  it('shows the priced part when a group mixes priced and unpriced models', () => {
    expect(cost(0.0123, 2)).toBe('$0.0123');
  });

  it('shows zero dollars for a priced group that spent nothing (cache hits, refusals)', () => {
    expect(cost(0, 0)).toBe('$0.00');
  });
});
