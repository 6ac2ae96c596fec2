import { loadConfig } from '../config.js';
import { grantAnalystRole } from '../storage/queries/analytics-views.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { CLI_ACTOR, withDatabase } from './cli-database.js';
import { defineCommand, defineGroup, UsageError } from './command-line.js';

const grantCommand = defineCommand({
  name: 'analysts grant',
  summary: 'Create or update a PostgreSQL role that may SELECT the analytics views only.',
  description: 'Needs DATABASE_URL=postgres://…: the embedded database has no roles.',
  args: [{ name: 'role', help: 'the role name' }],
  flags: {
    password: { type: 'string', value: 'P', help: 'let the role log in (default: NOLOGIN)' },
  },
  async action({ flags, args: [role = ''] }) {
    const config = loadConfig(process.env);
    if (config.database.kind !== 'postgres') {
      throw new UsageError(
        'analysts grant needs PostgreSQL (set DATABASE_URL=postgres://…): the embedded database has no roles',
      );
    }
    const { created } = await withDatabase(async ({ db }) => {
      const result = await grantAnalystRole(db, role, { password: flags.password });
      await insertAudit(db, {
        actor: CLI_ACTOR,
        action: 'analysts.grant',
        targetType: 'role',
        targetId: role,
        details: { created: result.created, login: flags.password !== undefined },
      });
      return result;
    });
    process.stderr.write(
      `${created ? 'Created' : 'Updated'} role ${role}: SELECT on interaction_stats_daily and interaction_stats_hourly only${flags.password === undefined ? ' (NOLOGIN)' : ' (LOGIN)'}.\n`,
    );
  },
});

/** `tollgate analysts …`: database roles for analysts' SQL tools. */
export const analystsCommand = defineGroup({
  name: 'analysts',
  summary: 'PostgreSQL roles for analysts (SQL tools, BI) over the analytics views.',
  commands: [grantCommand],
});
