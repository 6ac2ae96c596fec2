import { ConfigError } from '../config.js';
import { MasterKeyError } from '../crypto/key-ring.js';
import { AdminRefusal } from '../keys/admin-refusal.js';
import { loadDotEnv } from '../runtime/dot-env.js';
import { errorReason } from '../runtime/error-reason.js';
import { packageVersion } from '../runtime/package-version.js';
import { DataDirBusyError } from '../storage/data-dir-lock.js';
import { AnalystRoleError } from '../storage/queries/analytics-views.js';
import { analystsCommand } from './analysts.js';
import type { Command } from './command-line.js';
import { columns, printHelp, UsageError } from './command-line.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { serveCommand } from './serve.js';
import { tenantsCommand } from './tenants.js';

const COMMANDS: readonly Command[] = [
  serveCommand,
  migrateCommand,
  keysCommand,
  tenantsCommand,
  analystsCommand,
];

const HELP = `usage: tollgate <command> [arguments] [flags]

Tollgate, an OpenAI-compatible LLM gateway. The commands read the same environment as the server
(DATABASE_URL, TOLLGATE_DATA_DIR, TOLLGATE_MASTER_KEYS, …).

commands:
${columns(COMMANDS.map((c) => [c.name, c.summary]))}

  -h, --help       show this help
  --version        print the version

Run 'tollgate <command> --help' for a command's arguments and flags.
`;

async function run(argv: readonly string[]): Promise<void> {
  const [word, ...rest] = argv;
  if (word === undefined || word === '-h' || word === '--help') return printHelp(HELP);
  if (word === '--version' || word === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (word === 'help') {
    // `tollgate help keys create` = `tollgate keys create --help`
    if (rest.length === 0) return printHelp(HELP);
    return run([...rest, '--help']);
  }
  const command = COMMANDS.find((c) => c.name === word);
  if (!command) {
    const hint = word.startsWith('-') ? `unknown flag ${word}` : `unknown command '${word}'`;
    throw new UsageError(`${hint} (see tollgate --help)`);
  }
  await command.run(rest);
}

/** Exit 2 for a bad command line or a refused request; 1 when the environment or the data is wrong. */
function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof AdminRefusal || err instanceof AnalystRoleError) {
    return 2;
  }
  return 1;
}

/** One line, without the sentence's closing full stop (the house style of command-line errors). */
function lineOf(err: unknown): string {
  const known =
    err instanceof ConfigError || err instanceof DataDirBusyError || err instanceof MasterKeyError;
  // Configuration errors list every bad variable, one per line: that is their point.
  if (known) return err.message;
  // Anything else: its first line, never a failed statement or its parameters.
  return errorReason(err).replace(/\.$/, '');
}

// .env applies to every command (variables already set win), so the CLI sees what the server sees.
loadDotEnv(process.env);
run(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tollgate: ${lineOf(err)}\n`);
  process.exit(exitCodeOf(err));
});
