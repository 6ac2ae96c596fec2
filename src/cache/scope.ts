import { canonicalJson } from './canonical-json.js';
import { readLastTurn } from './last-user-turn.js';
import { sha256Hex } from './sha256-hex.js';
import { normaliseUserText } from './text-normalise.js';

/**
 * Request fields that never change the answer's content: how it is delivered (`stream`,
 * `stream_options`), who asked (`user`), the conversation (hashed separately) and the requested
 * model name (the resolved model is hashed instead).
 */
const PARAMS_OUTSIDE_SCOPE = new Set(['messages', 'stream', 'stream_options', 'user', 'model']);

/**
 * Bumped whenever the derivation changes, so old keys can never match new ones. 2: whitespace
 * inside quoted strings, inline code and indented text is kept (normaliseUserText); an entry keyed
 * under 1 may hold the answer to a question whose whitespace there differed.
 */
const KEY_DERIVATION_VERSION = 2;

/**
 * Longest last-user text (in UTF-16 units, after normalisation) that may be matched
 * semantically. In long prompts a changed word barely moves the embedding, so a near-identical
 * long text can still ask for a different answer; those requests are cached exactly only.
 */
export const MAX_SEMANTIC_TEXT_CHARS = 1000;

/** Why a request may only be answered by an exact cache hit. */
export type ExactOnlyReason =
  | 'no-user-message'
  | 'last-message-not-user'
  | 'non-text-content'
  | 'empty-text'
  | 'text-too-long';

/** A chat completion request body as the cache reads it; other fields pass through untyped. */
export type CacheableRequestBody = {
  readonly messages?: unknown;
  readonly [param: string]: unknown;
};

/** What the cache needs to derive keys for one request. */
export interface CacheKeyInput {
  /** The tenant that owns the key: entries are never shared across tenants. */
  readonly tenantId: string;
  /** The model that will serve the request, after alias resolution. */
  readonly model: string;
  /** The parsed request body. */
  readonly body: CacheableRequestBody;
  /** Overrides `MAX_SEMANTIC_TEXT_CHARS`. */
  readonly maxSemanticChars?: number;
}

/** The keys of one request. */
export interface CacheKeys {
  /** SHA-256 hex of everything two requests must share to share any entry. */
  readonly scopeHash: string;
  /** SHA-256 hex of the scope and the normalised last user turn. */
  readonly exactHash: string;
  /** The normalised last user text to embed and guard, or null when only exact hits are safe. */
  readonly semanticText: string | null;
  /** Why `semanticText` is null; null when it is not. */
  readonly exactOnlyReason: ExactOnlyReason | null;
}

/**
 * Derives the scope and exact keys of a chat request. The scope covers the tenant, the model,
 * every parameter except `messages`/`stream`/`stream_options`/`user`, and all messages before the
 * last user turn; the exact key adds the normalised last user turn. Conversations that do not end
 * in a text-only user turn are exact-only.
 */
export function deriveCacheKeys(input: CacheKeyInput): CacheKeys {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input.body)) {
    if (!PARAMS_OUTSIDE_SCOPE.has(name)) params[name] = value;
  }
  const messages = Array.isArray(input.body.messages) ? input.body.messages : [];
  const turn = readLastTurn(messages);
  const context = turn.kind === 'none' ? messages : messages.slice(0, -1);
  const turnMeta = turn.kind === 'none' ? null : turn.meta;
  const scopeHash = sha256Hex(
    canonicalJson({
      v: KEY_DERIVATION_VERSION,
      tenant: input.tenantId,
      model: input.model,
      params,
      context,
      turnMeta,
    }),
  );

  if (turn.kind === 'none') {
    return keys(scopeHash, { kind: 'none' }, null, turn.reason);
  }
  if (turn.kind === 'non-text') {
    return keys(scopeHash, { kind: 'non-text', content: turn.content }, null, 'non-text-content');
  }
  const text = normaliseUserText(turn.text);
  const maxChars = input.maxSemanticChars ?? MAX_SEMANTIC_TEXT_CHARS;
  const reason = text === '' ? 'empty-text' : text.length > maxChars ? 'text-too-long' : null;
  return keys(scopeHash, { kind: 'text', text }, reason === null ? text : null, reason);
}

function keys(
  scopeHash: string,
  turn: Record<string, unknown>,
  semanticText: string | null,
  exactOnlyReason: ExactOnlyReason | null,
): CacheKeys {
  const exactHash = sha256Hex(canonicalJson({ v: KEY_DERIVATION_VERSION, scope: scopeHash, turn }));
  return { scopeHash, exactHash, semanticText, exactOnlyReason };
}
