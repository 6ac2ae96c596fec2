import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { entryModule } from './worker-thread.js';

/** The end of a failed child's standard error that its error message keeps. */
const STDERR_KEPT_CHARS = 4_000;

/**
 * The children still running: a process that exits (a stop that gave up on its start-up) ends
 * them too, so none goes on writing, in a data directory whose lock its parent no longer holds.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs the entry module `name` that sits next to the calling module (see {@link entryModule}) in
 * a child Node process with `args`; resolves when it exits with 0, rejects with the end of what
 * it wrote to standard error otherwise. For one-off work whose memory must not stay behind: what a
 * process frees goes back to the operating system when it ends, where memory a thread allocated
 * and freed stays in the process's malloc arenas.
 */
export function runEntryProcess(
  name: string,
  fromUrl: string,
  args: readonly string[],
): Promise<void> {
  const entry = entryModule(name, fromUrl);
  // Resolved here, from the project, not from wherever the process was started.
  const loader = entry.typescript ? ['--import', import.meta.resolve('tsx')] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loader, fileURLToPath(entry.url), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // A process group of its own: a terminal's Ctrl-C is the parent's to act on, not the child's
      // (its work is cut short by its parent's exit, below, not by a signal meant for the parent).
      detached: true,
    });
    running.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT_CHARS);
    });
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code === 0) {
        resolve();
        return;
      }
      const how = signal ? `was ended by ${signal}` : `exited with code ${code}`;
      const said = stderr.trim();
      reject(new Error(`${name} ${how}${said ? `: ${said}` : ''}`));
    });
  });
}
