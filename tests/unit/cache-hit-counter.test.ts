import { describe, expect, it } from 'vitest';
import { HitCounter } from '../../src/cache/hit-counter.js';

describe('HitCounter', () => {
  it('adds up hits per entry with the latest hit time and hands them over once', () => {
    const hits = new HitCounter();
    hits.count('t', 'a', 1_000);
    hits.count('t', 'a', 3_000);
    hits.count('t', 'a', 2_000);
    hits.count('u', 'a', 5_000);
    expect(hits.take()).toEqual([
      { tenantId: 't', exactHash: 'a', count: 3, lastHitAt: new Date(3_000) },
      { tenantId: 'u', exactHash: 'a', count: 1, lastHitAt: new Date(5_000) },
    ]);
    expect(hits.take()).toEqual([]);
  });

  it('merges counts given back after a failed write with those counted since', () => {
    const hits = new HitCounter();
    hits.count('t', 'a', 1_000);
    const batch = hits.take();
    hits.count('t', 'a', 2_000);
    hits.giveBack(batch);
    expect(hits.take()).toEqual([
      { tenantId: 't', exactHash: 'a', count: 2, lastHitAt: new Date(2_000) },
    ]);
  });

  it('forgets the counts of a flushed tenant', () => {
    const hits = new HitCounter();
    hits.count('t', 'a', 1_000);
    hits.count('u', 'b', 1_000);
    hits.forgetTenant('t');
    expect(hits.take().map((h) => h.tenantId)).toEqual(['u']);
  });
});
