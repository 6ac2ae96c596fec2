import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnGatewayProcess } from '../helpers/gateway-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-master-key-file-'));
const file = join(dataDir, 'master.key');
// 24 bytes where 32 are needed: a truncated copy of the file.
const truncated = Buffer.alloc(24, 9).toString('base64');

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("a data directory's malformed master.key", () => {
  it('stops start-up naming the file, not a variable that was never set, and not its key', async () => {
    writeFileSync(file, `mk20260101:${truncated}\n`, { mode: 0o600 });
    const gateway = spawnGatewayProcess({ TOLLGATE_DATA_DIR: dataDir });
    expect(await gateway.exited).toBe(1);
    const output = gateway.output();
    expect(output).toContain(`${file} key 'mk20260101' must be 32 bytes of base64 (got 24)`);
    expect(output).not.toContain('TOLLGATE_MASTER_KEYS');
    expect(output).not.toContain(truncated);
  });
});
