import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInteractionContent } from '../../src/analytics/interaction-content.js';
import {
  generateMasterKeyEntry,
  MasterKeyError,
  parseMasterKeys,
} from '../../src/crypto/key-ring.js';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { listTenants } from '../../src/storage/queries/tenants.js';
import { rotateMasterKey } from '../../src/tenants/tenant-keys.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { templateDataDir } from '../helpers/pglite-template.js';
import { settleLog } from '../helpers/settle.js';
import { createTestApp } from '../helpers/test-app.js';

let upstream: FakeUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
});

afterAll(async () => {
  await upstream?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A data directory whose database is already initialised and migrated (no master key yet). */
function dataDir(): string {
  const d = templateDataDir('tollgate-mk-');
  dirs.push(d);
  return d;
}

describe('master keys', { timeout: 120_000 }, () => {
  it('rotation re-wraps data keys so rows stay readable under the new key alone', async () => {
    const dir = dataDir();
    const k1 = generateMasterKeyEntry('k1');
    const k2 = generateMasterKeyEntry('k2');
    const env = { UPSTREAM_BASE_URL: upstream.url, DATABASE_URL: '', TOLLGATE_DATA_DIR: dir };
    const first = await createTestApp({ ...env, TOLLGATE_MASTER_KEYS: k1 });
    const { key } = await first.createKey();
    const client = first.openai(key);
    const call = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'keep me' }] })
      .withResponse();
    const id = call.response.headers.get('x-request-id') ?? '';
    await settleLog(first.deps);
    const rotated = await rotateMasterKey(first.deps.database.db, parseMasterKeys(`${k2},${k1}`));
    expect(rotated).toBe(1);
    expect((await listTenants(first.deps.database.db)).map((t) => t.masterKeyId)).toEqual(['k2']);
    await first.close();

    const second = await createTestApp({ ...env, TOLLGATE_MASTER_KEYS: k2 });
    try {
      const row = await findInteraction(second.deps.database.db, id);
      if (!row) throw new Error('row missing');
      const content = await readInteractionContent(second.deps.tenantKeys, row);
      expect(
        content.ok && (content.request as { messages: { content: string }[] }).messages[0]?.content,
      ).toBe('keep me');
    } finally {
      await second.close();
    }

    // A key the data was not written with is refused at start-up with a clear message.
    await expect(
      createTestApp({ ...env, TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('k2') }),
    ).rejects.toThrow(/master key 'k2' cannot unwrap tenant .* data key/);
    await expect(
      createTestApp({ ...env, TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('k9') }),
    ).rejects.toThrow(/wrapped under master key 'k2', which is not configured/);
  });

  it('generates <data dir>/master.key (0600) on the first embedded start, reuses it, and refuses a lost one', async () => {
    const dir = dataDir();
    const env = { UPSTREAM_BASE_URL: upstream.url, DATABASE_URL: '', TOLLGATE_DATA_DIR: dir };
    const first = await createTestApp(env);
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(first.logs.join('')).toContain('GENERATED A NEW MASTER KEY');
    await first.createKey();
    await first.deps.tenantKeys.forEncryption(
      (await listTenants(first.deps.database.db))[0]?.id ?? '',
    );
    await first.close();

    const second = await createTestApp(env);
    expect(second.logs.join('')).not.toContain('GENERATED A NEW MASTER KEY');
    await second.close();

    rmSync(join(dir, 'master.key'));
    await expect(createTestApp(env)).rejects.toBeInstanceOf(MasterKeyError);
  });

  it('refuses to start on PostgreSQL without TOLLGATE_MASTER_KEYS', async () => {
    await expect(createTestApp({ DATABASE_URL: 'postgres://127.0.0.1:1/none' })).rejects.toThrow(
      /TOLLGATE_MASTER_KEYS is required/,
    );
  });
});
