import { createHmac } from 'node:crypto';
import { remembered } from '../runtime/remembered.js';
import { canonicalJson } from './canonical-json.js';

/** Whether the gateway sets `prompt_cache_key` on requests that have none. */
export type PromptCacheKeyMode = 'auto' | 'off';

/** The modes, for the configuration's check. */
export const PROMPT_CACHE_KEY_MODES = ['auto', 'off'] as const;

/** Instruction roles whose messages, at the start of a conversation, form its stable prefix. */
const PREFIX_ROLES: ReadonlySet<unknown> = new Set(['system', 'developer']);

/**
 * The part of a chat request that stays the same from one call to the next: the leading system
 * and developer messages and the tool definitions. Null when there is none (a key would then
 * only name the tenant, and pile all its traffic on one cache machine).
 */
export function stablePrefix(body: Record<string, unknown>): unknown {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const instructions: unknown[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || !PREFIX_ROLES.has(Reflect.get(m, 'role'))) break;
    instructions.push(m);
  }
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? body.tools : null;
  if (instructions.length === 0 && tools === null) return null;
  return { instructions, tools };
}

/**
 * Derives the `prompt_cache_key` for a request without one: an HMAC under a server-side secret
 * of the tenant and the request's stable prefix. Requests of one tenant sharing a prefix get the
 * same key, so the provider routes them to the machine that holds the prefix; tenants never
 * share a key, and the key reveals neither the tenant nor the prompt. Null when the request has
 * no stable prefix, or one JSON cannot write.
 */
export function derivePromptCacheKey(
  secret: Buffer,
  tenantId: string,
  body: Record<string, unknown>,
): string | null {
  const prefix = stablePrefix(body);
  if (prefix === null) return null;
  let text: string;
  try {
    text = canonicalJson(prefix);
  } catch {
    return null;
  }
  // Length-prefixed, so no tenant id and prefix can run into another pair.
  const input = `${tenantId.length}:${tenantId}${text}`;
  if (input.length > REMEMBERED_INPUT_MAX_CHARS) return keyOf(secret, input);
  let keys = keysBySecret.get(secret);
  if (!keys) {
    keys = remembered(REMEMBERED_KEYS, (i) => keyOf(secret, i));
    keysBySecret.set(secret, keys);
  }
  return keys(input);
}

function keyOf(secret: Buffer, input: string): string {
  return `tg-${createHmac('sha256', secret).update(input).digest('base64url').slice(0, 32)}`;
}

/**
 * Keys already derived under each secret, by their HMAC input: a tenant's requests repeat a few
 * prefixes, and an HMAC costs more than the lookup. Bounded in entries and in each input's length.
 */
const REMEMBERED_KEYS = 512;
const REMEMBERED_INPUT_MAX_CHARS = 8_192;
const keysBySecret = new WeakMap<Buffer, (input: string) => string>();
