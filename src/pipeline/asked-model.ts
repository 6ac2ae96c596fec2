import type { Context } from 'hono';
import type { AppEnv } from '../http/env.js';
import { isRecord } from '../runtime/is-record.js';

/**
 * Keeps the model a parsed body names (a JSON object with a string `model`) in the context, so a
 * request refused before it is read whole still records the model it asked for.
 */
export function noteAskedModel(c: Context<AppEnv>, json: unknown): void {
  if (isRecord(json) && typeof json.model === 'string') c.set('askedModel', json.model);
}
