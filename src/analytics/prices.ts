import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** What one model costs, in US dollars per million tokens. */
export interface ModelPrice {
  model: string;
  /** Other names billed at the same price (dated snapshots). */
  aliases: readonly string[];
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
}

/** The prices used for cost and savings estimates, and when they were taken. */
export interface PriceTable {
  asOf: string;
  models: readonly ModelPrice[];
}

/**
 * OpenAI list prices (standard tier, USD per 1M tokens) as known on 2025-06-10. They change: check
 * them against https://openai.com/api/pricing before relying on the estimates, or point
 * TOLLGATE_PRICES at a file of your own.
 */
export const DEFAULT_PRICES: PriceTable = {
  asOf: '2025-06-10',
  models: [
    price('gpt-4o', 2.5, 10, ['gpt-4o-2024-08-06', 'gpt-4o-2024-11-20', 'gpt-4o-2024-05-13']),
    price('gpt-4o-mini', 0.15, 0.6, ['gpt-4o-mini-2024-07-18']),
    price('gpt-4.1', 2, 8, ['gpt-4.1-2025-04-14']),
    price('gpt-4.1-mini', 0.4, 1.6, ['gpt-4.1-mini-2025-04-14']),
    price('gpt-4.1-nano', 0.1, 0.4, ['gpt-4.1-nano-2025-04-14']),
    price('o3', 2, 8, ['o3-2025-04-16']),
    price('o4-mini', 1.1, 4.4, ['o4-mini-2025-04-16']),
    price('gpt-3.5-turbo', 0.5, 1.5, ['gpt-3.5-turbo-0125']),
  ],
};

function price(model: string, input: number, output: number, aliases: string[]): ModelPrice {
  return { model, aliases, inputPerMTokUsd: input, outputPerMTokUsd: output };
}

const priceFileSchema = z.object({
  as_of: z.string().min(1),
  models: z.record(
    z.string().min(1),
    z.object({
      input_per_mtok_usd: z.number().nonnegative(),
      output_per_mtok_usd: z.number().nonnegative(),
      aliases: z.array(z.string().min(1)).default([]),
    }),
  ),
});

/**
 * Reads a price file: `{"as_of":"2025-06-10","models":{"gpt-4o":{"input_per_mtok_usd":2.5,
 * "output_per_mtok_usd":10,"aliases":["gpt-4o-2024-08-06"]}}}`. Throws one clear line when invalid.
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
    models: Object.entries(result.data.models).map(([model, p]) =>
      price(model, p.input_per_mtok_usd, p.output_per_mtok_usd, p.aliases),
    ),
  };
}

/** Every (name, input, output) pair of a table, aliases included, for a SQL lookup. */
export function priceRows(table: PriceTable): { name: string; input: number; output: number }[] {
  return table.models.flatMap((m) =>
    [m.model, ...m.aliases].map((name) => ({
      name,
      input: m.inputPerMTokUsd,
      output: m.outputPerMTokUsd,
    })),
  );
}
