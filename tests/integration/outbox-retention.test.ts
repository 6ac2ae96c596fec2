import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutoffsAt } from '../../src/analytics/row-retention.js';
import { openOutbox, REJECTED_FILE } from '../../src/recording/outbox.js';
import type { Clock } from '../../src/runtime/clock.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import { findInteraction } from '../../src/storage/queries/interactions.js';
import { UnstorableRowError } from '../../src/storage/queries/interactions-copy.js';
import { insertTenant } from '../../src/storage/queries/tenants.js';
import type { NewInteraction } from '../../src/storage/schema.js';
import { recordInteraction } from '../helpers/analytics-seed.js';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2025-06-01T12:00:00Z');

/** One line of the rejected file, as an operator reads it. */
interface RejectedLine {
  reason: string;
  row: { id: string; requestEnc: unknown; responseEnc: unknown; promptTokens: number };
}

function readLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('retention of the interaction rows kept in the outbox', () => {
  let gateway: TestApp;
  let now = NOW;
  const clock: Clock = { now: () => now, monotonic: () => performance.now() };
  /** While true every database write fails as an outage would. */
  let down = false;
  /** Rows the database refuses for what they hold. */
  const refused = new Set<string>();
  let tenantId = '';
  let outboxDir = '';

  beforeAll(async () => {
    gateway = await createTestApp(
      { RETENTION_CONTENT_DAYS: '7', RETENTION_ROWS_DAYS: '30', CACHE: 'off' },
      {
        clock,
        logStores: (stores) => ({
          ...stores,
          insert: async (rows) => {
            if (down) throw new Error('connection refused');
            const bad = rows.find((r) => refused.has(r.id));
            if (bad) throw new UnstorableRowError(bad.id, 'a value its column cannot store');
            return stores.insert(rows);
          },
        }),
      },
    );
    tenantId = (await insertTenant(gateway.deps.database.db, 'acme')).id;
    outboxDir = join(gateway.deps.config.dataDir, 'outbox');
  });

  afterAll(async () => {
    await gateway?.close();
  });

  /** Records one interaction `daysAgo` days before NOW; returns its id. */
  async function recordAt(daysAgo: number, options: { refuse?: boolean } = {}): Promise<string> {
    now = NOW - daysAgo * DAY_MS;
    const id = uuidv7(now);
    if (options.refuse) refused.add(id);
    await recordInteraction(gateway.deps, { id, tenantId, keyId: 'key_r' });
    now = NOW;
    return id;
  }

  function segmentLines(): string[] {
    return readdirSync(outboxDir)
      .filter((f) => f.startsWith('segment-'))
      .flatMap((f) => readLines(join(outboxDir, f)));
  }

  it('writes replayed rows past the retention windows as the retention pass would leave them', async () => {
    down = true;
    const expired = await recordAt(40);
    const aged = await recordAt(10);
    const fresh = await recordAt(1);
    expect(gateway.deps.writer.metrics.outboxRows).toBe(3);

    down = false;
    await gateway.deps.writer.replayOutbox();

    const { db } = gateway.deps.database;
    expect(await findInteraction(db, expired), 'past RETENTION_ROWS_DAYS').toBeUndefined();
    const erased = await findInteraction(db, aged);
    expect(erased?.requestEnc, 'past RETENTION_CONTENT_DAYS').toBeNull();
    expect(erased?.responseEnc).toBeNull();
    expect(erased?.promptTokens, 'metadata stays').toBe(12);
    const kept = await findInteraction(db, fresh);
    expect(kept?.requestEnc).not.toBeNull();
    expect(kept?.responseEnc).not.toBeNull();
    expect(gateway.deps.writer.metrics.outboxRows).toBe(0);
    const line = gateway.logs.find((l) => l.includes('replayed from the outbox'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ rowsDeleted: 1, contentErased: 1 });
  });

  it('prunes the rejected file and the waiting segments in the retention pass', async () => {
    const rejectedExpired = await recordAt(40, { refuse: true });
    const rejectedAged = await recordAt(10, { refuse: true });
    const rejectedFresh = await recordAt(1, { refuse: true });
    const rejectedFile = join(outboxDir, REJECTED_FILE);
    const before = readLines(rejectedFile);
    expect(before).toHaveLength(3);
    down = true;
    const waitingExpired = await recordAt(40);
    const waitingAged = await recordAt(10);
    const waitingFresh = await recordAt(1);
    expect(segmentLines()).toHaveLength(3);

    // While the writer cannot write, the pass prunes the files as it prunes the database.
    const result = await gateway.deps.retention.run();
    expect(result).toEqual({ rowsDeleted: 2, contentErased: 2, storedDeleted: 0 });

    const rejected = readLines(rejectedFile).map((l) => JSON.parse(l) as RejectedLine);
    expect(rejected.map((l) => l.row.id)).toEqual([rejectedAged, rejectedFresh]);
    expect(rejected[0]).toMatchObject({
      reason: 'a value its column cannot store',
      row: { requestEnc: null, responseEnc: null, promptTokens: 12 },
    });
    expect(readLines(rejectedFile)[1], 'a line within the windows is kept as it was').toBe(
      before[2],
    );
    expect(before.join('\n')).toContain(rejectedExpired);

    const waiting = segmentLines().map((l) => JSON.parse(l) as RejectedLine['row']);
    expect(waiting.map((r) => r.id)).toEqual([waitingAged, waitingFresh]);
    expect(waiting[0]).toMatchObject({ requestEnc: null, responseEnc: null });
    expect(waiting[1]?.requestEnc).not.toBeNull();
    expect(readdirSync(outboxDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    down = false;
    await gateway.deps.writer.replayOutbox();
    const { db } = gateway.deps.database;
    expect(await findInteraction(db, waitingExpired)).toBeUndefined();
    expect((await findInteraction(db, waitingAged))?.requestEnc).toBeNull();
    expect((await findInteraction(db, waitingFresh))?.requestEnc).not.toBeNull();
    expect(gateway.deps.writer.metrics.outboxRows).toBe(0);

    // 31 days on, the rejected rows left go too, and the file with them.
    now = NOW + 31 * DAY_MS;
    const later = await gateway.deps.retention.run();
    expect(later.rowsDeleted, 'two rejected rows and four in the database').toBe(6);
    expect(readdirSync(outboxDir)).toEqual([]);
    now = NOW;
  });
});

describe('outbox retention', () => {
  function row(createdAt: number, i: number): NewInteraction {
    return {
      id: uuidv7(createdAt + i),
      createdAt: new Date(createdAt),
      tenantId: 'ten_test',
      keyId: 'key_test',
      status: 200,
      stream: false,
      latencyMs: 1,
      requestEnc: Buffer.from([1, 2, 3, i % 256]),
      responseEnc: Buffer.from([4, 5, 6]),
    };
  }

  it('loses no rejected row appended while the rejected file is pruned', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-outbox-'));
    const outbox = await openOutbox(dir, () => {});
    const old = Array.from({ length: 200 }, (_, i) => row(NOW - 40 * DAY_MS, i));
    await outbox.reject(old, 'refused');
    const fresh = Array.from({ length: 40 }, (_, i) => row(NOW, 1000 + i));
    const cutoffs = cutoffsAt({ contentDays: 7, rowsDays: 30 }, NOW);

    const [pruned] = await Promise.all([
      outbox.prune(cutoffs),
      ...fresh.map((r) => outbox.reject([r], 'refused')),
    ]);

    expect(pruned).toEqual({ rowsDeleted: 200, contentErased: 0 });
    const ids = readLines(join(dir, REJECTED_FILE)).map(
      (l) => (JSON.parse(l) as RejectedLine).row.id,
    );
    expect(ids).toEqual(fresh.map((r) => r.id));
  });
});
