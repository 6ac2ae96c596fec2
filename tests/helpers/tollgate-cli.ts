import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The node arguments that run the `tollgate` command as it ships: the compiled build, which the
 * test run's global setup brought up to date with the sources (tests/setup/build.ts). A child
 * process on the build starts in a fraction of the time one that compiles TypeScript on load
 * takes, and tests the same code.
 */
export const TOLLGATE_CLI: readonly string[] = [
  join(import.meta.dirname, '../../dist/cli/main.js'),
];

/** What a `tollgate` command run ended with. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tollgate <args>` as its own process with only PATH, HOME and `env` in its environment
 * (so nothing of the test run's own settings leaks in), and resolves once it has exited.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TOLLGATE_CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
