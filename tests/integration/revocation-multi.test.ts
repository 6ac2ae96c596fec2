import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { manualClock } from '../helpers/manual-clock.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const serverUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!serverUrl)('revoking a key with two gateways on one PostgreSQL', () => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let a: TestGateway;
  let b: TestGateway;
  let clockB: ManualClock;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    target = await createPostgresDatabase(serverUrl ?? '');
    const env = {
      UPSTREAM_BASE_URL: upstream.url,
      DATABASE_URL: target.target.kind === 'postgres' ? target.target.url : '',
      TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
    };
    clockB = manualClock(Date.now());
    a = await startTestGateway(env);
    b = await startTestGateway(env, { clock: clockB });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await upstream?.close();
    await target?.drop();
  });

  it('stops the key on the other process once its 2 s key cache has passed (within 5 s)', async () => {
    const admin = await a.createKey({ scopes: ['admin'] });
    const user = await a.createKey();
    const models = (gw: TestGateway) =>
      fetch(`${gw.baseURL}/v1/models`, { headers: { authorization: `Bearer ${user.key}` } }).then(
        (r) => r.status,
      );
    expect(await models(b)).toBe(200);
    const revoked = await fetch(`${a.baseURL}/admin/keys/${user.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    expect(revoked.status, await revoked.text()).toBe(200);
    // The revoking process knows at once.
    expect(await models(a)).toBe(401);
    // The other one trusts its cached copy for at most the key cache TTL (2 s, capped at 5 s).
    // Past the TTL on B's clock, and never before the revocation's own time (A stamps it with the
    // real clock; on a busy machine more than 2 s of real time may pass since B's clock was made).
    clockB.set(Math.max(clockB.now() + 2_100, Date.now()));
    expect(await models(b)).toBe(401);
  });
});
