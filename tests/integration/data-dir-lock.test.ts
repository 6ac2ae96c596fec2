import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirBusyError, lockDataDir } from '../../src/storage/data-dir-lock.js';
import { openDatabase } from '../../src/storage/database.js';
import { tenants } from '../../src/storage/schema.js';

const HOLDER = join(import.meta.dirname, '../helpers/data-dir-holder.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-lock-'));
  dirs.push(dir);
  return dir;
}

/** Runs the holder script in a PID namespace of its own, as a container would. */
function inOwnPidNamespace(args: string[]) {
  return spawn(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, '--import', 'tsx', HOLDER, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

const unshareWorks =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

describe('data-directory lock', () => {
  it('refuses a second holder in the same process and frees the directory on release', () => {
    const dir = tempDir();
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(DataDirBusyError);
    expect(() => lockDataDir(dir)).toThrow(/in use by another Tollgate process \(pid \d+ on host/);
    release();
    lockDataDir(dir)();
  });

  it.skipIf(!unshareWorks)(
    'holds across PID namespaces: the second gateway refuses clearly and the data survives',
    async () => {
      const dir = tempDir();
      const holder = inOwnPidNamespace(['hold', dir]);
      let out = '';
      let err = '';
      holder.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      holder.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => holder.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', () => out.includes('held') && resolve());
        holder.on('exit', () => reject(new Error(`holder exited: ${out} ${err}`)));
      });
      // In its own namespace the holder is pid 1: a pid file could not tell it from this process.
      expect(out).toContain('held by pid 1\n');

      const second = spawnSync(
        'unshare',
        [
          '--pid',
          '--fork',
          '--mount-proc',
          process.execPath,
          '--import',
          'tsx',
          HOLDER,
          'open',
          dir,
        ],
        { encoding: 'utf8' },
      );
      expect(second.status, second.stderr).toBe(3);
      expect(second.stdout).toBe('');
      expect(second.stderr).toContain(`The embedded database in ${dir} is in use by another`);
      expect(second.stderr).toContain('pid 1 on host');

      holder.stdin.end();
      expect(await exited, err).toBe(0);
      const reopened = await openDatabase({ kind: 'pglite', dataDir: dir });
      try {
        const rows = await reopened.db.select().from(tenants).where(eq(tenants.id, 'ten_holder'));
        expect(rows.map((r) => r.name)).toEqual(['written by the holder']);
      } finally {
        await reopened.close();
      }
    },
    300_000,
  );
});
