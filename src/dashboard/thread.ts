import { getJson } from './api.js';
import { byId, el, messageOf } from './dom.js';
import { fmt, usd } from './format.js';
import type { Turn } from './turns.js';
import { requestTurns, responseTurns } from './turns.js';
import type { Session, SessionThread, ThreadEntry } from './types.js';

/** Interactions read per page of a thread. */
const THREAD_PAGE = 100;

function utc(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

function turn(t: Turn): HTMLElement {
  return el('div', { class: `turn ${t.role}`, 'data-role': t.role }, el('b', {}, t.role), t.text);
}

function meta(e: ThreadEntry): HTMLElement {
  const tokens = `${e.prompt_tokens ?? '–'} + ${e.completion_tokens ?? '–'} tokens`;
  return el(
    'p',
    { class: 'note' },
    `${utc(e.created_at)} · ${e.endpoint ?? 'request'} · ${e.model} · status ${e.status} · `,
    `${tokens} · ${fmt(e.latency_ms)} ms · ${e.id}`,
  );
}

/** One interaction of the thread: its turns when the key may read them, else its metadata. */
function entry(e: ThreadEntry): HTMLElement {
  const box = el('div', { class: 'exchange', 'data-id': e.id }, meta(e));
  if (!('content_status' in e)) return box;
  if (e.content_status === 'ok' && e.content) {
    box.append(...requestTurns(e.content.request).map(turn));
    box.append(...responseTurns(e.content.response).map(turn));
  } else {
    box.append(
      el(
        'p',
        { class: 'muted' },
        e.content_status === 'tenant_forgotten'
          ? 'The tenant has been forgotten: its text is unreadable.'
          : 'No text was stored for this interaction.',
      ),
    );
  }
  return box;
}

function heading(s: Session, canRead: boolean): HTMLElement[] {
  return [
    el('h2', {}, `Session ${s.id}`),
    el(
      'p',
      { class: 'note' },
      `${utc(s.first_at)} – ${utc(s.last_at)} UTC · ${fmt(s.requests)} requests · `,
      `${fmt(s.prompt_tokens + s.completion_tokens)} tokens · ${usd(s.estimated_cost_usd)} · `,
      `${s.errors} errors · ${s.models.join(', ')}`,
    ),
    canRead
      ? el('p', { class: 'note' }, 'Reading this thread is recorded in the audit log.')
      : el('p', { class: 'note' }, 'This key may read metadata only (no analytics:content scope).'),
  ];
}

async function page(s: Session, cursor: string | null): Promise<SessionThread> {
  const q = new URLSearchParams({ tenant_id: s.tenant_id, limit: String(THREAD_PAGE) });
  if (cursor) q.set('cursor', cursor);
  return getJson<SessionThread>(`/analytics/sessions/${encodeURIComponent(s.id)}?${q}`);
}

/** Shows one session as a thread, oldest interaction first, a page at a time. */
export async function openThread(s: Session): Promise<void> {
  const box = byId('thread', HTMLDivElement);
  box.hidden = false;
  box.replaceChildren(el('p', {}, 'Loading…'));
  try {
    const first = await page(s, null);
    const canRead = first.data.some((e) => 'content_status' in e);
    const list = el('div', { class: 'exchanges' }, ...first.data.map(entry));
    const more = el('button', { type: 'button', id: 'thread-more' }, 'Show more');
    let cursor = first.next_cursor;
    more.hidden = !first.has_more;
    more.addEventListener('click', () => {
      page(s, cursor)
        .then((next) => {
          list.append(...next.data.map(entry));
          cursor = next.next_cursor;
          more.hidden = !next.has_more;
        })
        .catch((err: unknown) => more.replaceWith(el('p', { class: 'error' }, messageOf(err))));
    });
    box.replaceChildren(...heading(first, canRead), list, more);
    box.dataset.session = s.id;
  } catch (err) {
    box.replaceChildren(el('p', { class: 'error' }, messageOf(err)));
  }
}

/** Hides the thread (after the filters change). */
export function closeThread(): void {
  const box = byId('thread', HTMLDivElement);
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.session;
}
