import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDatabase } from '../../src/storage/database.js';
import type { MigrationEvent } from '../../src/storage/migration-plan.js';

const tags = (
  JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  }
).entries.map((e) => e.tag);

describe('migration progress', () => {
  it('names the migrations it applies and their time, then says the schema is up to date', {
    timeout: 180_000,
  }, async () => {
    const handle = await openDatabase({ kind: 'pglite', dataDir: null });
    try {
      const first: MigrationEvent[] = [];
      await handle.migrate((e) => first.push(e));
      expect(first.map((e) => e.phase)).toEqual(['start', 'done']);
      expect(first[0]).toMatchObject({ phase: 'start', pending: tags });
      expect(first[0]?.message).toContain(tags.join(', '));
      expect(first[1]).toMatchObject({ phase: 'done', applied: tags });
      expect(first[1]?.message).toMatch(/^applied \d+ database migration\(s\) in \d+ ms$/);

      const second: MigrationEvent[] = [];
      await handle.migrate((e) => second.push(e));
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ phase: 'done', applied: [] });
      expect(second[0]?.message).toMatch(/^database schema up to date/);
    } finally {
      await handle.close();
    }
  });
});
