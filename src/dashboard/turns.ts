import { isRecord } from './is-record.js';
/** One line of a conversation as the thread shows it. */
export interface Turn {
  role: string;
  text: string;
}

/** A message's content as text: strings as they are, text parts joined, other parts named. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (isRecord(part) && typeof part.text === 'string') return part.text;
        return isRecord(part) && typeof part.type === 'string' ? `[${part.type}]` : '';
      })
      .join('\n');
  }
  return content == null ? '' : JSON.stringify(content, null, 2);
}

function turnOf(item: unknown): Turn {
  if (!isRecord(item)) return { role: 'input', text: contentText(item) };
  if (typeof item.role === 'string') {
    const calls = Array.isArray(item.tool_calls) ? JSON.stringify(item.tool_calls, null, 2) : '';
    return { role: item.role, text: contentText(item.content) || calls };
  }
  return { role: typeof item.type === 'string' ? item.type : 'item', text: contentText(item) };
}

/**
 * What a request added to its conversation: each request carries the whole history, so only the
 * items after the last assistant turn are new (on the first turn, all of them).
 */
function newItems(items: readonly unknown[]): unknown[] {
  const last = items.findLastIndex((m) => isRecord(m) && m.role === 'assistant');
  return items.slice(last + 1);
}

/** The turns a request added: chat messages, Responses input, or embeddings input. */
export function requestTurns(request: unknown): Turn[] {
  if (!isRecord(request)) return [];
  if (Array.isArray(request.messages)) return newItems(request.messages).map(turnOf);
  const input = request.input;
  if (typeof input === 'string') return [{ role: 'user', text: input }];
  if (Array.isArray(input)) {
    if (input.every((i) => typeof i === 'string' || typeof i === 'number')) {
      return [{ role: 'input', text: input.join('\n') }];
    }
    return newItems(input).map(turnOf);
  }
  return [{ role: 'request', text: JSON.stringify(request, null, 2) }];
}

/** The answer's turns: a completion's choices, a Responses object's text, or an error. */
export function responseTurns(response: unknown): Turn[] {
  if (!isRecord(response)) return [];
  if (Array.isArray(response.choices)) {
    return response.choices.map((c) => turnOf(isRecord(c) && isRecord(c.message) ? c.message : c));
  }
  if (typeof response.output_text === 'string') {
    return [{ role: 'assistant', text: response.output_text }];
  }
  if (isRecord(response.error) && typeof response.error.message === 'string') {
    return [{ role: 'error', text: response.error.message }];
  }
  return [{ role: 'response', text: JSON.stringify(response, null, 2) }];
}
