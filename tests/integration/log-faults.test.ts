import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/crypto/key-ring.js';
import { interactions } from '../../src/storage/schema.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import type { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import type { LoadResult } from '../helpers/load.js';
import { runLoad } from '../helpers/load.js';
import { settleLog } from '../helpers/settle.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createProxiedPostgresDatabase } from '../helpers/test-database.js';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

const serverUrl = process.env.TEST_DATABASE_URL;
/** Requests that must be answered while the log's writes are failing. */
const OUTAGE_ANSWERS = 20;

describe.skipIf(!serverUrl)('interaction log when PostgreSQL goes away mid-load', () => {
  let upstream: FakeUpstream;
  let target: TestDatabaseTarget;
  let proxy: FreezableTcpProxy;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    let url: string;
    ({ target, proxy, url } = await createProxiedPostgresDatabase(serverUrl ?? ''));
    gateway = await startTestGateway({
      UPSTREAM_BASE_URL: upstream.url,
      DATABASE_URL: url,
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

  it('keeps answering while the database is unreachable, spills rows to the outbox and lands every row exactly once', async () => {
    const { key } = await gateway.createKey();
    const deps = gateway.server.deps;
    // Enough senders after the cut for the outage's answers, however late the writer meets it.
    const total = 400;
    /** When a write was first seen failing, and when the database came back (performance.now()). */
    let failureSeenAt = Number.POSITIVE_INFINITY;
    let restoredAt = Number.POSITIVE_INFINITY;
    let seen: readonly LoadResult[] = [];
    const answeredSinceFailure = () =>
      seen.filter((r) => r.status === 200 && r.finishedAt > failureSeenAt).length;
    const results = await runLoad({
      url: gateway.baseURL,
      key,
      total,
      concurrency: 8,
      onProgress: async (done, soFar) => {
        seen = soFar;
        if (done === 100) proxy.cut();
        if (failureSeenAt === Number.POSITIVE_INFINITY && deps.writer.metrics.writeFailures > 0)
          failureSeenAt = performance.now();
        if (done === 200) {
          // The outage lasts until the writer has met it and the other senders have had answers
          // since (rows reach the writer in batches, so a hundred fast requests alone may all fall
          // between two writes). The bound only keeps a broken gateway from hanging the test.
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            if (failureSeenAt === Number.POSITIVE_INFINITY && deps.writer.metrics.writeFailures > 0)
              failureSeenAt = performance.now();
            if (answeredSinceFailure() >= OUTAGE_ANSWERS) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          restoredAt = performance.now();
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

    // Recording never waits for the database: while writes were failing, answers kept coming.
    const duringOutage = results.filter(
      (r) => r.status === 200 && r.finishedAt > failureSeenAt && r.finishedAt < restoredAt,
    ).length;
    expect(
      duringOutage,
      'requests answered between the first failed write and the restore',
    ).toBeGreaterThanOrEqual(OUTAGE_ANSWERS);
  });
});
