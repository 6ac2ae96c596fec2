import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/storage/database.js';
import { type Driven, drivers, upgradeDatabase } from '../helpers/migration-upgrade.js';

/**
 * Upgrading to migration 0018 (a cache hit's saving split into prompt and completion tokens): the
 * hits recorded before keep their saving priced at the input rate, hits recorded after price their
 * completion tokens at the output rate, unpriced_requests leaves out requests that spent nothing,
 * and the analysts' views keep their grants; the daily view (rollups and deltas) and the hourly
 * one (the log) agree before and after a fold.
 */

const BEFORE = '0018_cache_saving_split';
const TENANT = 'ten_split';

/** gpt-4o-mini: $0.15 in, $0.075 cached in, $0.60 out per million tokens. */
const PRICE = `insert into model_prices (name, input_per_mtok_usd, cached_input_per_mtok_usd,
    output_per_mtok_usd, as_of) values ('gpt-4o-mini', 0.15, 0.075, 0.6, '2025-11-24')`;

/** One row on 2026-04-01 at `minute`, with the given columns. */
function row(minute: number, columns: Record<string, string>): string {
  const names = ['id', 'created_at', 'tenant_id', 'key_id', 'latency_ms', ...Object.keys(columns)];
  const values = [
    'gen_random_uuid()',
    `timestamptz '2026-04-01T00:00:00Z' + interval '${minute} minutes'`,
    `'${TENANT}'`,
    `'key_split'`,
    '12.5',
    ...Object.values(columns),
  ];
  return `insert into interactions (${names.join(', ')}) values (${values.join(', ')})`;
}

/** Rows any version writes: a miss, and requests of a model without a price. */
const COMMON = [
  row(1, {
    model: `'gpt-4o-mini'`,
    status: '200',
    cache_status: `'miss'`,
    prompt_tokens: '100',
    completion_tokens: '50',
  }),
  row(2, {
    model: `'house-model'`,
    status: '200',
    cache_status: `'miss'`,
    prompt_tokens: '10',
    completion_tokens: '5',
  }),
  row(3, { model: `'house-model'`, status: '400' }),
  row(4, { model: 'null', status: '400' }),
  row(5, { model: `'house-model'`, status: '502' }),
];

/** A hit as the previous version recorded it: no usage, the saved total. */
const OLD_HIT = row(6, {
  model: `'gpt-4o-mini'`,
  status: '200',
  cache_status: `'hit'`,
  tokens_saved_cache: '3000',
});

/** A hit as this version records it: the saved total and its completion tokens. */
const NEW_HIT = row(7, {
  model: `'gpt-4o-mini'`,
  status: '200',
  cache_status: `'semantic-hit'`,
  tokens_saved_cache: '3000',
  tokens_saved_cache_completion: '1000',
});

interface Money {
  requests: number;
  unpriced: number;
  saved_usd: number;
}

/** The day's totals in each analysts' view. */
async function views(db: Driven): Promise<{ daily: Money[]; hourly: Money[] }> {
  const read = (view: string) =>
    db.rows<Money>(
      `select sum(requests)::int as requests, sum(unpriced_requests)::int as unpriced,
        sum(savings_cache_usd)::float8 as saved_usd from ${view} where tenant_id = '${TENANT}'`,
    );
  return {
    daily: await read('interaction_stats_daily'),
    hourly: await read('interaction_stats_hourly'),
  };
}

const OLD_HIT_USD = (3000 * 0.15) / 1e6;
const NEW_HIT_USD = (2000 * 0.15 + 1000 * 0.6) / 1e6;

describe.each(drivers)('upgrading to split cache savings ($name)', (driver) => {
  const upgrade = upgradeDatabase(driver, BEFORE);

  it('keeps old hits at the input rate, prices new ones split, and counts only spent requests as unpriced', {
    timeout: 120_000,
  }, async () => {
    const { db, folder } = upgrade;
    await db.migrate(folder);
    await db.rows(PRICE);
    for (const statement of [...COMMON, OLD_HIT]) await db.rows(statement);
    const role = `tollgate_split_${process.pid}`;
    if (driver.name === 'postgres') {
      await db.rows(`drop role if exists ${role}`);
      await db.rows(`create role ${role} nologin`);
      await db.rows(`grant select on interaction_stats_daily, interaction_stats_hourly to ${role}`);
    }
    const before = await views(db);
    // The previous version counted every request of an unpriced model, spent or not.
    expect(before.daily[0]).toMatchObject({ requests: 6, unpriced: 4 });

    try {
      await db.migrate(MIGRATIONS_DIR);
      await db.rows(NEW_HIT);
      for (const moment of ['deltas pending', 'folded']) {
        const after = await views(db);
        expect(after.daily, moment).toEqual(after.hourly);
        const [day] = after.daily;
        // The answered request of the unpriced model left money out; the refused and the failed
        // ones spent nothing.
        expect(day, moment).toMatchObject({ requests: 7, unpriced: 1 });
        expect(day?.saved_usd, moment).toBeCloseTo(OLD_HIT_USD + NEW_HIT_USD, 12);
        await db.rows('select tollgate_fold_rollup_deltas(1000)');
      }
      if (driver.name === 'postgres') {
        const [grant] = await db.rows<{ daily: boolean; hourly: boolean }>(
          `select has_table_privilege('${role}', 'interaction_stats_daily', 'SELECT') as daily,
            has_table_privilege('${role}', 'interaction_stats_hourly', 'SELECT') as hourly`,
        );
        expect(grant).toEqual({ daily: true, hourly: true });
      }
    } finally {
      if (driver.name === 'postgres') {
        await db.rows(`drop owned by ${role}`);
        await db.rows(`drop role if exists ${role}`);
      }
    }
  });
});
