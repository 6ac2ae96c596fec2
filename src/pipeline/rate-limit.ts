import type { Context } from 'hono';
import { countRequestTokens } from '../compression/token-count.js';
import type { ChatRequest } from '../http/chat-request.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { setResponseHeader } from '../http/response-headers.js';
import type { KeyVerifier, VerifiedKey } from '../keys/key-verifier.js';
import { normalizeLimit, toTokenCount } from '../ratelimit/admission-plan.js';
import { rateLimitHeaders, retryAfterSeconds } from '../ratelimit/rate-limit-headers.js';
import type { LimitSpec, LimitState, RateLimiter, Ticket } from '../ratelimit/rate-limiter.js';
import type { Metrics } from '../runtime/metrics.js';
import { auth } from './auth.js';
import type { Stage } from './stage.js';
import { stageMiddleware } from './stage.js';

const LIMIT_NAMES = {
  requests: 'requests per minute (RPM)',
  tokens: 'tokens per minute (TPM)',
  concurrency: 'concurrent requests',
} as const;

function hasLimits(spec: LimitSpec): boolean {
  return spec.rpm != null || spec.tpm != null || spec.maxConcurrency != null;
}

/**
 * Admits the request against its key's (and tenant's) RPM, TPM and concurrency limits, sets
 * OpenAI's x-ratelimit-* headers, and answers 429 with retry-after when a limit is reached. Tokens
 * are reserved up front (prompt tokens + max_tokens, or a default as far as the window has room:
 * see tokensToReserve) and settled with the real usage after the answer by the after-response
 * step; failed calls and cache hits are refunded.
 */
export function rateLimit(deps: RateLimitDeps) {
  return function rateLimit(c) {
    const key = c.get('apiKey');
    const keySpec: LimitSpec = { rpm: key.rpm, tpm: key.tpm, maxConcurrency: key.maxConcurrency };
    if (!hasLimits(keySpec) && !hasLimits(key.tenantLimits)) return;
    return admit(deps, c, keySpec);
  } satisfies Stage;
}

/**
 * `auth` with the `chat` scope for the /v1 routes that call no model (model lists, stored
 * responses and conversations): they are not counted against the limits, and their answers carry
 * the key's current x-ratelimit-* state as every /v1 answer does, read without consuming anything.
 */
export function requireChatKey(deps: { keys: KeyVerifier; rateLimiter: RateLimiter }) {
  const authenticate = auth(deps, 'chat');
  return stageMiddleware(async function chatKey(c) {
    await authenticate(c);
    await readLimits(deps.rateLimiter, c);
  });
}

/**
 * For a /v1 request refused after its key was known but before the rate-limit stage read the
 * key's limits (a malformed or over-size body, a bad parameter, every concurrency slot taken):
 * reads them without counting anything, so that refusal carries the x-ratelimit-* headers as
 * every other answer to the key does.
 */
export async function reportLimitsOnRefusal(
  deps: { rateLimiter: RateLimiter },
  c: Context<AppEnv>,
): Promise<void> {
  const key: VerifiedKey | undefined = c.get('apiKey');
  if (!key || c.get('limitState')) return;
  await readLimits(deps.rateLimiter, c);
}

/**
 * On an answer from the cache, the tokens headers show the key's state once the hit's reservation
 * is given back: a hit costs no tokens, so the after-response step refunds all of it (with every
 * other settle, after the last byte), and the headers would otherwise report a charge the key never
 * pays. Nothing changes when nothing was reserved (no token limit, or a fail-open admit).
 */
export function showRefundedReservation(c: Context<AppEnv>): void {
  const state: LimitState | undefined = c.get('limitState');
  const ticket: Ticket | undefined = c.get('admission');
  if (!state || !ticket || ticket.reservedTokens === 0) return;
  if (state.limitTokens === null || state.remainingTokens === null) return;
  // An admitted reservation fit under every token limit it was counted against, so each one's
  // remaining grows by the whole reservation, and the fewest remaining stays the same limit's.
  const remainingTokens = Math.min(
    state.limitTokens,
    state.remainingTokens + ticket.reservedTokens,
  );
  setLimitHeaders(c, { ...state, remainingTokens });
}

/** Reads the key's (and tenant's) limits without counting anything, into the answer's headers. */
async function readLimits(rateLimiter: RateLimiter, c: Context<AppEnv>): Promise<void> {
  const key = c.get('apiKey');
  const keySpec: LimitSpec = { rpm: key.rpm, tpm: key.tpm, maxConcurrency: key.maxConcurrency };
  if (!hasLimits(keySpec) && !hasLimits(key.tenantLimits)) return;
  const state = await rateLimiter.peek({
    keyId: key.id,
    tenantId: key.tenantId,
    key: keySpec,
    tenant: hasLimits(key.tenantLimits) ? key.tenantLimits : undefined,
  });
  setLimitHeaders(c, state);
}

/** Puts the key's limit state in the answer's x-ratelimit-* headers (and in the context). */
function setLimitHeaders(c: Context<AppEnv>, state: LimitState): void {
  c.set('limitState', state);
  for (const [name, value] of Object.entries(rateLimitHeaders(state))) {
    setResponseHeader(c, name, value);
  }
}

/** What the rate-limit stage uses. */
interface RateLimitDeps {
  rateLimiter: RateLimiter;
  metrics: Metrics;
  config: { rateLimit: { defaultMaxTokens: number } };
}

/**
 * What a request reserves against TPM: its prompt, and the answer cap the client set (times `n`).
 * Without a cap, the gateway's default allowance (times `n`) is `extra`: reserved as far as the
 * window has room, so that a key with a small TPM is refused only a prompt that does not fit, not
 * an allowance the client never asked for. The real usage replaces the reservation either way.
 */
function tokensToReserve(
  req: ChatRequest,
  defaultMaxTokens: number,
): { reserve: number; extra: number } {
  if (req.reserveTokens !== undefined)
    return { reserve: toTokenCount(req.reserveTokens), extra: 0 };
  const prompt = countRequestTokens(req.body, req.model);
  if (req.maxTokens !== null)
    return { reserve: toTokenCount(prompt + req.maxTokens * req.n), extra: 0 };
  return { reserve: toTokenCount(prompt), extra: toTokenCount(defaultMaxTokens * req.n) };
}

/** The first of the TPM limits (key, then tenant) that `reserve` tokens exceed on their own. */
function tooLargeFor(
  reserve: number,
  limits: ReadonlyArray<{ owner: string; tpm: number | null | undefined }>,
): { owner: string; tpm: number } | null {
  for (const { owner, tpm } of limits) {
    const limit = normalizeLimit(tpm);
    if (limit !== null && reserve > limit) return { owner, tpm: limit };
  }
  return null;
}

/** Admits a request whose key or tenant has limits, or throws the 429 (or 503) it gets. */
async function admit(deps: RateLimitDeps, c: Context<AppEnv>, keySpec: LimitSpec): Promise<void> {
  const key = c.get('apiKey');
  const req = c.get('request');
  const tenantSpec = key.tenantLimits;
  // Counting prompt tokens costs CPU: only keys under a token limit pay it.
  const { reserve, extra } =
    keySpec.tpm != null || tenantSpec.tpm != null
      ? tokensToReserve(req, deps.config.rateLimit.defaultMaxTokens)
      : { reserve: 0, extra: 0 };
  const result = await deps.rateLimiter.admit(
    {
      keyId: key.id,
      tenantId: key.tenantId,
      key: keySpec,
      tenant: hasLimits(tenantSpec) ? tenantSpec : undefined,
    },
    reserve,
    extra,
  );
  setLimitHeaders(c, result.state);
  if (!result.ok) {
    if (result.reason === 'unavailable') {
      throw GatewayError.limitsUnavailable();
    }
    deps.metrics.rateLimited.inc({ reason: result.reason });
    const seconds = retryAfterSeconds(result.retryAfterMs);
    const owner = result.scope === 'tenant' ? `tenant ${key.tenantId}` : `key ${key.id}`;
    const headers: Record<string, string> = {
      'retry-after': seconds,
      'retry-after-ms': String(Math.ceil(result.retryAfterMs)),
    };
    // Whichever limit was found first (the RPM, the key's tokens left), a reservation over a
    // whole TPM limit is refused in every window: that is the answer, or the client's SDK waits
    // out this window only to be refused again.
    const tooLarge = tooLargeFor(reserve, [
      { owner: `key ${key.id}`, tpm: keySpec.tpm },
      { owner: `tenant ${key.tenantId}`, tpm: tenantSpec.tpm },
    ]);
    if (tooLarge) {
      // No window will ever fit it: the client's SDK is told not to wait and send it again.
      headers['x-should-retry'] = 'false';
      const reduce = req.maxTokens === null ? 'the prompt' : 'the prompt or max_tokens';
      throw GatewayError.rateLimited(
        `Request too large for ${tooLarge.owner} on ${LIMIT_NAMES.tokens}: Limit ${tooLarge.tpm}, Requested ${reserve}. Reduce ${reduce} to run it.`,
        'tokens',
        headers,
      );
    }
    throw GatewayError.rateLimited(
      `Rate limit reached for ${LIMIT_NAMES[result.reason]} on ${owner}. Please try again in ${seconds}s.`,
      result.reason === 'tokens' ? 'tokens' : 'requests',
      headers,
    );
  }
  c.set('admission', result.ticket);
}
