import type { Context } from 'hono';
import type { AppEnv } from '../http/env.js';
import { isRecord } from '../runtime/is-record.js';
import { MAX_MODEL_CHARS } from '../storage/schema.js';

/**
 * Keeps the model a parsed body names (a JSON object with a string `model`) in the context, so a
 * request refused before it is read whole still records and logs the model it asked for. A name
 * longer than any model's is kept cut to MAX_MODEL_CHARS, as the interaction row keeps it.
 */
export function noteAskedModel(c: Context<AppEnv>, json: unknown): void {
  if (isRecord(json) && typeof json.model === 'string') {
    c.set('askedModel', json.model.slice(0, MAX_MODEL_CHARS));
  }
}
