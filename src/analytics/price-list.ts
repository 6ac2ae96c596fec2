/** What one model costs, in US dollars per million tokens. */
export interface ModelPrice {
  model: string;
  /** Other names billed at the same price (dated snapshots). */
  aliases: readonly string[];
  /** When the price was read from the provider's price list (YYYY-MM-DD). */
  asOf: string;
  inputPerMTokUsd: number;
  /** Input tokens the provider served from its own prompt cache. */
  cachedInputPerMTokUsd: number;
  outputPerMTokUsd: number;
}

/**
 * One list price, US dollars per million tokens: input, input the provider served from its
 * prompt cache, output; `asOf` is when the price was read from the provider's price list.
 */
function listed(
  model: string,
  asOf: string,
  usd: { input: number; cached: number; output: number },
  aliases: readonly string[] = [],
): ModelPrice {
  return {
    model,
    aliases,
    asOf,
    inputPerMTokUsd: usd.input,
    cachedInputPerMTokUsd: usd.cached,
    outputPerMTokUsd: usd.output,
  };
}

/** OpenAI's standard tier (https://openai.com/api/pricing). */
const OPENAI: readonly ModelPrice[] = [
  listed('gpt-5.1', '2025-11-13', { input: 1.25, cached: 0.125, output: 10 }, [
    'gpt-5.1-2025-11-13',
    'gpt-5.1-chat-latest',
    'gpt-5.1-codex',
  ]),
  listed('gpt-5', '2025-08-07', { input: 1.25, cached: 0.125, output: 10 }, [
    'gpt-5-2025-08-07',
    'gpt-5-chat-latest',
    'gpt-5-codex',
  ]),
  listed('gpt-5-mini', '2025-08-07', { input: 0.25, cached: 0.025, output: 2 }, [
    'gpt-5-mini-2025-08-07',
  ]),
  listed('gpt-5-nano', '2025-08-07', { input: 0.05, cached: 0.005, output: 0.4 }, [
    'gpt-5-nano-2025-08-07',
  ]),
  listed('gpt-4.1', '2025-04-14', { input: 2, cached: 0.5, output: 8 }, ['gpt-4.1-2025-04-14']),
  listed('gpt-4.1-mini', '2025-04-14', { input: 0.4, cached: 0.1, output: 1.6 }, [
    'gpt-4.1-mini-2025-04-14',
  ]),
  listed('gpt-4.1-nano', '2025-04-14', { input: 0.1, cached: 0.025, output: 0.4 }, [
    'gpt-4.1-nano-2025-04-14',
  ]),
  listed('gpt-4o', '2025-06-10', { input: 2.5, cached: 1.25, output: 10 }, [
    'gpt-4o-2024-08-06',
    'gpt-4o-2024-11-20',
    'chatgpt-4o-latest',
  ]),
  listed('gpt-4o-2024-05-13', '2025-06-10', { input: 5, cached: 5, output: 15 }),
  listed('gpt-4o-mini', '2025-06-10', { input: 0.15, cached: 0.075, output: 0.6 }, [
    'gpt-4o-mini-2024-07-18',
  ]),
  listed('o3', '2025-06-10', { input: 2, cached: 0.5, output: 8 }, ['o3-2025-04-16']),
  listed('o4-mini', '2025-04-16', { input: 1.1, cached: 0.275, output: 4.4 }, [
    'o4-mini-2025-04-16',
  ]),
  listed('o3-mini', '2025-01-31', { input: 1.1, cached: 0.55, output: 4.4 }, [
    'o3-mini-2025-01-31',
  ]),
  listed('o1', '2024-12-17', { input: 15, cached: 7.5, output: 60 }, ['o1-2024-12-17']),
  listed('gpt-3.5-turbo', '2025-06-10', { input: 0.5, cached: 0.5, output: 1.5 }, [
    'gpt-3.5-turbo-0125',
  ]),
  // Embeddings bill input tokens only.
  listed('text-embedding-3-small', '2024-01-25', { input: 0.02, cached: 0.02, output: 0 }),
  listed('text-embedding-3-large', '2024-01-25', { input: 0.13, cached: 0.13, output: 0 }),
  listed('text-embedding-ada-002', '2024-01-25', { input: 0.1, cached: 0.1, output: 0 }),
];

/**
 * Anthropic's models through an OpenAI-compatible endpoint (https://www.anthropic.com/pricing):
 * "cached" is the cache-read rate; cache writes (1.25× input) are not modelled.
 */
const ANTHROPIC: readonly ModelPrice[] = [
  listed('claude-opus-4-5', '2025-11-24', { input: 5, cached: 0.5, output: 25 }, [
    'claude-opus-4-5-20251101',
  ]),
  listed('claude-opus-4-1', '2025-08-05', { input: 15, cached: 1.5, output: 75 }, [
    'claude-opus-4-1-20250805',
    'claude-opus-4-0',
    'claude-opus-4-20250514',
  ]),
  listed('claude-sonnet-4-5', '2025-09-29', { input: 3, cached: 0.3, output: 15 }, [
    'claude-sonnet-4-5-20250929',
    'claude-sonnet-4-0',
    'claude-sonnet-4-20250514',
    'claude-3-7-sonnet-latest',
    'claude-3-7-sonnet-20250219',
  ]),
  listed('claude-haiku-4-5', '2025-10-15', { input: 1, cached: 0.1, output: 5 }, [
    'claude-haiku-4-5-20251001',
  ]),
  listed('claude-3-5-haiku-latest', '2025-06-10', { input: 0.8, cached: 0.08, output: 4 }, [
    'claude-3-5-haiku-20241022',
  ]),
];

/**
 * Open-weight models at one well-known host each (prices differ between hosts: override them
 * with TOLLGATE_PRICES for yours). DeepSeek's own API (https://api-docs.deepseek.com) bills cache
 * hits; the others have no cached rate, so it equals input.
 */
const OPEN_MODELS: readonly ModelPrice[] = [
  listed('deepseek-chat', '2025-09-29', { input: 0.28, cached: 0.028, output: 0.42 }, [
    'deepseek-reasoner',
  ]),
  listed('llama-3.3-70b-versatile', '2025-06-10', { input: 0.59, cached: 0.59, output: 0.79 }, [
    'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  ]),
  listed('llama-3.1-8b-instant', '2025-06-10', { input: 0.05, cached: 0.05, output: 0.08 }),
  listed('openai/gpt-oss-120b', '2025-08-05', { input: 0.15, cached: 0.15, output: 0.75 }, [
    'gpt-oss-120b',
  ]),
  listed('openai/gpt-oss-20b', '2025-08-05', { input: 0.1, cached: 0.1, output: 0.5 }, [
    'gpt-oss-20b',
  ]),
  listed('mistral-large-latest', '2025-06-10', { input: 2, cached: 2, output: 6 }),
  listed('mistral-small-latest', '2025-06-10', { input: 0.1, cached: 0.1, output: 0.3 }),
];

/** The built-in list, newest read first within each provider. */
export const LIST_PRICES: readonly ModelPrice[] = [...OPENAI, ...ANTHROPIC, ...OPEN_MODELS];
