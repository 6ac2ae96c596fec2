import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyCounts } from '../../src/cache/key-counts.js';

describe('KeyCounts', () => {
  it('says a key is carried exactly while its count is above 0, through any adds and removals', () => {
    const key = fc.integer({ min: 0, max: 150 }).map((n) => `k${n}`);
    // Many keys counted in, then out again in any order (so counts fall to 0 in numbers that
    // get the zeros cleared out while other keys still count), then any mix of steps.
    const script = fc.tuple(
      fc.array(key, { minLength: 80, maxLength: 300 }),
      fc.array(fc.nat(), { minLength: 300, maxLength: 300 }),
      fc.array(fc.tuple(key, fc.boolean()), { maxLength: 600 }),
    );
    fc.assert(
      fc.property(script, ([ins, order, steps]) => {
        const counts = new KeyCounts();
        const model = new Map<string, number>();
        const step = (k: string, up: boolean) => {
          const now = model.get(k) ?? 0;
          // Only what the index does: a key is counted out only as often as it was counted in.
          if (!up && now === 0) return;
          counts.add(k, up ? 1 : -1);
          model.set(k, now + (up ? 1 : -1));
        };
        for (const k of ins) step(k, true);
        const outs = ins.map((k, i) => [k, order[i] ?? 0] as const).sort((a, b) => a[1] - b[1]);
        // All but a few go out again.
        for (const [k] of outs.slice(0, outs.length - 5)) step(k, false);
        for (const [k, up] of steps) step(k, up);
        for (let n = 0; n <= 150; n++) {
          expect(counts.has(`k${n}`)).toBe((model.get(`k${n}`) ?? 0) > 0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps counting a key added back after its count fell to 0 and the zeros were cleared', () => {
    const counts = new KeyCounts();
    for (let n = 0; n < 100; n++) counts.add(`gone${n}`, 1);
    counts.add('kept', 1);
    for (let n = 0; n < 100; n++) counts.add(`gone${n}`, -1);
    counts.add('gone7', 1);
    expect(counts.has('kept')).toBe(true);
    expect(counts.has('gone7')).toBe(true);
    expect(counts.has('gone8')).toBe(false);
  });
});
