import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ModelPrice } from './price-list.js';
import { LIST_PRICES } from './price-list.js';

/** The prices used for cost and savings estimates, and when the newest of them was read. */
export interface PriceTable {
  asOf: string;
  models: readonly ModelPrice[];
}

/**
 * List prices (standard tier, USD per 1M tokens) of current OpenAI, Anthropic and common open
 * models, each dated. They change: check them against the providers' pages before relying on the
 * estimates, or point TOLLGATE_PRICES at a file of your own.
 */
export const DEFAULT_PRICES: PriceTable = {
  asOf:
    LIST_PRICES.map((m) => m.asOf)
      .sort()
      .at(-1) ?? '',
  models: LIST_PRICES,
};

const priceFileSchema = z.object({
  as_of: z.string().min(1),
  models: z.record(
    z.string().min(1),
    z.object({
      input_per_mtok_usd: z.number().nonnegative(),
      /** Absent: the provider has no cached rate, cached tokens cost the input price. */
      cached_input_per_mtok_usd: z.number().nonnegative().optional(),
      output_per_mtok_usd: z.number().nonnegative(),
      /** When this model's price was read; the file's as_of otherwise. */
      as_of: z.string().min(1).optional(),
      aliases: z.array(z.string().min(1)).default([]),
    }),
  ),
});

/**
 * Reads a price file: `{"as_of":"2025-06-10","models":{"gpt-4o":{"input_per_mtok_usd":2.5,
 * "cached_input_per_mtok_usd":1.25,"output_per_mtok_usd":10,"aliases":["gpt-4o-2024-08-06"]}}}`. Throws one clear line when invalid.
 */
export function loadPriceTable(file: string | undefined): PriceTable {
  if (file === undefined) return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`TOLLGATE_PRICES file ${file} cannot be read: ${(err as Error).message}`);
  }
  const result = priceFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `TOLLGATE_PRICES file ${file} is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
    );
  }
  return {
    asOf: result.data.as_of,
    models: Object.entries(result.data.models).map(([model, p]) => ({
      model,
      aliases: p.aliases,
      asOf: p.as_of ?? result.data.as_of,
      inputPerMTokUsd: p.input_per_mtok_usd,
      cachedInputPerMTokUsd: p.cached_input_per_mtok_usd ?? p.input_per_mtok_usd,
      outputPerMTokUsd: p.output_per_mtok_usd,
    })),
  };
}

/** One model name's prices, as the SQL lookups (summary, views) take them. */
export interface PriceLookupRow {
  name: string;
  input: number;
  cachedInput: number;
  output: number;
  asOf: string;
}

/** Every name of a table, aliases included, with its prices, for a SQL lookup. */
export function priceRows(table: PriceTable): PriceLookupRow[] {
  const seen = new Set<string>();
  return table.models.flatMap((m) =>
    [m.model, ...m.aliases]
      // The first entry of a name wins, as findPrice does.
      .filter((name) => !seen.has(name) && seen.add(name))
      .map((name) => ({
        name,
        input: m.inputPerMTokUsd,
        cachedInput: m.cachedInputPerMTokUsd,
        output: m.outputPerMTokUsd,
        asOf: m.asOf,
      })),
  );
}

/** The price of a model (or of one of its aliases); undefined when the table has none. */
export function findPrice(table: PriceTable, model: string): ModelPrice | undefined {
  return table.models.find((m) => m.model === model || m.aliases.includes(model));
}
