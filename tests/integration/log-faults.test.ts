import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import { percentile, runLoad } from '../helpers/load.js';
import { settleLog } from '../helpers/settle.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createPostgresDatabase } from '../helpers/test-database.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const serverUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!serverUrl)('interaction log when PostgreSQL goes away mid-load', () => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let proxy: FreezableTcpProxy;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    target = await createPostgresDatabase(serverUrl ?? '');
    const direct = new URL(target.target.kind === 'postgres' ? target.target.url : '');
    proxy = await FreezableTcpProxy.start({
      host: direct.hostname,
      port: Number(direct.port || 5432),
    });
    const viaProxy = new URL(direct);
    viaProxy.port = String(proxy.port);
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      DATABASE_URL: viaProxy.toString(),
      TOLLGATE_MASTER_KEYS: generateMasterKeyEntry('ci'),
      LOG_RETRY_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    await upstream?.close();
    await target?.drop();
  });

  it('keeps answering at the same speed, spills rows to the outbox and lands every row exactly once', async () => {
    const { key } = await gateway.createKey();
    const deps = gateway.server.deps;
    const total = 300;
    const phase = (i: number) => (i < 100 ? 'before' : i < 200 ? 'outage' : 'after');
    const results = await runLoad({
      url: gateway.baseURL,
      key,
      total,
      concurrency: 8,
      onProgress: async (done) => {
        if (done === 100) proxy.cut();
        if (done === 200) {
          // The outage lasts until the writer has met it (rows reach the writer in batches, so a
          // hundred fast requests alone may all fall between two writes); requests keep flowing.
          const deadline = Date.now() + 10_000;
          while (deps.writer.metrics.writeFailures === 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 20));
          }
          proxy.restore();
        }
      },
    });
    expect(
      results.filter((r) => r.status !== 200),
      JSON.stringify(results.filter((r) => r.status !== 200).slice(0, 3)),
    ).toEqual([]);
    expect(
      deps.writer.metrics.writeFailures,
      'the database was never seen failing',
    ).toBeGreaterThan(0);

    await settleLog(deps);
    await deps.writer.replayOutbox();
    await deps.writer.flush();
    expect(deps.writer.metrics.outboxRows).toBe(0);

    const ids = results.map((r) => r.requestId ?? '');
    const [counted] = await deps.database.db
      .select({ total: sql<number>`count(*)::int`, distinct: sql<number>`count(distinct id)::int` })
      .from(interactions);
    expect(counted).toEqual({ total, distinct: total });
    const [matching] = await deps.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(interactions)
      .where(sql`${interactions.id} in ${ids}`);
    expect(matching?.n).toBe(total);

    const byPhase = (p: string) =>
      results.filter((r) => phase(r.index) === p).map((r) => r.latencyMs);
    const p50Before = percentile(byPhase('before'), 50);
    const p50Outage = percentile(byPhase('outage'), 50);
    // Recording never waits for the database: an outage must not show in the latency.
    expect(
      p50Outage,
      `p50 before ${p50Before.toFixed(1)} ms, during outage ${p50Outage.toFixed(1)} ms`,
    ).toBeLessThan(p50Before * 2 + 20);
    expect(Math.max(...byPhase('outage'))).toBeLessThan(1000);
  });
});
