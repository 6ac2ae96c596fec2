import { byId, el } from './dom.js';
import { fmt, usd } from './format.js';
import type { Summary } from './types.js';

/** One line of the savings table: what it is, requests it answered (if any), tokens and money. */
type SavingsLine = [kind: string, requests: number | null, tokens: number, money: number];

function row([kind, requests, tokens, money]: SavingsLine): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-kind': kind },
    el('td', {}, kind),
    el('td', {}, requests === null ? '–' : fmt(requests)),
    el('td', {}, fmt(tokens)),
    el('td', {}, usd(money)),
  );
}

/**
 * The savings block: answers from Tollgate's cache (exact and semantic hits), tokens compression
 * removed, and prompt tokens the provider served from its own cache, side by side with a total.
 */
export function drawSavings(s: Summary): void {
  const v = s.totals.savings;
  const lines: SavingsLine[] = [
    ['Exact cache hits', v.exact_cache.requests, v.exact_cache.tokens, v.exact_cache.usd],
    [
      'Semantic cache hits',
      v.semantic_cache.requests,
      v.semantic_cache.tokens,
      v.semantic_cache.usd,
    ],
    ['Compression', null, v.compression.tokens, v.compression.usd],
    ['Provider prompt cache', null, v.provider_cache.tokens, v.provider_cache.usd],
  ];
  const tokens = lines.reduce((sum, line) => sum + line[2], 0);
  const table = byId('savings', HTMLTableElement);
  table.tBodies[0]?.replaceChildren(...lines.map(row));
  table.querySelector('tfoot')?.remove();
  table.append(el('tfoot', {}, row(['Total', null, tokens, v.total_usd])));
  const unpriced = s.totals.unpriced_requests;
  byId('savings-note', HTMLParagraphElement).textContent =
    `Money at the prices of ${s.prices_as_of}` +
    (unpriced === 0 ? '.' : `; ${fmt(unpriced)} requests of unpriced models are left out.`) +
    ' Provider prompt cache: input tokens billed at the cached rate instead of the full one.';
}
