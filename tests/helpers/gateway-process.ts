import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '../../src/cli/main.ts');

/** A gateway running as its own process, as in production. */
export interface GatewayProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  terminate(): Promise<number | null>;
}

/** Starts `tollgate serve` in a child process on a random port and waits until it listens. */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Tollgate listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1]) {
        resolve({
          url: m[1],
          child,
          output: () => out,
          terminate: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stderr.on('data', onData);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) =>
      reject(new Error(`gateway exited (${code}) before listening:\n${out}`)),
    );
  });
}
