import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { threadCpuMicros } from './thread-cpu.js';

/** Sent by a service child once it listens, and in reply to a CPU query. */
type ChildMessage =
  | { type: 'ready'; port: number; headers: Record<string, string> }
  | {
      type: 'cpu';
      id: number;
      micros: number;
      rssBytes: number;
      /** CPU by kind of thread (main, each worker, the rest), microseconds; empty off Linux. */
      threads: Record<string, number>;
    }
  | { type: 'failed'; message: string };

/** Sent by the orchestrator to a service child. */
type ParentMessage = { type: 'cpu'; id: number } | { type: 'stop' };

/** What a child entry starts: a listening server and how to close it. */
export interface ServiceInstance {
  port: number;
  /** Headers every request to this service needs (an API key, for the gateway). */
  headers?: Record<string, string>;
  close(): Promise<void>;
}

/** A service running in its own process, so it has an event loop (and a core) to itself. */
export interface ServiceHandle {
  name: string;
  origin: string;
  headers: Record<string, string>;
  /** User + system CPU the child process has used so far (all its threads), in microseconds. */
  cpuMicros(): Promise<number>;
  /** The same, with the child's CPU by kind of thread (see thread-cpu.ts). */
  cpuReading(): Promise<CpuReading>;
  /** The child's resident set size at its last CPU reading, in bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** A child's CPU so far: in total, and by kind of thread. */
export interface CpuReading {
  micros: number;
  threads: Record<string, number>;
}

/** How long a child may take to start (PGlite start-up and migrations on a busy 2-core box). */
const READY_TIMEOUT_MS = 60_000;
/** How long a child may take to shut down before it is killed. */
const STOP_TIMEOUT_MS = 8_000;
const CPU_QUERY_TIMEOUT_MS = 5_000;
/** The longest a child waits for its own close() after being told to stop. */
const CHILD_CLOSE_TIMEOUT_MS = 5_000;

function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && 'type' in value;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * What a child inherits from the shell: enough to run node and tsx, nothing that configures the
 * gateway (DATABASE_URL, TOLLGATE_CONFIG, REDIS_URL, …), so each row runs with what it sets.
 */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Forks a TypeScript entry (run through tsx) and waits until it reports its port over IPC. */
export function forkService(
  name: string,
  entry: URL,
  env: Record<string, string>,
  execArgv: readonly string[] = [],
): Promise<ServiceHandle> {
  const child = fork(entry, [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reading: CpuReading) => void>();
  let nextId = 0;
  let rss = 0;
  child.on('message', (message: unknown) => {
    if (isChildMessage(message) && message.type === 'cpu') {
      rss = message.rssBytes;
      pending.get(message.id)?.({ micros: message.micros, threads: message.threads });
      pending.delete(message.id);
    }
  });

  const cpuReading = (): Promise<CpuReading> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: no CPU reading within ${CPU_QUERY_TIMEOUT_MS} ms`));
      }, CPU_QUERY_TIMEOUT_MS);
      pending.set(id, (reading) => {
        clearTimeout(timer);
        resolve(reading);
      });
      child.send({ type: 'cpu', id } satisfies ParentMessage);
    });
  };

  const handle = (port: number, headers: Record<string, string>): ServiceHandle => ({
    name,
    origin: `http://127.0.0.1:${port}`,
    headers,
    cpuMicros: async () => (await cpuReading()).micros,
    cpuReading,
    rssBytes: () => rss,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited(child);
      clearTimeout(timer);
    },
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: not ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited before it was ready (code ${code}, signal ${signal})`));
    };
    child.once('exit', onExit);
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(handle(message.port, message.headers));
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${name}: ${message.message}`));
      }
    });
  });
}

/**
 * The child side: starts the service, reports its port, answers CPU queries and closes on
 * request. It also exits when the orchestrator goes away, so no child outlives a crashed run.
 */
export function runService(start: () => Promise<ServiceInstance>): void {
  const send = (message: ChildMessage) => process.send?.(message);
  let instance: ServiceInstance | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const forced = setTimeout(() => process.exit(code), CHILD_CLOSE_TIMEOUT_MS);
    await instance?.close().catch(() => {});
    clearTimeout(forced);
    process.exit(code);
  };
  // Ctrl-C reaches the whole process group; the orchestrator stops its children in order.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => void stop(0));
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cpu') {
      const usage = process.cpuUsage();
      send({
        type: 'cpu',
        id: message.id,
        micros: usage.user + usage.system,
        rssBytes: process.memoryUsage.rss(),
        threads: threadCpuMicros(),
      });
    } else if (message.type === 'stop') {
      void stop(0);
    }
  });
  process.on('disconnect', () => void stop(0));
  start().then(
    (started) => {
      instance = started;
      send({ type: 'ready', port: started.port, headers: started.headers ?? {} });
    },
    (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      void stop(1);
    },
  );
}
