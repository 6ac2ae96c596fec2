import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../runtime/logger.js';

/** One master key: the key-encryption key that wraps tenants' data keys. */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/** The master keys in use: the first wraps new data keys; all of them can unwrap. */
export interface KeyRing {
  current: MasterKey;
  get(id: string): MasterKey | undefined;
  ids: readonly string[];
}

/** Raised when master keys are missing or malformed; start-up stops with its message. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `id:base64,id:base64` (first = current); each key must be 32 bytes. `source` names where
 * the text came from in a refusal: the variable, or the data directory's `master.key` file.
 */
export function parseMasterKeys(text: string, source = 'TOLLGATE_MASTER_KEYS'): KeyRing {
  const entries = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new MasterKeyError(`${source} is empty`);
  const keys: MasterKey[] = entries.map((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    if (!ID_RE.test(id)) {
      throw new MasterKeyError(`${source} entry ${i + 1} must look like <id>:<base64 of 32 bytes>`);
    }
    const key = Buffer.from(entry.slice(sep + 1), 'base64');
    if (key.length !== 32) {
      throw new MasterKeyError(
        `${source} key '${id}' must be 32 bytes of base64 (got ${key.length})`,
      );
    }
    return { id, key };
  });
  const byId = new Map<string, MasterKey>();
  for (const k of keys) {
    if (byId.has(k.id)) throw new MasterKeyError(`${source} names key '${k.id}' twice`);
    byId.set(k.id, k);
  }
  const current = keys[0] as MasterKey;
  return { current, get: (id) => byId.get(id), ids: keys.map((k) => k.id) };
}

/** A new master key in the `id:base64` form. */
export function generateMasterKeyEntry(
  id = `mk${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`,
): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** Where the master keys come from, decided at start-up. */
export type KeyRingSource =
  | { kind: 'env' }
  | { kind: 'file'; path: string; created: boolean }
  | { kind: 'ephemeral' };

/**
 * Loads the key ring: TOLLGATE_MASTER_KEYS when set; otherwise, on the embedded file database,
 * `<data dir>/master.key` (created, mode 0600, on first start); an in-memory database gets a key
 * that lives as long as the process. A PostgreSQL deployment must configure its keys.
 */
export function loadKeyRing(options: {
  masterKeys: string | undefined;
  database: { kind: 'pglite'; dataDir: string | null } | { kind: 'postgres' };
}): { ring: KeyRing; source: KeyRingSource } {
  if (options.masterKeys?.trim())
    return { ring: parseMasterKeys(options.masterKeys), source: { kind: 'env' } };
  if (options.database.kind === 'postgres') {
    throw new MasterKeyError(
      'TOLLGATE_MASTER_KEYS is required with DATABASE_URL: rows are encrypted under it and a ' +
        "generated key would be lost with this machine. Create one with 'tollgate keys new-master' " +
        'and store it in your secret manager.',
    );
  }
  if (options.database.dataDir === null) {
    return {
      ring: parseMasterKeys(generateMasterKeyEntry('ephemeral')),
      source: { kind: 'ephemeral' },
    };
  }
  const path = join(options.database.dataDir, 'master.key');
  if (existsSync(path)) {
    return {
      ring: parseMasterKeys(readFileSync(path, 'utf8'), path),
      source: { kind: 'file', path, created: false },
    };
  }
  mkdirSync(options.database.dataDir, { recursive: true });
  writeFileSync(path, `${generateMasterKeyEntry()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return {
    ring: parseMasterKeys(readFileSync(path, 'utf8')),
    source: { kind: 'file', path, created: true },
  };
}

/** Says loudly where a new master key was written, or that a throw-away one is in use. */
export function announceKeySource(logger: Logger, source: KeyRingSource): void {
  if (source.kind === 'file' && source.created) {
    logger.warn(
      { file: source.path },
      `GENERATED A NEW MASTER KEY at ${source.path}. Every stored prompt and response is encrypted under it: BACK IT UP NOW. Losing it makes the stored text unreadable; for production set TOLLGATE_MASTER_KEYS instead.`,
    );
  } else if (source.kind === 'ephemeral') {
    logger.warn(
      'Using a throw-away master key for the in-memory database: stored text lives only as long as this process.',
    );
  }
}
