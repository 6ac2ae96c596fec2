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
 * Replaces the price table the analysts' views read with the gateway's own, in one transaction
 * (a view never sees it half written). Several gateways on one database each write theirs at
 * start-up: the last to start wins, so they should share one price file.
 */
export async function replaceModelPrices(
  db: Database,
  rows: readonly ModelPriceRow[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(modelPrices);
    if (rows.length === 0) return;
    await tx.insert(modelPrices).values(
      rows.map((r) => ({
        name: r.name,
        inputPerMTokUsd: r.input,
        cachedInputPerMTokUsd: r.cachedInput,
        outputPerMTokUsd: r.output,
        asOf: r.asOf,
      })),
    );
  });
}
