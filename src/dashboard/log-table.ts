import type { Access } from './access.js';
import { getJson } from './api.js';
import { openDetail } from './detail.js';
import { byId, el } from './dom.js';
import { filterQuery } from './filters.js';
import { fmt } from './format.js';
import type { Interaction, Page } from './types.js';

/** Cursors of the pages seen so far (index 0 = newest page), so "Newer" can step back. */
const paging: { cursors: (string | null)[]; page: number } = { cursors: [null], page: 0 };

/** A token count; the gateway's estimate (no usage from the provider) is shown as `~N`. */
function tokenCell(count: number | null, estimated: boolean): HTMLTableCellElement {
  if (!estimated || count === null) return el('td', {}, count);
  return el('td', { title: 'estimated by the gateway: the provider sent no usage' }, `~${count}`);
}

function row(r: Interaction, access: Access): HTMLTableRowElement {
  const tr = el(
    'tr',
    { 'data-id': r.id },
    el('td', {}, r.created_at.replace('T', ' ').replace('Z', '')),
    el('td', {}, r.model),
    el('td', { class: r.status >= 400 ? 'bad' : '' }, r.status),
    el('td', {}, r.cache_status),
    tokenCell(r.prompt_tokens, r.usage_estimated),
    tokenCell(r.completion_tokens, r.usage_estimated),
    el('td', {}, fmt(r.latency_ms)),
    el('td', {}, r.end_user),
    el('td', { title: r.key_id }, access.keyNames.get(r.key_id) ?? r.key_id),
  );
  tr.addEventListener('click', () => void openDetail(r.id));
  return tr;
}

/** Loads the current page of the interaction log into the table. */
export async function loadLog(access: Access): Promise<void> {
  const q = filterQuery();
  q.set('limit', '50');
  const cursor = paging.cursors[paging.page];
  if (cursor) q.set('cursor', cursor);
  const page = await getJson<Page<Interaction>>(`/analytics/interactions?${q}`);
  const body = byId('log', HTMLTableElement).tBodies[0];
  body?.replaceChildren(...page.data.map((r) => row(r, access)));
  paging.cursors[paging.page + 1] = page.next_cursor;
  byId('older', HTMLButtonElement).disabled = !page.has_more;
  byId('newer', HTMLButtonElement).disabled = paging.page === 0;
  byId('page-info', HTMLSpanElement).textContent =
    `Page ${paging.page + 1} · ${page.data.length} rows`;
}

/** Starts the log again from its newest page (after the filters change). */
export function resetLog(): void {
  paging.cursors = [null];
  paging.page = 0;
}

/** Moves one page older (+1) or newer (-1). */
export function stepLog(by: 1 | -1, access: Access): Promise<void> {
  paging.page = Math.max(0, paging.page + by);
  return loadLog(access);
}
