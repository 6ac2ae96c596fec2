import type { Access } from './access.js';
import { byId, el } from './dom.js';
import { setFilter } from './filters.js';
import { cost, fmt, ms, pct } from './format.js';
import { summary } from './time-summary.js';
import type { Metrics } from './types.js';

type Row = Metrics & { group: string | null };

/** Rows shown per breakdown; the rest are counted in a last line. */
const TOP = 10;

interface Breakdown {
  groupBy: 'model' | 'key' | 'end_user' | 'provider';
  table: string;
  filter: 'model' | 'key_id' | 'end_user' | 'provider';
}

const BREAKDOWNS: Breakdown[] = [
  { groupBy: 'model', table: 'by-model', filter: 'model' },
  { groupBy: 'key', table: 'by-key', filter: 'key_id' },
  { groupBy: 'end_user', table: 'by-end-user', filter: 'end_user' },
  { groupBy: 'provider', table: 'by-provider', filter: 'provider' },
];

function nameCell(b: Breakdown, group: string | null, access: Access): HTMLTableCellElement {
  // No end user given; no provider asked (refused before any upstream).
  if (group === null) return el('td', { class: 'muted' }, b.groupBy === 'model' ? '–' : '(none)');
  const name = b.groupBy === 'key' ? access.keyNames.get(group) : undefined;
  return name ? el('td', { title: group }, name) : el('td', {}, group);
}

function row(b: Breakdown, r: Row, access: Access, onPick: () => void): HTMLTableRowElement {
  const tr = el(
    'tr',
    {},
    nameCell(b, r.group, access),
    el('td', { class: 'num' }, fmt(r.requests)),
    el('td', { class: 'num' }, pct(r.error_rate)),
    el('td', { class: 'num' }, pct(r.cache_hit_rate)),
    el('td', { class: 'num' }, fmt(r.prompt_tokens + r.completion_tokens)),
    el('td', { class: 'num' }, cost(r.estimated_cost_usd, r.unpriced_requests)),
    el('td', { class: 'num' }, ms(r.latency_p95_ms)),
  );
  const group = r.group;
  if (group !== null) {
    tr.title = 'Show only these requests';
    tr.addEventListener('click', () => {
      setFilter(b.filter, group);
      onPick();
    });
  }
  return tr;
}

/**
 * Fills the model, key, end-user and provider tables: the busiest first; a click filters the page
 * to one.
 */
export async function drawBreakdowns(
  q: URLSearchParams,
  access: Access,
  onPick: () => void,
): Promise<void> {
  const results = await Promise.all(BREAKDOWNS.map((b) => summary(q, b.groupBy)));
  BREAKDOWNS.forEach((b, i) => {
    const rows = [...(results[i]?.data ?? [])].sort((x, y) => y.requests - x.requests);
    const body = byId(b.table, HTMLTableElement).tBodies[0];
    const shown = rows.slice(0, TOP).map((r) => row(b, r, access, onPick));
    const rest = rows.length - TOP;
    if (rest > 0)
      shown.push(el('tr', { class: 'more' }, el('td', { colspan: '7' }, `… ${rest} more`)));
    if (rows.length === 0) shown.push(el('tr', {}, el('td', { colspan: '7' }, 'No requests')));
    body?.replaceChildren(...shown);
  });
}
