import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const BUILD_SCRIPT = join(import.meta.dirname, 'build-pglite-template.ts');

/**
 * Builds, once per run, the migrated PGlite data directory every test database is copied from:
 * initdb and the migrations are most of the CPU time of a PGlite start. The build runs in its own
 * Node process because the database thread is started the way the application starts it.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(
    join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tollgate-template-'),
  );
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', BUILD_SCRIPT, dir], {
      timeout: 600_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  project.provide('pgliteTemplate', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
