import { z } from 'zod';
import type { CompressionMode } from '../compression/compression-mode.js';
import { COMPRESSION_MODES, COMPRESSION_MODES_TEXT } from '../compression/compression-mode.js';
import type { Spelling } from './admin-input.js';
import { JSON_SPELLING, listInWords, parseAdminInput } from './admin-input.js';
import { AdminRefusal } from './admin-refusal.js';

/** Every scope a key can carry. */
export const SCOPES = ['chat', 'analytics:read', 'analytics:content', 'admin'] as const;
/** One scope. */
export type Scope = (typeof SCOPES)[number];

/** The largest limit the database column holds (PostgreSQL integer). */
export const MAX_LIMIT = 2_147_483_647;
/** The longest key or tenant name. */
export const MAX_NAME_CHARS = 200;
/** The last instant a JavaScript Date can hold: a later expiry is refused, not a crash. */
const MAX_DATE_MS = 8.64e15;
const DURATION = /^(\d+)\s*(d|h|m|s)$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** A key's settings, valid: what creating a key stores (the defaults fill what is left out). */
export interface KeySettings {
  name: string;
  /** Tenant id or name. Default: `default` (created when missing). */
  tenant?: string;
  /** Default: `chat`. */
  scopes?: readonly Scope[];
  rpm?: number | null;
  tpm?: number | null;
  maxConcurrency?: number | null;
  /** Default prompt compression for the key; null = the gateway's. */
  compression?: CompressionMode | null;
  /** null = every model; an empty list = none. */
  allowedModels?: readonly string[] | null;
  expiresAt?: Date | null;
  /** false turns the response cache off for this key. Default: on. */
  cacheEnabled?: boolean;
}

/** A valid change to an existing key: only the fields given change; its tenant never does. */
export type KeySettingsChange = Omit<Partial<KeySettings>, 'tenant'>;

/** The fields an update may change, in the order messages list them. */
const CHANGEABLE = [
  'name',
  'scopes',
  'rpm',
  'tpm',
  'max_concurrency',
  'compression',
  'models',
  'expires_at',
  'expires_in',
  'cache_enabled',
] as const;

/** Parses a duration such as `30d`, `12h`, `15m` or `90s` into milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Whether an ISO date-time names a real calendar day (2026-02-30 does not). */
function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return false;
  return new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
}

/** The schema's field validators, worded for one audience. */
function fields(s: Spelling) {
  const limit = (field: string) => {
    const error = `${s.field(field)} must be a positive integer (at most ${MAX_LIMIT}) or ${s.unset(field)}.`;
    return z.int({ error }).positive({ error }).max(MAX_LIMIT, { error }).nullable().optional();
  };
  const expiresAtError = `${s.field('expires_at')} must be an ISO 8601 date-time such as 2030-01-31T00:00:00Z, or ${s.unset('expires_at')}.`;
  return {
    scopes: z
      .array(
        z.enum(SCOPES, {
          error: (issue) =>
            `Unknown scope ${JSON.stringify(issue.input)} (known: ${SCOPES.join(', ')}).`,
        }),
        { error: `${s.field('scopes')} must be an array of scope names.` },
      )
      .min(1, { error: `${s.field('scopes')} must list at least one scope.` })
      .transform((scopes) => [...new Set(scopes)])
      .optional(),
    rpm: limit('rpm'),
    tpm: limit('tpm'),
    max_concurrency: limit('max_concurrency'),
    compression: z
      .enum(COMPRESSION_MODES, {
        error: `${s.bare('compression')} must be ${COMPRESSION_MODES_TEXT}`,
      })
      .nullable()
      .optional(),
    models: z
      .array(z.string({ error: 'Each model must be a non-empty string.' }).min(1), {
        error: `${s.field('models')} must be an array of model names, or ${s.unset('models')} for every model.`,
      })
      .nullable()
      .optional(),
    expires_in: z
      .string({
        error: `${s.field('expires_in')} must be a duration such as 30d, 12h, 15m or 90s.`,
      })
      .refine((text) => parseDuration(text) !== undefined, {
        error: (issue) =>
          `Invalid duration '${String(issue.input)}' (use e.g. 30d, 12h, 15m or 90s; ${s.field('expires_at')} ${s.unset('expires_at')} for no expiry).`,
      })
      .optional(),
    expires_at: z.iso
      .datetime({ offset: true, error: expiresAtError })
      .refine(isCalendarDate, { error: expiresAtError })
      .nullable()
      .optional(),
    cache_enabled: z
      .boolean({ error: `${s.field('cache_enabled')} must be ${s.onOff}.` })
      .optional(),
  };
}

/** A name: trimmed, not empty, at most MAX_NAME_CHARS characters. */
export function nameSchema(s: Spelling, field: string) {
  const error = `${s.field(field)} must be a non-empty string of at most ${MAX_NAME_CHARS} characters.`;
  return z.string({ error }).trim().min(1, { error }).max(MAX_NAME_CHARS, { error });
}

/** The two schemas (create and update) worded for one audience. */
function schemasFor(s: Spelling) {
  return {
    create: z.strictObject({
      name: nameSchema(s, 'name'),
      tenant: nameSchema(s, 'tenant').optional(),
      ...fields(s),
    }),
    update: z.strictObject({ name: nameSchema(s, 'name').optional(), ...fields(s) }),
  };
}
type Schemas = ReturnType<typeof schemasFor>;
type UpdateInput = z.infer<Schemas['update']>;

/**
 * The expiry an input asks for: undefined when it names none, null to clear it. It must be in the
 * future: a key that expires as it is made (`expires_in: 0s`) is a mistake, not a request.
 */
function expiryOf(input: UpdateInput, nowMs: number, s: Spelling): Date | null | undefined {
  if (input.expires_in !== undefined && input.expires_at !== undefined) {
    throw new AdminRefusal({
      reason: 'invalid',
      message: `Give either ${s.field('expires_in')} or ${s.field('expires_at')}, not both.`,
      field: 'expires_in',
    });
  }
  const field = input.expires_in === undefined ? 'expires_at' : 'expires_in';
  let atMs: number;
  if (input.expires_in !== undefined) atMs = nowMs + (parseDuration(input.expires_in) ?? 0);
  else if (input.expires_at === undefined || input.expires_at === null) return input.expires_at;
  else atMs = Date.parse(input.expires_at);
  if (atMs <= nowMs) {
    throw new AdminRefusal({
      reason: 'invalid',
      message: `${s.field(field)} must be in the future.`,
      field,
    });
  }
  if (!(atMs <= MAX_DATE_MS)) {
    throw new AdminRefusal({
      reason: 'invalid',
      message: `${s.field(field)} is too far in the future.`,
      field,
    });
  }
  return new Date(atMs);
}

/** The settings shared by create and update, in the stored names; given fields only. */
function changeOf(input: UpdateInput, nowMs: number, s: Spelling): KeySettingsChange {
  const change: KeySettingsChange = {};
  if (input.name !== undefined) change.name = input.name;
  if (input.scopes !== undefined) change.scopes = input.scopes;
  if (input.rpm !== undefined) change.rpm = input.rpm;
  if (input.tpm !== undefined) change.tpm = input.tpm;
  if (input.max_concurrency !== undefined) change.maxConcurrency = input.max_concurrency;
  if (input.compression !== undefined) change.compression = input.compression;
  if (input.models !== undefined) change.allowedModels = input.models;
  const expiresAt = expiryOf(input, nowMs, s);
  if (expiresAt !== undefined) change.expiresAt = expiresAt;
  if (input.cache_enabled !== undefined) change.cacheEnabled = input.cache_enabled;
  return change;
}

/**
 * Validates a key's settings, worded for one audience. `create` takes a new key's fields (snake
 * case, as the admin API's JSON names them); `update` a change, refusing an empty one.
 */
export class KeySettingsParser {
  private readonly schemas: Schemas;

  constructor(private readonly spelling: Spelling) {
    this.schemas = schemasFor(spelling);
  }

  /** A new key's settings. */
  create(input: Record<string, unknown>, nowMs: number): KeySettings {
    const valid = parseAdminInput(this.schemas.create, input, this.spelling);
    const { name } = valid;
    return { ...changeOf(valid, nowMs, this.spelling), name, tenant: valid.tenant };
  }

  /** A change to a key. */
  update(input: Record<string, unknown>, nowMs: number): KeySettingsChange {
    const valid = parseAdminInput(this.schemas.update, input, this.spelling);
    const change = changeOf(valid, nowMs, this.spelling);
    if (Object.keys(change).length === 0) {
      const names = [...new Set(CHANGEABLE.map((f) => this.spelling.bare(f)))];
      throw new AdminRefusal({
        reason: 'missing',
        message: `Give at least one field to change: ${listInWords(names)}.`,
      });
    }
    return change;
  }
}

/** The admin API's parser: JSON bodies of `POST /admin/keys` and `PATCH /admin/keys/:id`. */
export const keyBodyParser = new KeySettingsParser(JSON_SPELLING);
