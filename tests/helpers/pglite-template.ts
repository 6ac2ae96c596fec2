import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated, closed PGlite data directory that tests copy instead of running initdb. */
    pgliteTemplate: string | undefined;
  }
}

/** Memory-backed files when the system has them: a copy and its queries never touch a disk. */
function scratchRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/**
 * Opens a private copy of the migrated template (removed again on close); a fresh in-memory
 * PGlite, migrated, when no template was provided.
 */
export async function openMigratedPglite(): Promise<DatabaseHandle> {
  const template = inject('pgliteTemplate');
  if (!template) {
    const handle = await openDatabase({ kind: 'pglite', dataDir: null });
    await handle.migrate();
    return handle;
  }
  const dir = mkdtempSync(join(scratchRoot(), 'tollgate-db-'));
  cpSync(template, dir, { recursive: true });
  const handle = await openDatabase({ kind: 'pglite', dataDir: dir });
  return {
    ...handle,
    async close() {
      try {
        await handle.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A new data directory holding a copy of the migrated template, so the first start on it skips
 * initdb (an empty directory when no template was provided). The caller removes it.
 */
export function templateDataDir(prefix: string): string {
  const template = inject('pgliteTemplate');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (template) cpSync(template, dir, { recursive: true });
  return dir;
}
