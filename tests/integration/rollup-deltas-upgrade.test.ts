import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { type Driven, drivers, upgradeDatabase } from '../helpers/migration-upgrade.js';

/**
 * Upgrading to migration 0017 (the rollups' pending deltas summed per statement): what was pending
 * in the old shape is folded, the analysts' view keeps its numbers and its grants, and the new
 * deltas add up to the log before and after a fold.
 */

const BEFORE = '0017_aggregated_rollup_deltas';

/**
 * Inserts `n` rows in one statement on 2026-03-0{day}: a quarter cache hits (no usage, a saving),
 * a tenth errors, streams with a first-token time; tokens and latencies vary by row.
 */
function insertRows(n: number, day: number, offset: number): string {
  return `insert into interactions (id, created_at, tenant_id, key_id, model, status, cache_status,
      stream, prompt_tokens, completion_tokens, tokens_saved_cache, cached_tokens, latency_ms, ttft_ms)
    select gen_random_uuid(), timestamptz '2026-03-0${day}T00:00:00Z' + (i || ' minutes')::interval,
      'ten_upgrade', 'key_upgrade', case when i % 3 = 0 then 'gpt-4o' else 'gpt-4o-mini' end,
      case when i % 10 = 0 then 500 else 200 end,
      case when i % 4 = 0 then 'hit' else 'miss' end,
      i % 2 = 0,
      case when i % 4 = 0 then null else 10 + i end,
      case when i % 4 = 0 then null else 3 + i % 7 end,
      case when i % 4 = 0 then 40 + i else null end,
      case when i % 5 = 0 then 4 else null end,
      1 + (i * 37 % 400) / 10.0,
      case when i % 2 = 0 then 0.5 + (i * 13 % 90) / 10.0 else null end
    from generate_series(${offset + 1}, ${offset + n}) as i`;
}

interface DayTotals {
  day: string;
  requests: number;
  errors: number;
  cache_hits: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_saved_cache: number;
  cached_tokens: number;
  latency_p50_ms: number;
  ttft_p95_ms: number;
}

const TOTALS = `select to_char(day, 'YYYY-MM-DD') as day, requests::int, errors::int,
    cache_hits::int, prompt_tokens::int, completion_tokens::int, tokens_saved_cache::int,
    cached_tokens::int, latency_p50_ms, ttft_p95_ms`;

/** The analysts' daily view, and the same numbers from the hourly one (which reads the log). */
async function viewAndLog(db: Driven): Promise<{ view: DayTotals[]; log: DayTotals[] }> {
  const view = await db.rows<DayTotals>(
    `${TOTALS} from (select day, sum(requests) as requests, sum(errors) as errors,
        sum(cache_hits) as cache_hits, sum(prompt_tokens) as prompt_tokens,
        sum(completion_tokens) as completion_tokens, sum(tokens_saved_cache) as tokens_saved_cache,
        sum(cached_tokens) as cached_tokens, 0 as latency_p50_ms, 0 as ttft_p95_ms
      from interaction_stats_daily group by day) as d order by day`,
  );
  const log = await db.rows<DayTotals>(
    `${TOTALS} from (select date_trunc('day', hour) as day, sum(requests) as requests,
        sum(errors) as errors, sum(cache_hits) as cache_hits, sum(prompt_tokens) as prompt_tokens,
        sum(completion_tokens) as completion_tokens, sum(tokens_saved_cache) as tokens_saved_cache,
        sum(cached_tokens) as cached_tokens, 0 as latency_p50_ms, 0 as ttft_p95_ms
      from interaction_stats_hourly group by 1) as d order by day`,
  );
  return { view, log };
}

/** Per day and model, the view's percentiles, which read the histograms and their deltas. */
async function percentiles(db: Driven): Promise<unknown[]> {
  return db.rows(
    `select to_char(day, 'YYYY-MM-DD') as day, model, latency_p50_ms, latency_p95_ms, ttft_p50_ms,
      ttft_p95_ms from interaction_stats_daily order by 1, 2`,
  );
}

describe.each(drivers)('upgrading to summed rollup deltas ($name)', (driver) => {
  const upgrade = upgradeDatabase(driver, BEFORE);

  it('folds the old deltas, keeps the view and its grants, and sums new deltas per statement', {
    timeout: 120_000,
  }, async () => {
    const { db, folder } = upgrade;
    await db.migrate(folder);
    // Old shape: one pending row per inserted or deleted row, some of them folded already.
    await db.rows(insertRows(300, 1, 0));
    await db.rows('select tollgate_roll_up_pending(100)');
    await db.rows(insertRows(200, 2, 300));
    await db.rows(
      `delete from interactions where created_at >= '2026-03-02T06:00:00Z' and created_at < '2026-03-02T07:00:00Z'`,
    );
    const [oldPending] = await db.rows<{ n: number }>(
      'select count(*)::int as n from interaction_rollup_pending',
    );
    expect(oldPending?.n).toBe(300 - 100 + 200 + 60);
    const role = `tollgate_upgrade_${process.pid}`;
    if (driver.name === 'postgres') {
      await db.rows(`drop role if exists ${role}`);
      await db.rows(`create role ${role} nologin`);
      await db.rows(`grant select on interaction_stats_daily to ${role}`);
    }
    const before = await viewAndLog(db);
    expect(before.view).toEqual(before.log);
    expect(before.view.map((d) => d.requests)).toEqual([300, 140]);
    const percentilesBefore = await percentiles(db);

    try {
      await db.migrate(MIGRATIONS_DIR);

      // The old deltas were folded into the rollups; the old table is gone.
      const [left] = await db.rows<{ old: string | null; counters: number; buckets: number }>(
        `select to_regclass('interaction_rollup_pending_0016')::text as old,
          (select count(*)::int from interaction_rollup_pending) as counters,
          (select count(*)::int from interaction_histogram_pending) as buckets`,
      );
      expect(left).toEqual({ old: null, counters: 0, buckets: 0 });
      expect(await viewAndLog(db)).toEqual(before);
      expect(await percentiles(db)).toEqual(percentilesBefore);
      if (driver.name === 'postgres') {
        const [grant] = await db.rows<{ ok: boolean }>(
          `select has_table_privilege('${role}', 'interaction_stats_daily', 'SELECT') as ok`,
        );
        expect(grant?.ok).toBe(true);
      }

      // New shape: a statement's 400 rows of one day, summed.
      await db.rows(insertRows(400, 3, 500));
      const [summed] = await db.rows<{ rows: number; requests: number }>(
        'select count(*)::int as rows, sum(requests)::int as requests from interaction_rollup_pending',
      );
      expect(summed?.requests).toBe(400);
      // Two models × two statuses × hit or miss, on one day.
      expect(summed?.rows).toBeLessThanOrEqual(8);
      await db.rows(
        `delete from interactions where created_at >= '2026-03-03T10:00:00Z' and created_at < '2026-03-03T11:00:00Z'`,
      );
      const pending = await viewAndLog(db);
      expect(pending.view).toEqual(pending.log);
      expect(pending.view.map((d) => d.requests)).toEqual([300, 140, 340]);

      // The fold reports the interactions it folded (inserted and deleted) and empties the deltas.
      const [fold] = await db.rows<{ moved: number; folded: string }>(
        'select moved, folded from tollgate_fold_rollup_deltas(50000)',
      );
      expect(Number(fold?.folded)).toBe(400 + 60);
      const folded = await viewAndLog(db);
      expect(folded).toEqual(pending);
      const [empty] = await db.rows<{ n: number }>(
        `select (select count(*) from interaction_rollup_pending)
          + (select count(*) from interaction_histogram_pending) as n`,
      );
      expect(Number(empty?.n)).toBe(0);
      // The previous version's fold still runs beside it.
      await db.rows(insertRows(10, 4, 900));
      const [old] = await db.rows<{ n: number }>('select tollgate_roll_up_pending(1000) as n');
      expect(old?.n).toBe(10);
    } finally {
      if (driver.name === 'postgres') {
        await db.rows(`drop owned by ${role}`);
        await db.rows(`drop role if exists ${role}`);
      }
    }
  });
});
