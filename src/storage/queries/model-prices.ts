import { notInArray, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { modelPrices } from '../schema.js';

/** One model name's prices in US dollars per million tokens. */
export interface ModelPriceRow {
  name: string;
  input: number;
  cachedInput: number;
  output: number;
  asOf: string;
}

/**
 * Makes the price table the analysts' views read equal to the gateway's own, in one transaction
 * (a view never sees it half written). Upserts, so gateways starting at once on one database do
 * not collide; each writes its table at start-up and the last to start wins, so they should share
 * one price file.
 */
export async function replaceModelPrices(
  db: Database,
  rows: readonly ModelPriceRow[],
): Promise<void> {
  await db.transaction(async (tx) => {
    if (rows.length === 0) {
      await tx.delete(modelPrices);
      return;
    }
    await tx
      .insert(modelPrices)
      .values(
        rows.map((r) => ({
          name: r.name,
          inputPerMTokUsd: r.input,
          cachedInputPerMTokUsd: r.cachedInput,
          outputPerMTokUsd: r.output,
          asOf: r.asOf,
        })),
      )
      .onConflictDoUpdate({
        target: modelPrices.name,
        set: {
          inputPerMTokUsd: sql`excluded.input_per_mtok_usd`,
          cachedInputPerMTokUsd: sql`excluded.cached_input_per_mtok_usd`,
          outputPerMTokUsd: sql`excluded.output_per_mtok_usd`,
          asOf: sql`excluded.as_of`,
        },
      });
    await tx.delete(modelPrices).where(
      notInArray(
        modelPrices.name,
        rows.map((r) => r.name),
      ),
    );
  });
}
