import { compressMessages } from '../compression/compress-messages.js';
import type { CompressionMode } from '../compression/compression-mode.js';
import { COMPRESSION_MODES_TEXT, isCompressionMode } from '../compression/compression-mode.js';
import { GatewayError } from '../http/errors.js';
import { requestHeader } from '../http/incoming.js';
import { setResponseHeader } from '../http/response-headers.js';
import type { Stage } from './stage.js';

/**
 * Compresses system, user and tool text before the cache (so equivalent prompts share cache keys)
 * and upstream. The mode comes from the `x-tollgate-compression` header, else the key's default,
 * else the gateway's. `off` leaves the request's bytes untouched. The saving, counted with the
 * model's tokenizer, is returned in `x-tollgate-tokens-saved`.
 */
export function compress(deps: { config: { compression: CompressionMode } }) {
  return function compress(c) {
    const header = requestHeader(c, 'x-tollgate-compression')?.trim().toLowerCase();
    if (header !== undefined && !isCompressionMode(header)) {
      throw GatewayError.invalidRequest(
        `Invalid x-tollgate-compression header '${header}': expected ${COMPRESSION_MODES_TEXT}.`,
        'x-tollgate-compression',
        'invalid_value',
      );
    }
    const keyDefault = c.get('apiKey').compression;
    const mode: CompressionMode =
      header ?? (isCompressionMode(keyDefault) ? keyDefault : deps.config.compression);
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
    setResponseHeader(c, 'x-tollgate-tokens-saved', String(tokensSaved));
  } satisfies Stage;
}
