import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { startCommand } from '../../bench/lib/start-command.js';
import { TOLLGATE_CLI } from './tollgate-cli.js';

/** `tollgate serve` as its own process, from its first output on. */
export interface SpawnedGateway {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves once the output so far satisfies `test` (checked on every new output). */
  waitFor(test: (output: string) => boolean): Promise<void>;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** A gateway running as its own process, as in production. */
export interface GatewayProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  terminate(): Promise<number | null>;
  /** Resolves once the output so far satisfies `test` (checked on every new output). */
  waitFor(test: (output: string) => boolean): Promise<void>;
}

/**
 * Spawns `tollgate serve` on a random port, with the Node flags and environment of `npm start`,
 * without waiting for anything; with `ownProcessGroup`, as the leader of a process group.
 */
export function spawnGatewayProcess(
  env: Record<string, string>,
  options: { ownProcessGroup?: boolean } = {},
): SpawnedGateway {
  const start = startCommand();
  const child = spawn(process.execPath, [...start.nodeFlags, ...TOLLGATE_CLI, 'serve'], {
    env: { ...start.env, PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // A group of its own (and its children's), as a terminal or a service manager starts it: a
    // signal to the group (Ctrl-C, systemd's stop) reaches every process in it.
    detached: options.ownProcessGroup === true,
  });
  let out = '';
  const waiters = new Set<() => void>();
  const waitFor = (test: (output: string) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!test(out)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const grow = (d: Buffer) => {
    out += d.toString();
    for (const check of [...waiters]) check();
  };
  child.stderr.on('data', grow);
  child.stdout.on('data', grow);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, waitFor, exited };
}

/**
 * Starts `tollgate serve` in a child process on a random port, with the Node flags and environment
 * of `npm start`, and waits until it listens (and, when given, until its output matches `ready`).
 */
export function startGatewayProcess(
  env: Record<string, string>,
  ready?: RegExp,
): Promise<GatewayProcess> {
  const gateway = spawnGatewayProcess(env);
  const { child, output, waitFor, exited } = gateway;
  return new Promise((resolve, reject) => {
    void waitFor((out) => {
      const m = /Tollgate listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      return m?.[1] !== undefined && (ready === undefined || ready.test(out));
    }).then(() => {
      const url = /Tollgate listening on (http:\/\/[\d.]+:\d+)/.exec(output())?.[1] ?? '';
      resolve({
        url,
        child,
        output,
        terminate: () => {
          child.kill('SIGTERM');
          return exited;
        },
        waitFor,
      });
    });
    void exited.then((code) =>
      reject(new Error(`gateway exited (${code}) before listening:\n${output()}`)),
    );
  });
}
