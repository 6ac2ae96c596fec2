import type { MiddlewareHandler } from 'hono';
import type { CompressionMode } from '../compression/compress-messages.js';
import { compressMessages } from '../compression/compress-messages.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';

const MODES: readonly string[] = ['off', 'safe', 'aggressive'];

function isMode(value: string | null | undefined): value is CompressionMode {
  return value !== null && value !== undefined && MODES.includes(value);
}

/**
 * Compresses system, user and tool text before the cache (so equivalent prompts share cache keys)
 * and upstream. The mode comes from the `x-tollgate-compression` header, else the key's default,
 * else the gateway's. `off` leaves the request's bytes untouched. The saving, counted with the
 * model's tokenizer, is returned in `x-tollgate-tokens-saved`.
 */
export function compress(deps: { config: { compression: CompressionMode } }) {
  return async function compress(c, next) {
    const header = c.req.header('x-tollgate-compression')?.trim().toLowerCase();
    if (header !== undefined && !isMode(header)) {
      throw GatewayError.invalidRequest(
        `Invalid x-tollgate-compression header '${header}': expected off, safe or aggressive.`,
        'x-tollgate-compression',
        'invalid_value',
      );
    }
    const keyDefault = c.get('apiKey').compression;
    const mode: CompressionMode =
      header ?? (isMode(keyDefault) ? keyDefault : deps.config.compression);
    let tokensSaved = 0;
    if (mode !== 'off') {
      const req = c.get('request');
      const result = compressMessages(req.messages, {
        mode,
        model: req.model,
        countUnchanged: false,
      });
      if (result.changed) {
        const messages = result.messages as Record<string, unknown>[];
        c.set('request', { ...req, body: { ...req.body, messages }, messages, rawBody: null });
        tokensSaved = result.tokensBefore - result.tokensAfter;
      }
    }
    c.set('compression', { mode, tokensSaved });
    c.header('x-tollgate-tokens-saved', String(tokensSaved));
    await next();
  } satisfies MiddlewareHandler<AppEnv>;
}
