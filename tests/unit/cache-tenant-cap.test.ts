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
});
