import { z } from 'zod';
import type { KeySpec } from '../keys/key-admin.js';
import { parseDuration, SCOPES } from '../keys/key-admin.js';
import { isRecord } from '../runtime/is-record.js';
import type { ApiKeyPatch } from '../storage/queries/api-keys.js';
import { GatewayError } from './errors.js';
import { parseJsonBody } from './json-body.js';

/** The largest limit the database column holds (PostgreSQL integer). */
const MAX_LIMIT = 2_147_483_647;
const MAX_NAME_CHARS = 200;

function limit(field: string) {
  const error = `'${field}' must be a positive integer (at most ${MAX_LIMIT}) or null.`;
  return z.int({ error }).positive({ error }).max(MAX_LIMIT, { error }).nullable().optional();
}

function name(field: string) {
  const error = `'${field}' must be a non-empty string of at most ${MAX_NAME_CHARS} characters.`;
  return z.string({ error }).trim().min(1, { error }).max(MAX_NAME_CHARS, { error });
}

const scopes = z
  .array(
    z.enum(SCOPES, {
      error: (issue) =>
        `Unknown scope ${JSON.stringify(issue.input)} (known: ${SCOPES.join(', ')}).`,
    }),
    { error: "'scopes' must be an array of scope names." },
  )
  .min(1, { error: "'scopes' must list at least one scope." })
  .optional();

const models = z
  .array(z.string({ error: 'Each model must be a non-empty string.' }).min(1), {
    error: "'models' must be an array of model names, or null for every model.",
  })
  .nullable()
  .optional();

const expiresIn = z
  .string({ error: "'expires_in' must be a duration such as 30d, 12h, 15m or 90s." })
  .optional();

const expiresAt = z.iso
  .datetime({
    offset: true,
    error: "'expires_at' must be an ISO 8601 date-time such as 2030-01-31T00:00:00Z, or null.",
  })
  .nullable()
  .optional();

/** The settings a key's create and update bodies share. */
const keySettings = {
  scopes,
  rpm: limit('rpm'),
  tpm: limit('tpm'),
  max_concurrency: limit('max_concurrency'),
  compression: z
    .enum(['off', 'safe', 'aggressive'], { error: 'compression must be off, safe or aggressive' })
    .nullable()
    .optional(),
  models,
  expires_in: expiresIn,
  expires_at: expiresAt,
};

/** Body of `POST /admin/keys`. */
export const createKeyBody = z.strictObject({
  name: name('name'),
  tenant: name('tenant').optional(),
  ...keySettings,
});

/** Body of `PATCH /admin/keys/:id`; `null` clears a limit, an expiry, or the model list (= all). */
export const updateKeyBody = z.strictObject({ name: name('name').optional(), ...keySettings });

/** Body of `POST /admin/tenants`. */
export const createTenantBody = z.strictObject({ name: name('name') });

function paramOf(path: readonly PropertyKey[]): string | null {
  let param = '';
  for (const part of path) {
    if (typeof part === 'number') param += `[${part}]`;
    else param += param === '' ? String(part) : `.${String(part)}`;
  }
  return param === '' ? null : param;
}

/**
 * Parses a JSON body against a schema. Any failure is a 400 in OpenAI's shape naming the first
 * offending field in `param`; unknown fields are refused, not ignored, so a typo is never silent.
 */
export function parseAdminBody<T>(schema: z.ZodType<T>, text: string): T {
  const json = parseJsonBody(text);
  if (!isRecord(json)) {
    throw GatewayError.invalidRequest(
      'The request body must be a JSON object.',
      null,
      'invalid_type',
    );
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw GatewayError.invalidRequest('The request body is invalid.');
  if (issue.code === 'unrecognized_keys') {
    throw GatewayError.invalidRequest(
      `Unrecognized request argument supplied: ${issue.keys.join(', ')}.`,
      issue.keys[0] ?? null,
      'unknown_parameter',
    );
  }
  const top = issue.path[0];
  if (issue.path.length === 1 && typeof top === 'string' && !(top in json)) {
    throw GatewayError.invalidRequest(
      `Missing required parameter: '${top}'.`,
      top,
      'missing_required_parameter',
    );
  }
  throw GatewayError.invalidRequest(issue.message, paramOf(issue.path), 'invalid_value');
}

/** An expiry from `expires_at` or `expires_in` (at most one); undefined when neither is given. */
function expiryFrom(
  body: { expires_in?: string; expires_at?: string | null },
  nowMs: number,
): Date | null | undefined {
  if (body.expires_in !== undefined && body.expires_at !== undefined) {
    throw GatewayError.invalidRequest(
      "Give either 'expires_in' or 'expires_at', not both.",
      'expires_in',
      'invalid_value',
    );
  }
  if (body.expires_in !== undefined) return new Date(nowMs + parseDuration(body.expires_in));
  if (body.expires_at === undefined || body.expires_at === null) return body.expires_at;
  return new Date(body.expires_at);
}

/** The key to create, from a validated `POST /admin/keys` body. */
export function keySpecFrom(body: z.infer<typeof createKeyBody>, nowMs: number): KeySpec {
  const expiresAt = expiryFrom(body, nowMs);
  if (expiresAt && expiresAt.getTime() <= nowMs) {
    const param = body.expires_in === undefined ? 'expires_at' : 'expires_in';
    throw GatewayError.invalidRequest(`'${param}' must be in the future.`, param, 'invalid_value');
  }
  return {
    name: body.name,
    tenant: body.tenant,
    scopes: body.scopes,
    rpm: body.rpm,
    tpm: body.tpm,
    maxConcurrency: body.max_concurrency,
    compression: body.compression,
    allowedModels: body.models,
    expiresAt,
  };
}

/** The change to apply, from a validated `PATCH /admin/keys/:id` body; refuses an empty one. */
export function keyPatchFrom(body: z.infer<typeof updateKeyBody>, nowMs: number): ApiKeyPatch {
  const patch: ApiKeyPatch = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.scopes !== undefined) patch.scopes = body.scopes;
  if (body.rpm !== undefined) patch.rpm = body.rpm;
  if (body.tpm !== undefined) patch.tpm = body.tpm;
  if (body.max_concurrency !== undefined) patch.maxConcurrency = body.max_concurrency;
  if (body.compression !== undefined) patch.compression = body.compression;
  if (body.models !== undefined) patch.allowedModels = body.models;
  const expiresAt = expiryFrom(body, nowMs);
  if (expiresAt !== undefined) patch.expiresAt = expiresAt;
  if (Object.keys(patch).length === 0) {
    throw GatewayError.invalidRequest(
      'Give at least one field to change: name, scopes, rpm, tpm, max_concurrency, compression, models, expires_at or expires_in.',
      null,
      'missing_required_parameter',
    );
  }
  return patch;
}
