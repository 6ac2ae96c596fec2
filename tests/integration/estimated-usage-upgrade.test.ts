import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { type Driven, drivers, upgradeDatabase } from '../helpers/migration-upgrade.js';

/**
 * Upgrading to migration 0024 (the rollups count rows with estimated usage and their tokens): rows
 * recorded before it, already folded into the daily rollups or still pending, are counted once,
 * as rows recorded after it are, and no request is counted twice; the analysts' daily view (the
 * rollups) and hourly view (the log) say the same.
 */

const BEFORE = '0024_summary_estimated_usage';
const TENANT = 'ten_estimated';

/** One row on `day` (2026-05-01 + day) at `minute`: prompt and completion tokens, estimated or not. */
function row(day: number, minute: number, tokens: [number, number], estimated: boolean): string {
  return `insert into interactions (id, created_at, tenant_id, key_id, latency_ms, model, status,
      cache_status, stream, prompt_tokens, completion_tokens, usage_estimated)
    values (gen_random_uuid(),
      timestamptz '2026-05-01T00:00:00Z' + interval '${day} days' + interval '${minute} minutes',
      '${TENANT}', 'key_estimated', 20, 'gpt-4o-mini', ${estimated ? 499 : 200}, 'miss', true,
      ${tokens[0]}, ${tokens[1]}, ${estimated})`;
}

interface Counts {
  requests: number;
  estimated_requests: number;
  estimated_tokens: number;
}

/** What the summary reads for whole days: the daily rollups and their pending deltas, summed. */
async function rolledUp(db: Driven): Promise<Counts | undefined> {
  const [counts] = await db.rows<Counts>(
    `select sum(requests)::int as requests, sum(estimated_requests)::int as estimated_requests,
      sum(estimated_tokens)::int as estimated_tokens
    from (select requests, estimated_requests, estimated_tokens from interaction_rollups_daily
      where tenant_id = '${TENANT}'
      union all select requests, estimated_requests, estimated_tokens
      from interaction_rollup_pending where tenant_id = '${TENANT}') as parts`,
  );
  return counts;
}

/** The estimated rows and tokens in an analysts' view, summed over the tenant's buckets. */
async function inView(db: Driven, view: string): Promise<Omit<Counts, 'requests'> | undefined> {
  const [counts] = await db.rows<Omit<Counts, 'requests'>>(
    `select sum(usage_estimated_requests)::int as estimated_requests,
      sum(usage_estimated_tokens)::int as estimated_tokens
    from ${view} where tenant_id = '${TENANT}'`,
  );
  return counts;
}

describe.each(drivers)('upgrading to counted estimates ($name)', (driver) => {
  const upgrade = upgradeDatabase(driver, BEFORE);

  it('counts the estimated rows recorded before the upgrade, folded or pending, once, with those after', {
    timeout: 120_000,
  }, async () => {
    const { db, folder } = upgrade;
    await db.migrate(folder);
    await db.rows(row(0, 1, [9, 1], true));
    await db.rows(row(0, 2, [100, 50], false));
    await db.rows(row(0, 3, [12, 3], true));
    await db.rows('select tollgate_fold_rollup_deltas(1000)');
    // Recorded before the upgrade and not folded yet: their deltas are pending.
    await db.rows(row(0, 4, [7, 2], true));
    await db.rows(row(1, 5, [20, 4], true));

    await db.migrate(MIGRATIONS_DIR);
    await db.rows(row(1, 6, [30, 5], true));
    await db.rows(row(1, 7, [40, 6], false));
    const estimated = { estimated_requests: 5, estimated_tokens: 10 + 15 + 9 + 24 + 35 };
    for (const moment of ['deltas pending', 'folded']) {
      expect(await rolledUp(db), moment).toEqual({ requests: 7, ...estimated });
      expect(await inView(db, 'interaction_stats_daily'), moment).toEqual(estimated);
      expect(await inView(db, 'interaction_stats_hourly'), moment).toEqual(estimated);
      await db.rows('select tollgate_fold_rollup_deltas(1000)');
    }
  });
});
