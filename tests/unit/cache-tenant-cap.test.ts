import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TenantCap } from '../../src/cache/tenant-cap.js';

describe('TenantCap', () => {
  it('evicts the least recently used entry of the tenant beyond the cap', () => {
    const cap = new TenantCap(3);
    expect(cap.touch('t', 'one', '1')).toEqual([]);
    cap.touch('t', 'two', '2');
    cap.touch('t', 'three', '3');
    // A hit on one makes two the least recently used.
    cap.touch('t', 'one', '1');
    expect(cap.touch('t', 'four', '4')).toEqual([{ tenantId: 't', exactHash: 'two', id: '2' }]);
    expect(cap.touch('t', 'two', '5')).toEqual([{ tenantId: 't', exactHash: 'three', id: '3' }]);
    expect(cap.count('t')).toBe(3);
    expect(cap.idOf('t', 'one')).toBe('1');
    expect(cap.idOf('t', 'three')).toBeUndefined();
  });

  it('counts a replaced entry once and keeps its newest row id', () => {
    const cap = new TenantCap(2);
    cap.touch('t', 'a', '1');
    expect(cap.touch('t', 'a', '2')).toEqual([]);
    expect(cap.count('t')).toBe(1);
    expect(cap.idOf('t', 'a')).toBe('2');
  });

  it('keeps tenants apart and forgets one on request', () => {
    const cap = new TenantCap(1);
    cap.touch('t1', 'a', '1');
    expect(cap.touch('t2', 'a', '2')).toEqual([]);
    cap.forgetTenant('t1');
    expect(cap.count('t1')).toBe(0);
    expect(cap.idOf('t2', 'a')).toBe('2');
    cap.remove('t2', 'a');
    expect(cap.count('t2')).toBe(0);
  });

  it('evicts, counts and remembers as a plain least-recently-used list would, under any mix of calls', () => {
    type Op =
      | { kind: 'touch'; tenant: string; hash: string; id: string }
      | { kind: 'remove'; tenant: string; hash: string }
      | { kind: 'forget'; tenant: string };
    const tenant = fc.constantFrom('t1', 't2');
    const hash = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('touch' as const),
          tenant,
          hash,
          id: fc.string({ maxLength: 2 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), tenant, hash }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), tenant }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const cap = new TenantCap(max);
        // The model: each tenant's [hash, id] pairs, least recently used first.
        const model = new Map<string, [string, string][]>();
        for (const o of ops) {
          const list = model.get(o.tenant) ?? [];
          model.set(o.tenant, list);
          if (o.kind === 'forget') {
            cap.forgetTenant(o.tenant);
            model.set(o.tenant, []);
            continue;
          }
          const at = list.findIndex(([h]) => h === o.hash);
          if (at >= 0) list.splice(at, 1);
          if (o.kind === 'remove') {
            cap.remove(o.tenant, o.hash);
            continue;
          }
          list.push([o.hash, o.id]);
          const expected = list
            .splice(0, Math.max(0, list.length - max))
            .map(([h, id]) => ({ tenantId: o.tenant, exactHash: h, id }));
          expect(cap.touch(o.tenant, o.hash, o.id)).toEqual(expected);
        }
        for (const t of ['t1', 't2']) {
          const list = model.get(t) ?? [];
          expect(cap.count(t)).toBe(list.length);
          for (const h of ['a', 'b', 'c', 'd', 'e', 'f']) {
            expect(cap.idOf(t, h)).toBe(list.find(([x]) => x === h)?.[1]);
          }
        }
      }),
    );
  });
});
