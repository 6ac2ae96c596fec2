import { loadConfig } from '../config.js';
import { generateMasterKeyEntry, loadKeyRing } from '../crypto/key-ring.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { rotateMasterKey, verifyKeyRing } from '../tenants/tenant-keys.js';
import { CLI_ACTOR, refuseUncreatedDatabase, withDatabase } from './cli-database.js';
import { defineCommand, UsageError } from './command-line.js';

/** `tollgate keys new-master`: prints a new master key entry; touches nothing. */
export const newMasterCommand = defineCommand({
  name: 'keys new-master',
  summary: 'Print a new master key entry (id:base64) for TOLLGATE_MASTER_KEYS.',
  description:
    'Put it first in TOLLGATE_MASTER_KEYS (keep the old entries after it), restart, then run\ntollgate keys rotate-master.',
  args: [{ name: 'id', help: 'the same as --id', optional: true }],
  flags: { id: { type: 'string', value: 'ID', help: "the entry's id (default: generated)" } },
  async action({ flags, args: [positional] }) {
    if (flags.id !== undefined && positional !== undefined) {
      throw new UsageError('give the master key id once: --id ID');
    }
    const id = flags.id ?? positional;
    // The same rule TOLLGATE_MASTER_KEYS is read with: an id it would refuse is refused here.
    if (id !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new UsageError('--id must be 1 to 64 letters, digits, dots, dashes or underscores');
    }
    process.stdout.write(`${generateMasterKeyEntry(id)}\n`);
    process.stderr.write(
      'Put it first in TOLLGATE_MASTER_KEYS (keep the old entries after it), restart, then run tollgate keys rotate-master.\n',
    );
  },
});

/** `tollgate keys rotate-master`: re-wraps every tenant data key under the current master key. */
export const rotateMasterCommand = defineCommand({
  name: 'keys rotate-master',
  summary: 'Re-wrap every tenant data key under the first master key (rows are untouched).',
  flags: {},
  async action() {
    const config = loadConfig(process.env);
    // Before the key ring: on the embedded database it would write master.key into a directory
    // with no database in it.
    refuseUncreatedDatabase(config.database);
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
  },
});
