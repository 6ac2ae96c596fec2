import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** The file read at start-up, relative to the working directory, unless TOLLGATE_ENV_FILE names one. */
export const DOT_ENV_FILE = '.env';

/**
 * Loads `.env` (or the file named by TOLLGATE_ENV_FILE) into `env`. Variables already set win over
 * the file, so a value given on the command line or by the orchestrator is never overridden. Returns
 * the path that was read, or null when there is none. Only the process entry calls this: the
 * config loader stays a pure function of the environment it is given.
 */
export function loadDotEnv(env: Record<string, string | undefined> = process.env): string | null {
  const named = env.TOLLGATE_ENV_FILE?.trim();
  const file = resolve(named ? named : DOT_ENV_FILE);
  if (!existsSync(file)) {
    if (named) throw new Error(`TOLLGATE_ENV_FILE names ${file}, which does not exist`);
    return null;
  }
  // Node's own parser (the one behind --env-file), so quoting and comments follow Node's rules.
  const parsed = parseEnv(readFileSync(file, 'utf8'));
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== undefined && env[name] === undefined) env[name] = value;
  }
  return file;
}
