import { COMPRESSION_MODES } from '../compression/compression-mode.js';
import { createKey, revokeKey, updateKey } from '../keys/key-admin.js';
import { keyChangeFromFlags, keySettingsFromFlags } from '../keys/key-flags.js';
import { keyJson, keyStatus } from '../keys/key-view.js';
import { listApiKeys } from '../storage/queries/api-keys.js';
import { findTenant } from '../storage/queries/tenants.js';
import { CLI_ACTOR, withDatabase } from './cli-database.js';
import type { FlagSpecs } from './command-line.js';
import { defineCommand, defineGroup, UsageError } from './command-line.js';
import { announceKeyChanges } from './key-change-notice.js';
import { newMasterCommand, rotateMasterCommand } from './keys-master.js';

const JSON_FLAG = { type: 'boolean', help: 'print JSON (as the admin API shows keys)' } as const;

/** The settings flags `keys create` and `keys update` share; the schema judges their values. */
const SETTINGS_FLAGS = {
  scopes: {
    type: 'string',
    value: 'S,…',
    help: 'chat, analytics:read, analytics:content, admin (default: chat)',
  },
  rpm: { type: 'string', value: 'N', help: 'requests per minute (none = no limit)' },
  tpm: { type: 'string', value: 'N', help: 'tokens per minute (none = no limit)' },
  concurrency: { type: 'string', value: 'N', help: 'requests at once (none = no limit)' },
  compression: {
    type: 'string',
    value: 'MODE',
    help: `${COMPRESSION_MODES.join(', ')} (default = the gateway's)`,
  },
  models: { type: 'string', value: 'a,b', help: 'the models it may use (all = every model)' },
  'expires-in': {
    type: 'string',
    value: '30d',
    help: 'expiry from now: 30d, 12h, 15m, 90s (never = no expiry)',
  },
  cache: {
    type: 'string',
    value: 'on|off',
    help: 'the response cache for its requests (default: on)',
  },
} as const satisfies FlagSpecs;

const createCommand = defineCommand({
  name: 'keys create',
  summary: 'Create a key and print it alone on stdout (shown once: store it).',
  description: 'Everything else goes to stderr; with --json, stdout gets one JSON object.',
  flags: {
    name: { type: 'string', value: 'N', help: 'what the key is for', required: true },
    tenant: { type: 'string', value: 'T', help: 'tenant id or name (default: default)' },
    ...SETTINGS_FLAGS,
    json: JSON_FLAG,
  },
  async action({ flags }) {
    const settings = keySettingsFromFlags(flags, Date.now());
    const { key, row } = await withDatabase(({ db }) =>
      createKey(db, settings, { actor: CLI_ACTOR }),
    );
    if (flags.json) process.stdout.write(`${JSON.stringify({ ...keyJson(row), key })}\n`);
    else {
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `Created ${row.id} for tenant ${row.tenantId}. The key is shown once: store it now.\n`,
      );
    }
  },
});

const listCommand = defineCommand({
  name: 'keys list',
  summary: 'List keys (never their secrets).',
  flags: {
    tenant: { type: 'string', value: 'T', help: 'only this tenant (id or name)' },
    json: JSON_FLAG,
  },
  async action({ flags }) {
    const rows = await withDatabase(async ({ db }) => {
      const tenant = flags.tenant === undefined ? undefined : await findTenant(db, flags.tenant);
      if (flags.tenant !== undefined && !tenant) {
        throw new UsageError(`unknown tenant '${flags.tenant}'`);
      }
      return listApiKeys(db, tenant?.id);
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(rows.map(keyJson))}\n`);
      return;
    }
    const now = Date.now();
    for (const row of rows) {
      const limits = `rpm=${row.rpm ?? '-'} tpm=${row.tpm ?? '-'} concurrency=${row.maxConcurrency ?? '-'}`;
      const status = keyStatus(row, now);
      process.stdout.write(
        `${row.id}\ttg_${row.publicId}_…\t${row.tenantId}\t${row.name}\t${row.scopes.join(',')}\t${status}\t${limits}\n`,
      );
    }
  },
});

const updateCommand = defineCommand({
  name: 'keys update',
  summary: 'Change a key: only the flags given change; the change is audited.',
  args: [{ name: 'id', help: 'key id (key_…) or public id' }],
  flags: {
    name: { type: 'string', value: 'N', help: 'a new name' },
    ...SETTINGS_FLAGS,
    json: JSON_FLAG,
  },
  async action({ flags, args: [id = ''] }) {
    const change = keyChangeFromFlags(flags, Date.now());
    const row = await withDatabase(({ db }) =>
      updateKey(db, id, change, { actor: CLI_ACTOR, at: new Date() }),
    );
    if (!row) throw new UsageError(`unknown key '${id}'`);
    await announceKeyChanges([row.publicId]);
    if (flags.json) process.stdout.write(`${JSON.stringify(keyJson(row))}\n`);
    else process.stderr.write(`Updated ${row.id}.\n`);
  },
});

const revokeCommand = defineCommand({
  name: 'keys revoke',
  summary: 'Revoke a key: it stops working within seconds everywhere.',
  args: [{ name: 'id', help: 'key id (key_…) or public id' }],
  flags: { json: JSON_FLAG },
  async action({ flags, args: [id = ''] }) {
    const row = await withDatabase(({ db }) =>
      revokeKey(db, id, { actor: CLI_ACTOR, at: new Date() }),
    );
    if (!row) throw new UsageError(`unknown key '${id}'`);
    await announceKeyChanges([row.publicId]);
    if (flags.json) process.stdout.write(`${JSON.stringify(keyJson(row))}\n`);
    else process.stderr.write(`Revoked ${row.id}.\n`);
  },
});

/** `tollgate keys …`: API keys and the master keys that protect tenant data. */
export const keysCommand = defineGroup({
  name: 'keys',
  summary: 'Create, list, change and revoke API keys; make and rotate master keys.',
  commands: [
    createCommand,
    listCommand,
    updateCommand,
    revokeCommand,
    newMasterCommand,
    rotateMasterCommand,
  ],
});
