import { byId, el } from './dom.js';
import { fmt, ms, pct, usd } from './format.js';
import type { Summary } from './types.js';

function costNote(unpriced: number, pricesAsOf: string): string {
  if (unpriced === 0) return `all requests priced (prices of ${pricesAsOf})`;
  const requests = unpriced === 1 ? 'request' : 'requests';
  return `excludes ${fmt(unpriced)} unpriced ${requests} (model not in prices of ${pricesAsOf})`;
}

/** How much of the token total is the gateway's estimate, marked `~N` as the log marks it. */
function tokensNote(estimatedTokens: number, estimatedRequests: number): string | undefined {
  if (estimatedRequests === 0) return undefined;
  const requests = estimatedRequests === 1 ? 'request' : 'requests';
  return `includes ~${fmt(estimatedTokens)} estimated by the gateway (${fmt(estimatedRequests)} ${requests} without the provider's usage)`;
}

/** Fills the headline tiles from the summary's totals. */
export function drawTiles(s: Summary): void {
  const t = s.totals;
  const items: [string, string, string?][] = [
    ['Requests', fmt(t.requests)],
    ['Error rate', pct(t.error_rate)],
    ['Cache hit rate', pct(t.cache_hit_rate)],
    [
      'Tokens',
      fmt(t.prompt_tokens + t.completion_tokens),
      tokensNote(t.usage_estimated_tokens, t.usage_estimated_requests),
    ],
    ['Tokens saved', fmt(t.tokens_saved_cache + t.tokens_saved_compression)],
    ['Estimated cost', usd(t.estimated_cost_usd), costNote(t.unpriced_requests, s.prices_as_of)],
    ['Estimated savings', usd(t.estimated_savings_usd)],
    ['Latency p50 / p95', `${ms(t.latency_p50_ms)} / ${ms(t.latency_p95_ms)}`],
    ['TTFT p50 / p95', `${ms(t.ttft_p50_ms)} / ${ms(t.ttft_p95_ms)}`],
  ];
  byId('tiles', HTMLDivElement).replaceChildren(
    ...items.map(([k, v, note]) =>
      el(
        'div',
        { class: 'tile', 'data-tile': k },
        el('div', { class: 'k' }, k),
        el('div', { class: 'v' }, v),
        note === undefined ? '' : el('div', { class: 'note' }, note),
      ),
    ),
  );
}
