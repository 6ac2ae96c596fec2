import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { type Driven, drivers, upgradeDatabase } from '../helpers/migration-upgrade.js';

/**
 * Upgrading to migration 0025 (the provider as a dimension of the daily rollups): rows recorded
 * before it, folded into the rollups or still pending, inserted or deleted, are counted under
 * their own provider, exactly as the log holds them, and so are rows recorded after it.
 */

const BEFORE = '0025_analytics_provider';
const TENANT = 'ten_provider';
const PROVIDERS = ["'primary'", "'backup'", 'null'];

/** `n` rows from `first` on, a minute apart from 2026-06-01T22:00Z: providers, hits and latencies mixed. */
function insertRows(n: number, first: number): string {
  return `insert into interactions (id, created_at, tenant_id, key_id, latency_ms, ttft_ms, model,
      upstream_model, provider, status, cache_status, prompt_tokens, completion_tokens,
      tokens_saved_cache)
    select gen_random_uuid(), timestamptz '2026-06-01T22:00:00Z' + i * interval '1 minute',
      '${TENANT}', 'key_provider', 3 + (i % 97) * 7.5, case when i % 3 = 0 then null else 1 + i % 13 end,
      'gpt-4o-mini', case when i % 5 = 4 then null else 'gpt-4o-mini-2024-07-18' end,
      (array[${PROVIDERS.join(', ')}])[1 + i % 3],
      case when i % 5 = 4 then 400 when i % 7 = 0 then 502 else 200 end,
      case when i % 4 = 0 then 'hit' when i % 5 = 4 then null else 'miss' end,
      case when i % 4 = 0 then null else 100 + i end, case when i % 4 = 0 then null else 10 + i % 9 end,
      case when i % 4 = 0 then 150 + i else null end
    from generate_series(${first}, ${first + n - 1}) as i`;
}

interface Counts {
  day: string;
  provider: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_saved_cache: number;
}

const COUNTS = `sum(requests)::int as requests, sum(prompt_tokens)::int as prompt_tokens,
  sum(completion_tokens)::int as completion_tokens, sum(tokens_saved_cache)::int as tokens_saved_cache`;

/** Per day and provider, what the summary reads for whole days: the rollups and their deltas. */
async function rolledUp(db: Driven): Promise<{ counts: Counts[]; buckets: unknown[] }> {
  const counts = await db.rows<Counts>(
    `select to_char(day, 'YYYY-MM-DD') as day, provider, ${COUNTS}
    from (select day, provider, requests, prompt_tokens, completion_tokens, tokens_saved_cache
      from interaction_rollups_daily where tenant_id = '${TENANT}'
      union all select day, provider, requests, prompt_tokens, completion_tokens, tokens_saved_cache
      from interaction_rollup_pending where tenant_id = '${TENANT}') as parts
    group by 1, 2 having sum(requests) <> 0 order by 1, 2`,
  );
  const buckets = await db.rows(
    `select provider, metric, bucket, sum(requests)::int as n
    from (select provider, metric, bucket, requests from interaction_histograms_daily
      where tenant_id = '${TENANT}'
      union all select provider, metric, bucket, requests from interaction_histogram_pending
      where tenant_id = '${TENANT}') as parts
    group by 1, 2, 3 having sum(requests) <> 0 order by 1, 2, 3`,
  );
  return { counts, buckets };
}

/** The same, added up from the log itself as the rollups' trigger counts each row. */
async function fromLog(db: Driven): Promise<{ counts: Counts[]; buckets: unknown[] }> {
  const counts = await db.rows<Counts>(
    `select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
      provider, count(*)::int as requests, sum(coalesce(prompt_tokens, 0))::int as prompt_tokens,
      sum(coalesce(completion_tokens, 0))::int as completion_tokens,
      sum(coalesce(tokens_saved_cache, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)))::int
        as tokens_saved_cache
    from interactions where tenant_id = '${TENANT}' group by 1, 2 order by 1, 2`,
  );
  const buckets = await db.rows(
    `select provider, m.metric, tollgate_latency_bucket(case m.metric when 0 then latency_ms else ttft_ms end) as bucket,
      count(*)::int as n
    from interactions cross join (values (0::smallint), (1::smallint)) as m(metric)
    where tenant_id = '${TENANT}' and (case m.metric when 0 then latency_ms else ttft_ms end) is not null
    group by 1, 2, 3 order by 1, 2, 3`,
  );
  return { counts, buckets };
}

describe.each(drivers)('upgrading to rollups per provider ($name)', (driver) => {
  const upgrade = upgradeDatabase(driver, BEFORE);

  it('counts the rows recorded before the upgrade, folded or pending, under their own provider', {
    timeout: 120_000,
  }, async () => {
    const { db, folder } = upgrade;
    await db.migrate(folder);
    await db.rows(insertRows(300, 0));
    await db.rows('select tollgate_fold_rollup_deltas(100000)');
    // Recorded and deleted before the upgrade, and not folded yet: their deltas are pending.
    await db.rows(insertRows(200, 300));
    await db.rows(
      `delete from interactions where created_at >= '2026-06-02T01:00:00Z' and created_at < '2026-06-02T02:00:00Z'`,
    );
    const role = `tollgate_provider_upgrade_${process.pid}`;
    if (driver.name === 'postgres') {
      await db.rows(`drop role if exists ${role}`);
      await db.rows(`create role ${role} nologin`);
      await db.rows(`grant select on interaction_stats_daily, interaction_stats_hourly to ${role}`);
    }
    const [viewBefore] = await db.rows<{ requests: number }>(
      `select sum(requests)::int as requests from interaction_stats_daily where tenant_id = '${TENANT}'`,
    );

    try {
      await db.migrate(MIGRATIONS_DIR);
      const log = await fromLog(db);
      expect(log.counts.map((c) => c.provider)).toContain(null);
      expect(log.counts.reduce((t, c) => t + c.requests, 0)).toBe(500 - 60);
      expect(await rolledUp(db)).toEqual(log);
      const [left] = await db.rows<{ n: number }>(
        `select (select count(*) from interaction_rollup_pending)
          + (select count(*) from interaction_histogram_pending) as n`,
      );
      expect(Number(left?.n)).toBe(0);
      // The analysts' views read the rebuilt rollups, their grants untouched.
      for (const view of ['interaction_stats_daily', 'interaction_stats_hourly']) {
        const [after] = await db.rows<{ requests: number }>(
          `select sum(requests)::int as requests from ${view} where tenant_id = '${TENANT}'`,
        );
        expect(after, view).toEqual(viewBefore);
        if (driver.name === 'postgres') {
          const [grant] = await db.rows<{ ok: boolean }>(
            `select has_table_privilege('${role}', '${view}', 'SELECT') as ok`,
          );
          expect(grant?.ok, view).toBe(true);
        }
      }

      // Rows recorded and deleted after the upgrade, pending and then folded.
      await db.rows(insertRows(150, 500));
      await db.rows(
        `delete from interactions where created_at >= '2026-06-01T22:00:00Z' and created_at < '2026-06-01T22:30:00Z'`,
      );
      for (const moment of ['deltas pending', 'folded']) {
        expect(await rolledUp(db), moment).toEqual(await fromLog(db));
        await db.rows('select tollgate_fold_rollup_deltas(100000)');
      }
      // The provider is counted by the rollups: write-once like the rest.
      await expect(db.rows(`update interactions set provider = 'backup'`)).rejects.toThrow(
        /write-once/,
      );
    } finally {
      if (driver.name === 'postgres') {
        await db.rows(`drop owned by ${role}`);
        await db.rows(`drop role if exists ${role}`);
      }
    }
  });
});
