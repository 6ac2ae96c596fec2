import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { generateMasterKeyEntry, loadKeyRing, MasterKeyError } from '../crypto/key-ring.js';
import type { KeySpec } from '../keys/key-admin.js';
import {
  createKey,
  KeyAdminError,
  keyView,
  parseDuration,
  revokeKey,
  updateKey,
  validateScopes,
} from '../keys/key-admin.js';
import { main } from '../main.js';
import { errorReason } from '../runtime/error-reason.js';
import { DataDirBusyError } from '../storage/data-dir-lock.js';
import type { DatabaseHandle } from '../storage/database.js';
import { openDatabase } from '../storage/database.js';
import { AnalystRoleError, grantAnalystRole } from '../storage/queries/analytics-views.js';
import type { ApiKeyPatch } from '../storage/queries/api-keys.js';
import { listApiKeys } from '../storage/queries/api-keys.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { findTenant, listTenants } from '../storage/queries/tenants.js';
import { createTenant, forgetTenant, TenantAdminError } from '../tenants/tenant-admin.js';
import { rotateMasterKey, verifyKeyRing } from '../tenants/tenant-keys.js';

const USAGE = `usage: tollgate <command>
  serve                         run the gateway (PORT, HOST, DATABASE_URL, ... from the environment)
  migrate                       apply database migrations
  keys create --name N [--tenant T] [--scopes chat,analytics:read,analytics:content,admin]
              [--rpm N] [--tpm N] [--concurrency N] [--compression off|safe|aggressive] [--models a,b] [--expires-in 30d] [--json]
  keys list [--tenant T] [--json]
  keys update <id> [--name N] [--scopes ...] [--rpm N|none] [--tpm N|none] [--concurrency N|none]
              [--models a,b|all] [--expires-in 30d|never] [--json]
  keys revoke <id>
  keys new-master [--id ID]       print a new master key entry for TOLLGATE_MASTER_KEYS
  keys rotate-master              re-wrap every tenant data key under the first master key
  tenants create <name> [--json]
  tenants list [--json]
  tenants forget <id|name>        destroy the tenant's data key: its stored text becomes unreadable
  analysts grant <role> [--password P]
                                PostgreSQL role that may SELECT the analytics views only
                                (NOLOGIN unless --password is given)`;

/** A bad command line: printed as one line, exit code 2. */
class UsageError extends Error {}

function positiveInt(value: string | undefined, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new UsageError(`--${flag} must be a positive integer or 'none'`);
  return Number(value);
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

/** The command line acts as `cli` in the audit log. */
const CLI_ACTOR = 'cli';

const KEY_FLAGS = {
  name: { type: 'string' },
  tenant: { type: 'string' },
  scopes: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  concurrency: { type: 'string' },
  compression: { type: 'string' },
  models: { type: 'string' },
  'expires-in': { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function withDatabase<T>(fn: (db: DatabaseHandle) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const handle = await openDatabase(config.database);
  try {
    await handle.migrate();
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

async function keysCommand(sub: string | undefined, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: KEY_FLAGS,
    allowPositionals: true,
    strict: true,
  });
  const now = Date.now();
  const expiresIn = values['expires-in'];
  const expiresAt =
    expiresIn === undefined
      ? undefined
      : expiresIn === 'never'
        ? null
        : new Date(now + parseDuration(expiresIn));
  switch (sub) {
    case 'create': {
      if (!values.name) throw new UsageError('keys create needs --name');
      const spec: KeySpec = {
        name: values.name,
        tenant: values.tenant,
        scopes: values.scopes === undefined ? undefined : validateScopes(list(values.scopes) ?? []),
        rpm: positiveInt(values.rpm, 'rpm'),
        tpm: positiveInt(values.tpm, 'tpm'),
        maxConcurrency: positiveInt(values.concurrency, 'concurrency'),
        compression: values.compression === 'default' ? null : values.compression,
        allowedModels: values.models === 'all' ? null : list(values.models),
        expiresAt,
      };
      const { key, row } = await withDatabase(({ db }) =>
        createKey(db, spec, { actor: CLI_ACTOR }),
      );
      if (values.json) process.stdout.write(`${JSON.stringify({ key, ...keyView(row) })}\n`);
      else {
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `Created ${row.id} for tenant ${row.tenantId}. The key is shown once: store it now.\n`,
        );
      }
      return;
    }
    case 'list': {
      const rows = await withDatabase(async ({ db }) => {
        const tenant = values.tenant ? await findTenant(db, values.tenant) : undefined;
        if (values.tenant && !tenant) throw new UsageError(`unknown tenant '${values.tenant}'`);
        return listApiKeys(db, tenant?.id);
      });
      const views = rows.map(keyView);
      if (values.json) process.stdout.write(`${JSON.stringify(views)}\n`);
      else
        for (const k of views) {
          const status = k.revokedAt
            ? 'revoked'
            : k.expiresAt && Date.parse(k.expiresAt) <= now
              ? 'expired'
              : 'active';
          process.stdout.write(
            `${k.id}\t${k.prefix}…\t${k.tenantId}\t${k.name}\t${k.scopes.join(',')}\t${status}\trpm=${k.rpm ?? '-'} tpm=${k.tpm ?? '-'} concurrency=${k.maxConcurrency ?? '-'}\n`,
          );
        }
      return;
    }
    case 'revoke':
    case 'update': {
      const id = positionals[0];
      if (!id) throw new UsageError(`keys ${sub} needs a key id`);
      const act = { actor: CLI_ACTOR, at: new Date(now) };
      let patch: ApiKeyPatch = {};
      if (sub === 'update') {
        patch = {
          name: values.name,
          scopes: list(values.scopes),
          rpm: positiveInt(values.rpm, 'rpm'),
          tpm: positiveInt(values.tpm, 'tpm'),
          maxConcurrency: positiveInt(values.concurrency, 'concurrency'),
          compression: values.compression === 'default' ? null : values.compression,
          allowedModels: values.models === 'all' ? null : list(values.models),
          expiresAt,
        };
        if (Object.values(patch).every((v) => v === undefined))
          throw new UsageError(
            'keys update needs at least one change (--name, --scopes, --rpm, …)',
          );
      }
      const row = await withDatabase(({ db }) =>
        sub === 'revoke' ? revokeKey(db, id, act) : updateKey(db, id, patch, act),
      );
      if (!row) throw new UsageError(`unknown key '${id}'`);
      if (values.json) process.stdout.write(`${JSON.stringify(keyView(row))}\n`);
      else process.stderr.write(`${sub === 'revoke' ? 'Revoked' : 'Updated'} ${row.id}.\n`);
      return;
    }
    case 'new-master': {
      process.stdout.write(`${generateMasterKeyEntry(positionals[0])}\n`);
      process.stderr.write(
        'Put it first in TOLLGATE_MASTER_KEYS (keep the old entries after it), restart, then run tollgate keys rotate-master.\n',
      );
      return;
    }
    case 'rotate-master': {
      const config = loadConfig(process.env);
      const { ring } = loadKeyRing({ masterKeys: config.masterKeys, database: config.database });
      const count = await withDatabase(async ({ db }) => {
        await verifyKeyRing(db, ring);
        const n = await rotateMasterKey(db, ring);
        await insertAudit(db, {
          actor: CLI_ACTOR,
          action: 'master_key.rotate',
          targetType: 'master_key',
          targetId: ring.current.id,
          details: { rewrapped: n },
        });
        return n;
      });
      process.stderr.write(
        `Re-wrapped ${count} tenant data key(s) under master key '${ring.current.id}'.\n`,
      );
      return;
    }
    default:
      throw new UsageError(
        `unknown keys command '${sub ?? ''}' (create, list, update, revoke, new-master, rotate-master)`,
      );
  }
}

async function tenantsCommand(sub: string | undefined, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (sub === 'create') {
    const name = positionals[0];
    if (!name) throw new UsageError('tenants create needs a name');
    const row = await withDatabase(({ db }) => createTenant(db, name, { actor: CLI_ACTOR }));
    if (values.json) process.stdout.write(`${JSON.stringify({ id: row.id, name: row.name })}\n`);
    else process.stdout.write(`${row.id}\n`);
    return;
  }
  if (sub === 'list') {
    const rows = await withDatabase(({ db }) => listTenants(db));
    const views = rows.map((t) => ({
      id: t.id,
      name: t.name,
      createdAt: t.createdAt.toISOString(),
      forgottenAt: t.forgottenAt?.toISOString() ?? null,
    }));
    if (values.json) process.stdout.write(`${JSON.stringify(views)}\n`);
    else
      for (const t of views)
        process.stdout.write(`${t.id}\t${t.name}\t${t.forgottenAt ? 'forgotten' : 'active'}\n`);
    return;
  }
  if (sub === 'forget') {
    const ref = positionals[0];
    if (!ref) throw new UsageError('tenants forget needs a tenant id or name');
    const { tenant, revokedKeys } = await withDatabase(({ db }) =>
      forgetTenant(db, ref, { actor: CLI_ACTOR }),
    );
    process.stderr.write(
      `Forgot tenant ${tenant.id} (${tenant.name}): its data key is destroyed and ${revokedKeys} key(s) revoked.\n`,
    );
    return;
  }
  throw new UsageError(`unknown tenants command '${sub ?? ''}' (create, list, forget)`);
}

async function analystsCommand(sub: string | undefined, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { password: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (sub !== 'grant') throw new UsageError(`unknown analysts command '${sub ?? ''}' (grant)`);
  const role = positionals[0];
  if (!role) throw new UsageError('analysts grant needs a role name');
  const config = loadConfig(process.env);
  if (config.database.kind !== 'postgres') {
    throw new UsageError(
      'analysts grant needs PostgreSQL (set DATABASE_URL=postgres://…): the embedded database has no roles',
    );
  }
  const { created } = await withDatabase(async ({ db }) => {
    const result = await grantAnalystRole(db, role, { password: values.password });
    await insertAudit(db, {
      actor: 'cli',
      action: 'analysts.grant',
      targetType: 'role',
      targetId: role,
      details: { created: result.created, login: values.password !== undefined },
    });
    return result;
  });
  process.stderr.write(
    `${created ? 'Created' : 'Updated'} role ${role}: SELECT on interaction_stats_daily and interaction_stats_hourly only${values.password === undefined ? ' (NOLOGIN)' : ' (LOGIN)'}.\n`,
  );
}

async function run(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'serve':
      return main(process.env);
    case 'migrate':
      await withDatabase(async () => {});
      process.stderr.write('Migrations applied.\n');
      return;
    case 'keys':
      return keysCommand(sub, rest);
    case 'tenants':
      return tenantsCommand(sub, rest);
    case 'analysts':
      return analystsCommand(sub, rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  if (
    err instanceof UsageError ||
    err instanceof KeyAdminError ||
    err instanceof TenantAdminError ||
    err instanceof AnalystRoleError
  ) {
    process.stderr.write(`tollgate: ${err.message}\n`);
    process.exit(2);
  }
  if (
    err instanceof ConfigError ||
    err instanceof DataDirBusyError ||
    err instanceof MasterKeyError
  ) {
    process.stderr.write(`tollgate: ${err.message}\n`);
    process.exit(1);
  }
  const code = (err as { code?: string }).code;
  if (code?.startsWith('ERR_PARSE_ARGS_')) {
    process.stderr.write(`tollgate: ${errorReason(err)}\n`);
    process.exit(2);
  }
  process.stderr.write(`tollgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
