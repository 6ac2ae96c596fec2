import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IndexedEntry } from '../../src/cache/memory-index.js';
import { entryBytes, MemoryIndex } from '../../src/cache/memory-index.js';

const NOW = 1_000_000;
const completion = (text: string) =>
  JSON.stringify({ id: text, choices: [{ message: { content: text } }] });

/** An entry and its vector, as `index.set` takes them. */
function entry(
  over: Partial<IndexedEntry> & { exactHash: string; vector?: Float32Array | null },
): [IndexedEntry, Float32Array | null] {
  const { vector = Float32Array.of(1, 0, 0), ...fields } = over;
  return [
    {
      id: `id-${over.exactHash}`,
      tenantId: 't1',
      scopeHash: 's1',
      embedder: 'e1',
      dimensions: vector ? vector.length : null,
      response: completion(over.exactHash),
      question: over.exactHash,
      createdAt: NOW - 1_000,
      expiresAt: NOW + 60_000,
      provider: 'default',
      bytes: 1_000,
      ...fields,
    },
    vector,
  ];
}

const query = (
  vector: Float32Array,
  over: Partial<Parameters<MemoryIndex['nearest']>[0]> = {},
) => ({
  tenantId: 't1',
  scopeHash: 's1',
  embedder: 'e1',
  vector,
  now: NOW,
  notBefore: null,
  ...over,
});

describe('MemoryIndex', () => {
  it('finds the nearest entry of the scope by cosine similarity', () => {
    const index = new MemoryIndex(1_000_000);
    index.set(...entry({ exactHash: 'a', vector: Float32Array.of(1, 0, 0) }));
    index.set(...entry({ exactHash: 'b', vector: Float32Array.of(0.8, 0.6, 0) }));
    index.set(...entry({ exactHash: 'c', vector: Float32Array.of(0, 0, 1) }));
    const found = index.nearest(query(Float32Array.of(0.7, 0.7, 0)));
    expect(found?.entry.exactHash).toBe('b');
    expect(found?.similarity).toBeCloseTo((0.8 * 0.7 + 0.6 * 0.7) / Math.sqrt(0.98), 5);
  });

  it("searches the declaring embedder's vectors with its layout, and others' as their own", () => {
    // e1 declares two dense leading components; e2's vectors (1 component) could not hold them.
    const index = new MemoryIndex(1_000_000, { embedder: 'e1', denseLeading: 2 });
    for (let i = 0; i < 70; i++) {
      index.set(...entry({ exactHash: `f${i}`, vector: Float32Array.of(0.6, 0, 0.8) }));
    }
    index.set(...entry({ exactHash: 'near', vector: Float32Array.of(0.6, 0.8, 0) }));
    index.set(...entry({ exactHash: 'other', embedder: 'e2', vector: Float32Array.of(1) }));
    const found = index.nearest(query(Float32Array.of(0.6, 0.8, 0), { minSimilarity: 0.9 }));
    expect(found?.entry.exactHash).toBe('near');
    expect(index.nearest(query(Float32Array.of(1), { embedder: 'e2' }))?.entry.exactHash).toBe(
      'other',
    );
    // Counted as held: two dense components (4 bytes each), one sparse one (32), the slot (96).
    const parts = { responseChars: 0, questionChars: 0, vector: Float32Array.of(0.6, 0, 0.8) };
    expect(index.bytesOf(parts)).toBe(256 + 2 * 4 + 32 + 96);
    expect(new MemoryIndex(1_000_000).bytesOf(parts)).toBe(256 + 3 * 4 + 96);
  });

  it('never compares across tenants, scopes or embedders', () => {
    const index = new MemoryIndex(1_000_000);
    index.set(...entry({ exactHash: 'other-tenant', tenantId: 't2' }));
    index.set(...entry({ exactHash: 'other-scope', scopeHash: 's2' }));
    index.set(...entry({ exactHash: 'other-embedder', embedder: 'e2' }));
    expect(index.nearest(query(Float32Array.of(1, 0, 0)))).toBeNull();
    expect(
      index.nearest(query(Float32Array.of(1, 0, 0), { tenantId: 't2' }))?.entry.exactHash,
    ).toBe('other-tenant');
  });

  it('skips expired entries and entries older than the accepted age', () => {
    const index = new MemoryIndex(1_000_000);
    index.set(...entry({ exactHash: 'expired', expiresAt: NOW }));
    index.set(...entry({ exactHash: 'old', createdAt: NOW - 50_000 }));
    expect(index.nearest(query(Float32Array.of(1, 0, 0), { notBefore: NOW - 10_000 }))).toBeNull();
    expect(index.nearest(query(Float32Array.of(1, 0, 0)))?.entry.exactHash).toBe('old');
  });

  it('lets the least recently used entries go beyond the byte bound, vectors included', () => {
    const index = new MemoryIndex(3_000);
    index.set(...entry({ exactHash: 'a' }));
    index.set(...entry({ exactHash: 'b', vector: Float32Array.of(0, 1, 0) }));
    index.set(...entry({ exactHash: 'c', vector: Float32Array.of(0, 0, 1) }));
    expect(index.get('t1', 'a')?.exactHash).toBe('a');
    index.set(...entry({ exactHash: 'd', vector: Float32Array.of(0.5, 0.5, 0) }));
    expect(index.get('t1', 'b')).toBeUndefined();
    expect(index.size).toBe(3);
    expect(index.bytes).toBe(3_000);
    expect(index.nearest(query(Float32Array.of(0, 1, 0)))?.entry.exactHash).toBe('d');
  });

  it('replaces an entry and its vector when the same question is stored again', () => {
    const index = new MemoryIndex(1_000_000);
    index.set(...entry({ exactHash: 'a', vector: Float32Array.of(1, 0, 0) }));
    index.set(...entry({ exactHash: 'a', id: 'newer', vector: Float32Array.of(0, 1, 0) }));
    expect(index.size).toBe(1);
    const found = index.nearest(query(Float32Array.of(1, 0, 0)));
    expect(found?.entry.id).toBe('newer');
    expect(found?.similarity).toBeCloseTo(0, 5);
  });

  it('drops a tenant entirely and reports what has expired', () => {
    const index = new MemoryIndex(1_000_000);
    index.set(...entry({ exactHash: 'a' }));
    index.set(...entry({ exactHash: 'b', expiresAt: NOW - 1 }));
    index.set(...entry({ exactHash: 'c', tenantId: 't2' }));
    expect(index.deleteExpired(NOW).map((e) => e.exactHash)).toEqual(['b']);
    index.deleteTenant('t1');
    expect(index.get('t1', 'a')).toBeUndefined();
    expect(index.hasScope('t1', 's1')).toBe(false);
    expect(index.get('t2', 'c')?.exactHash).toBe('c');
  });

  it('puts an opened entry in the place of the sealed one, still found by its vector', () => {
    const index = new MemoryIndex(1_000_000);
    const [sealed, vector] = entry({ exactHash: 'a', vector: Float32Array.of(0.6, 0.8, 0) });
    index.set(sealed, vector);
    index.set(...entry({ exactHash: 'b', vector: Float32Array.of(0, 0, 1) }));
    const opened: IndexedEntry = { ...sealed, response: completion('opened'), bytes: 1_500 };
    index.reopen(sealed, opened);
    expect(index.get('t1', 'a')).toBe(opened);
    expect(index.size).toBe(2);
    expect(index.bytes).toBe(2_500);
    const found = index.nearest(query(Float32Array.of(0.6, 0.8, 0)));
    expect(found?.entry).toBe(opened);
    expect(found?.similarity).toBeCloseTo(1, 5);
    // Once dropped, its vector goes with it: the nearest is the other entry now.
    index.delete('t1', 'a');
    expect(index.nearest(query(Float32Array.of(0.6, 0.8, 0)))?.entry.exactHash).toBe('b');
    // An entry no longer held is not brought back.
    index.reopen(sealed, { ...sealed, bytes: 10 });
    expect(index.get('t1', 'a')).toBeUndefined();
  });

  it('counts a vector as the search index holds it: sparse components twice, dense rows once', () => {
    const sparse = new Float32Array(512);
    for (let i = 0; i < 100; i++) sparse[i * 5] = 0.1;
    const dense = new Float32Array(384).fill(0.05);
    const text = { responseChars: 100, questionChars: 10 };
    expect(entryBytes({ ...text, vector: null })).toBe(220 + 256);
    expect(entryBytes({ ...text, vector: sparse })).toBe(220 + 256 + 100 * 32 + 96);
    expect(entryBytes({ ...text, vector: dense })).toBe(220 + 256 + 384 * 4 + 96);
    // A blend: the model's 384 components held as a dense row, the 100 others sparse.
    const blended = new Float32Array(384 + 512);
    blended.set(dense, 0);
    blended.set(sparse, 384);
    expect(entryBytes({ ...text, vector: blended, denseLeading: 384 })).toBe(
      220 + 256 + 384 * 4 + 100 * 32 + 96,
    );
    expect(entryBytes({ ...text, vector: sparse, denseLeading: 0 })).toBe(
      220 + 256 + 100 * 32 + 96,
    );
  });

  describe('the numbers its entries carry (mayShareNumbers)', () => {
    const KEYS = ['a', 'b', 'c', 'd', 'e'];
    const NUMBERS = ['', '7', '7\u00003'];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.constantFrom(...KEYS),
        scope: fc.constantFrom('s1', 's2'),
        numbers: fc.option(fc.constantFrom(...NUMBERS), { nil: undefined }),
        withVector: fc.boolean(),
        large: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
      fc.record({
        kind: fc.constant('learn' as const),
        key: fc.constantFrom(...KEYS),
        numbers: fc.constantFrom(...NUMBERS),
      }),
      fc.record({ kind: fc.constant('reopen' as const), key: fc.constantFrom(...KEYS) }),
      fc.record({ kind: fc.constant('expire' as const) }),
      fc.record({ kind: fc.constant('dropTenant' as const) }),
    );

    it('answers as the entries it holds would, through stores, replacements, evictions and removals', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          // Room for three ordinary entries: larger ones push the least recently used out.
          const index = new MemoryIndex(3_000);
          const stale = new Map<string, IndexedEntry>();
          for (const o of ops) {
            if (o.kind === 'set') {
              const [e, vector] = entry({
                exactHash: o.key,
                scopeHash: o.scope,
                vector: o.withVector ? Float32Array.of(1, 0, 0) : null,
                embedder: o.withVector ? 'e1' : null,
                bytes: o.large ? 1_600 : 900,
                expiresAt: o.large ? NOW - 1 : NOW + 60_000,
                ...(o.numbers === undefined ? {} : { numbers: o.numbers }),
              });
              stale.set(o.key, e);
              index.set(e, vector);
            } else if (o.kind === 'delete') index.delete('t1', o.key);
            else if (o.kind === 'learn') {
              // Also for an entry no longer held: nothing may change then.
              const e = stale.get(o.key);
              if (e) index.learnNumbers(e, o.numbers);
            } else if (o.kind === 'reopen') {
              const e = stale.get(o.key);
              if (e) {
                const opened = { ...e, response: completion('opened') };
                index.reopen(e, opened);
                stale.set(o.key, opened);
              }
            } else if (o.kind === 'expire') index.deleteExpired(NOW);
            else index.deleteTenant('t1');
          }
          const held = [...stale.values()].filter(
            (e) => index.get('t1', e.exactHash) === e && e.embedder !== null,
          );
          for (const scope of ['s1', 's2']) {
            for (const numbers of [...NUMBERS, '9']) {
              const expected = held.some(
                (e) => e.scopeHash === scope && (e.numbers === undefined || e.numbers === numbers),
              );
              expect(index.mayShareNumbers('t1', scope, numbers)).toBe(expected);
            }
          }
        }),
        { numRuns: 300 },
      );
    });

    it('learns a sealed entry’s numbers once, and then skips a scope that cannot match', () => {
      const index = new MemoryIndex(1_000_000);
      const [sealed, vector] = entry({ exactHash: 'a' });
      index.set(sealed, vector);
      index.set(...entry({ exactHash: 'b', numbers: '42' }));
      expect(index.mayShareNumbers('t1', 's1', '43')).toBe(true);
      index.learnNumbers(sealed, '41');
      expect(index.mayShareNumbers('t1', 's1', '43')).toBe(false);
      expect(index.mayShareNumbers('t1', 's1', '41')).toBe(true);
      // Known numbers are never replaced: the entry's question has not changed.
      index.learnNumbers(sealed, '43');
      expect(index.mayShareNumbers('t1', 's1', '43')).toBe(false);
      expect(index.mayShareNumbers('t1', 's2', '41')).toBe(false);
    });
  });
});
