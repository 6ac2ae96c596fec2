import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * How `npm start` runs the gateway: the environment variables and Node flags its `start` script
 * puts before `dist/cli/main.js`. The benches start their gateway processes the same way, so the
 * figures they print are those of the quick start; the image's CMD and ENV are checked against it
 * by the tests.
 */
export interface StartCommand {
  env: Record<string, string>;
  nodeFlags: string[];
}

/**
 * Parses the last command of a `start` script:
 * `[NAME=value …] [exec] node [--flag …] dist/cli/main.js …`.
 */
export function parseStartScript(script: string): StartCommand {
  const last = script.split('&&').at(-1)?.trim() ?? '';
  const words = last.split(/\s+/);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length; i++) {
    const m = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(words[i] ?? '');
    if (!m?.[1]) break;
    env[m[1]] = m[2] ?? '';
  }
  // The shell replaced by node, so the signals npm forwards reach the gateway.
  if (words[i] === 'exec') i += 1;
  if (words[i] !== 'node') throw new Error(`the start script does not run node: ${last}`);
  const nodeFlags: string[] = [];
  for (i += 1; i < words.length && words[i]?.startsWith('--'); i++) nodeFlags.push(words[i] ?? '');
  if (words[i] !== 'dist/cli/main.js') {
    throw new Error(`the start script does not run dist/cli/main.js: ${last}`);
  }
  return { env, nodeFlags };
}

/** The `start` script of this package's package.json, parsed. */
export function startCommand(): StartCommand {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts.start;
  if (!script) throw new Error('package.json has no start script');
  return parseStartScript(script);
}

/**
 * Compiles the gateway if a source changed since the last build, as `npm start` does: the benches
 * run the compiled gateway (dist/), the code users run, not the sources through a TypeScript
 * loader (whose transform adds work to every function a request creates).
 */
export function bringBuildUpToDate(): void {
  const script = fileURLToPath(new URL('../../bin/build-if-stale.js', import.meta.url));
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
}
