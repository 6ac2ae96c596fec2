import type { Spelling } from './admin-input.js';
import type { KeySettings, KeySettingsChange } from './key-settings.js';
import { KeySettingsParser } from './key-settings.js';

/** The command-line flags that carry a key's settings (all given as text). */
export type KeyFlag =
  | 'name'
  | 'tenant'
  | 'scopes'
  | 'rpm'
  | 'tpm'
  | 'concurrency'
  | 'compression'
  | 'models'
  | 'expires-in'
  | 'cache';

/** Flag values as the command line gave them. */
export type KeyFlagValues = Partial<Record<KeyFlag, string>>;

/** The flag that sets each settings field, where the two names differ. */
const FLAG_OF_FIELD: Record<string, KeyFlag> = {
  max_concurrency: 'concurrency',
  expires_in: 'expires-in',
  expires_at: 'expires-in',
  cache_enabled: 'cache',
};

/** The word that clears each field on the command line. */
const UNSET_WORD: Record<string, string> = {
  rpm: 'none',
  tpm: 'none',
  max_concurrency: 'none',
  compression: 'default',
  models: 'all',
  expires_in: 'never',
  expires_at: 'never',
};

/** The command line's spelling: `--concurrency`, `none`, `all`, `never`, `on`/`off`. */
export const FLAG_SPELLING: Spelling = {
  field: (name) => `--${FLAG_OF_FIELD[name] ?? name}`,
  bare: (name) => `--${FLAG_OF_FIELD[name] ?? name}`,
  unset: (name) => UNSET_WORD[name] ?? 'none',
  onOff: 'on or off',
};

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A switch's text as the schema reads it: a boolean for `on` or `off`. */
function onOff(text: string): boolean | string {
  if (text === 'on') return true;
  if (text === 'off') return false;
  return text;
}

/** A limit's text as the schema reads it: a number when it is written as one, null for `none`. */
function limit(text: string): number | string | null {
  if (text === 'none') return null;
  return /^[+-]?\d+$/.test(text) ? Number(text) : text;
}

/**
 * The flags as the admin API's fields, so the one schema judges both: a value the flags cannot
 * express as the API's type is passed through as text and refused by the schema, in flag words.
 */
function fieldsOf(flags: KeyFlagValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (flags.name !== undefined) out.name = flags.name;
  if (flags.tenant !== undefined) out.tenant = flags.tenant;
  if (flags.scopes !== undefined) out.scopes = list(flags.scopes);
  if (flags.rpm !== undefined) out.rpm = limit(flags.rpm);
  if (flags.tpm !== undefined) out.tpm = limit(flags.tpm);
  if (flags.concurrency !== undefined) out.max_concurrency = limit(flags.concurrency);
  if (flags.compression !== undefined)
    out.compression = flags.compression === 'default' ? null : flags.compression;
  if (flags.models !== undefined) out.models = flags.models === 'all' ? null : list(flags.models);
  if (flags.cache !== undefined) out.cache_enabled = onOff(flags.cache);
  const expires = flags['expires-in'];
  if (expires === 'never') out.expires_at = null;
  else if (expires !== undefined) out.expires_in = expires;
  return out;
}

const parser = new KeySettingsParser(FLAG_SPELLING);

/** A new key's settings from `keys create` flags; refuses exactly what the admin API refuses. */
export function keySettingsFromFlags(flags: KeyFlagValues, nowMs: number): KeySettings {
  return parser.create(fieldsOf(flags), nowMs);
}

/** A change to a key from `keys update` flags; refuses exactly what the admin API refuses. */
export function keyChangeFromFlags(flags: KeyFlagValues, nowMs: number): KeySettingsChange {
  return parser.update(fieldsOf(flags), nowMs);
}
