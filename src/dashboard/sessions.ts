import type { Access } from './access.js';
import { getJson } from './api.js';
import { byId, el } from './dom.js';
import { filterQuery } from './filters.js';
import { cost, fmt } from './format.js';
import { openThread } from './thread.js';
import type { Page, Session } from './types.js';

/** Cursors of the session pages seen so far (index 0 = most recent), so "Newer" can step back. */
const paging: { cursors: (string | null)[]; page: number } = { cursors: [null], page: 0 };

function keyCell(s: Session, access: Access): HTMLTableCellElement {
  const names = s.key_ids.map((id) => access.keyNames.get(id) ?? id);
  return el('td', { title: s.key_ids.join(', ') }, names.join(', '));
}

function row(s: Session, access: Access): HTMLTableRowElement {
  const tr = el(
    'tr',
    { 'data-session': s.id },
    el('td', {}, s.last_at.replace('T', ' ').replace('Z', '')),
    el('td', {}, s.id),
    el('td', { class: 'num' }, fmt(s.requests)),
    el('td', { class: 'num' }, fmt(s.prompt_tokens + s.completion_tokens)),
    el('td', { class: 'num' }, cost(s.estimated_cost_usd, s.unpriced_requests)),
    el('td', { class: s.errors > 0 ? 'num bad' : 'num' }, fmt(s.errors)),
    el('td', {}, s.models.join(', ')),
    keyCell(s, access),
    el('td', {}, s.first_at.replace('T', ' ').replace('Z', '')),
  );
  tr.addEventListener('click', () => void openThread(s));
  return tr;
}

/** Loads the current page of sessions (most recently active first) into the table. */
export async function loadSessions(access: Access): Promise<void> {
  const q = filterQuery();
  q.set('limit', '50');
  const cursor = paging.cursors[paging.page];
  if (cursor) q.set('cursor', cursor);
  const page = await getJson<Page<Session>>(`/analytics/sessions?${q}`);
  const body = byId('session-list', HTMLTableElement).tBodies[0];
  body?.replaceChildren(...page.data.map((s) => row(s, access)));
  paging.cursors[paging.page + 1] = page.next_cursor;
  byId('sessions-older', HTMLButtonElement).disabled = !page.has_more;
  byId('sessions-newer', HTMLButtonElement).disabled = paging.page === 0;
  byId('sessions-info', HTMLSpanElement).textContent =
    page.data.length === 0 && paging.page === 0
      ? 'No sessions match these filters. Requests join one with the x-tollgate-session-id header.'
      : `Page ${paging.page + 1} · ${page.data.length} sessions`;
}

/** Starts the list again from its most recent page (after the filters change). */
export function resetSessions(): void {
  paging.cursors = [null];
  paging.page = 0;
}

/** Moves one page older (+1) or newer (-1). */
export function stepSessions(by: 1 | -1, access: Access): Promise<void> {
  paging.page = Math.max(0, paging.page + by);
  return loadSessions(access);
}
