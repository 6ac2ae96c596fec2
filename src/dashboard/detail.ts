import { getJson } from './api.js';
import { byId, el, messageOf } from './dom.js';
import { isRecord } from './is-record.js';
import type { InteractionDetail } from './types.js';

function text(content: unknown): string {
  return typeof content === 'string' ? content : JSON.stringify(content, null, 2);
}

function message(role: string, content: unknown): HTMLElement {
  return el('div', { class: 'msg' }, el('b', {}, role), text(content));
}

/** A request's messages or a response's choices as readable turns; anything else as JSON. */
function messageList(value: unknown): HTMLElement[] {
  const out: HTMLElement[] = [];
  const messages = isRecord(value) && Array.isArray(value.messages) ? value.messages : [];
  const choices = isRecord(value) && Array.isArray(value.choices) ? value.choices : [];
  for (const m of messages) {
    out.push(message(isRecord(m) ? String(m.role) : '?', isRecord(m) ? m.content : m));
  }
  for (const c of choices) {
    out.push(message('assistant', isRecord(c) && isRecord(c.message) ? c.message.content : c));
  }
  if (out.length === 0) out.push(el('pre', {}, JSON.stringify(value, null, 2)));
  return out;
}

function contentParts(d: InteractionDetail): HTMLElement[] {
  if (!('content_status' in d)) {
    return [el('p', {}, 'This key may read metadata only (no analytics:content scope).')];
  }
  if (d.content_status === 'ok' && d.content) {
    return [
      el('h3', {}, 'Request'),
      ...messageList(d.content.request),
      el('h3', {}, 'Response'),
      ...messageList(d.content.response),
    ];
  }
  return [
    el(
      'p',
      {},
      d.content_status === 'tenant_forgotten'
        ? 'The tenant has been forgotten: its text is unreadable.'
        : 'No text was stored for this interaction.',
    ),
  ];
}

/** Opens the side panel with one interaction: its text (if the key may read it) and metadata. */
export async function openDetail(id: string): Promise<void> {
  const box = byId('detail-body', HTMLDivElement);
  box.replaceChildren(el('p', {}, 'Loading…'));
  byId('detail', HTMLElement).hidden = false;
  try {
    const d = await getJson<InteractionDetail>(`/analytics/interactions/${encodeURIComponent(id)}`);
    const { content: _content, ...meta } = d;
    box.replaceChildren(
      el('h2', {}, `Interaction ${d.id}`),
      ...contentParts(d),
      el('h3', {}, 'Metadata'),
      el('pre', {}, JSON.stringify(meta, null, 2)),
    );
  } catch (err) {
    box.replaceChildren(el('p', { class: 'error' }, messageOf(err)));
  }
}
