import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnGatewayProcess } from '../helpers/gateway-process.js';
import { type CliRun, runCli } from '../helpers/tollgate-cli.js';

// A postgres:// URL whose port is not a number: node-postgres cannot parse it.
const UNREADABLE =
  'postgres://tollgate:pw-s3cret@db.internal:fivefourthreetwo/tollgate?password=q-s3cret';
const MASTER_KEYS = `mk1:${Buffer.alloc(32, 7).toString('base64')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-database-url-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function command(args: string[]): Promise<CliRun> {
  return runCli(args, {
    DATABASE_URL: UNREADABLE,
    TOLLGATE_MASTER_KEYS: MASTER_KEYS,
    TOLLGATE_DATA_DIR: dataDir,
  });
}

function expectNamedRefusal(output: string): void {
  expect(output).toContain(
    'DATABASE_URL is not a URL the PostgreSQL driver can read (Invalid URL) (got "postgres://…@db.internal:fivefourthreetwo/tollgate?…")',
  );
  for (const secret of ['pw-s3cret', 'q-s3cret', 'tollgate:pw'])
    expect(output).not.toContain(secret);
}

describe('a DATABASE_URL the PostgreSQL driver cannot read', () => {
  it('stops the server at start-up naming the variable, never its password', async () => {
    const gateway = spawnGatewayProcess({
      DATABASE_URL: UNREADABLE,
      TOLLGATE_MASTER_KEYS: MASTER_KEYS,
      TOLLGATE_DATA_DIR: dataDir,
    });
    expect(await gateway.exited).toBe(1);
    expectNamedRefusal(gateway.output());
  });

  it('stops a command the same way', async () => {
    const run = await command(['keys', 'list']);
    expect(run.code).toBe(1);
    expectNamedRefusal(run.stderr);
  });
});
