import type { Spelling } from '../keys/admin-input.js';
import { listTenants } from '../storage/queries/tenants.js';
import { createTenant, forgetTenant, tenantNameFrom } from '../tenants/tenant-admin.js';
import { tenantJson } from '../tenants/tenant-view.js';
import { CLI_ACTOR, withDatabase } from './cli-database.js';
import { defineCommand, defineGroup } from './command-line.js';
import { announceKeyChanges } from './key-change-notice.js';

const JSON_FLAG = { type: 'boolean', help: 'print JSON (as the admin API shows tenants)' } as const;

/** The tenant's name is a positional argument here, `<name>`. */
const ARG_SPELLING: Spelling = {
  field: (name) => `<${name}>`,
  bare: (name) => `<${name}>`,
  unset: () => 'none',
  onOff: 'on or off',
};

const createCommand = defineCommand({
  name: 'tenants create',
  summary: 'Create a tenant and print its id.',
  args: [{ name: 'name', help: "a unique name (not starting with 'ten_')" }],
  flags: { json: JSON_FLAG },
  async action({ flags, args: [given = ''] }) {
    const name = tenantNameFrom({ name: given }, ARG_SPELLING);
    const row = await withDatabase(({ db }) => createTenant(db, name, { actor: CLI_ACTOR }));
    process.stdout.write(flags.json ? `${JSON.stringify(tenantJson(row))}\n` : `${row.id}\n`);
  },
});

const listCommand = defineCommand({
  name: 'tenants list',
  summary: 'List tenants, forgotten ones included.',
  flags: { json: JSON_FLAG },
  async action({ flags }) {
    const rows = await withDatabase(({ db }) => listTenants(db));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(rows.map(tenantJson))}\n`);
      return;
    }
    for (const t of rows) {
      process.stdout.write(`${t.id}\t${t.name}\t${t.forgottenAt ? 'forgotten' : 'active'}\n`);
    }
  },
});

const forgetCommand = defineCommand({
  name: 'tenants forget',
  summary: "Destroy a tenant's data key: its stored text becomes unreadable; its keys are revoked.",
  args: [{ name: 'tenant', help: 'tenant id (ten_…) or name' }],
  flags: {},
  async action({ args: [ref = ''] }) {
    const revoked: string[] = [];
    const keys = { invalidate: (publicId: string) => revoked.push(publicId) };
    const { tenant, revokedKeys } = await withDatabase(({ db }) =>
      forgetTenant(db, ref, { actor: CLI_ACTOR, keys }),
    );
    await announceKeyChanges(revoked);
    process.stderr.write(
      `Forgot tenant ${tenant.id} (${tenant.name}): its data key is destroyed and ${revokedKeys} key(s) revoked.\n`,
    );
  },
});

/** `tollgate tenants …`: create, list and forget (crypto-shred) tenants. */
export const tenantsCommand = defineGroup({
  name: 'tenants',
  summary: 'Create, list and forget tenants.',
  commands: [createCommand, listCommand, forgetCommand],
});
