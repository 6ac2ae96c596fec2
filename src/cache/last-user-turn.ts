import { isRecord } from '../runtime/is-record.js';

/** How the final message of a conversation can take part in caching. */
export type LastTurn =
  /** The final message is a user message whose content is text only. */
  | { readonly kind: 'text'; readonly text: string; readonly meta: Record<string, unknown> }
  /** The final message is a user message with images, audio, files or an unknown content shape. */
  | { readonly kind: 'non-text'; readonly content: unknown; readonly meta: Record<string, unknown> }
  /** There is no user message, or the conversation ends with another role (e.g. a tool result). */
  | { readonly kind: 'none'; readonly reason: 'no-user-message' | 'last-message-not-user' };

/**
 * Looks at the final message of a chat conversation. A text turn is a string `content` or an array
 * made only of `{ type: 'text', text }` parts (joined with a newline, which normalisation turns
 * into one space). `meta` holds the message's other fields except `role` and `content` (e.g.
 * `name`), which change the answer and so belong in the scope.
 */
export function readLastTurn(messages: readonly unknown[]): LastTurn {
  const last = messages.at(-1);
  if (!isRecord(last) || last.role !== 'user') {
    const anyUser = messages.some((m) => isRecord(m) && m.role === 'user');
    return { kind: 'none', reason: anyUser ? 'last-message-not-user' : 'no-user-message' };
  }
  const { role: _role, content, ...meta } = last;
  const text = textOf(content);
  if (text === null) return { kind: 'non-text', content: content ?? null, meta };
  return { kind: 'text', text, meta };
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') return null;
    texts.push(part.text);
  }
  return texts.join('\n');
}
