import type { Worker } from 'node:cluster';
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from './logger.js';
import { onStopSignals } from './stop-signals.js';

/** What the primary process needs to run the workers. */
export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** How long a worker may drain after SIGTERM before it is killed. */
  shutdownTimeoutMs: number;
  /** Said once, when every worker listens (the workers share one port). */
  onReady(address: { host: string; port: number }): void;
}

/** Asked by a worker, answered by the primary with every worker's metrics summed. */
const METRICS_REQUEST = 'tollgate:cluster-metrics';
const METRICS_REPLY = 'tollgate:cluster-metrics-reply';
/** A worker that dies sooner than this after its start counts as crashing (restarts slow down). */
const STABLE_AFTER_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;
/** Extra time after the drain timeout before a worker that has not exited is killed. */
const KILL_GRACE_MS = 5_000;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return (
    typeof message === 'object' && message !== null && 'type' in message && message.type === type
  );
}

/**
 * Runs in the primary process of `WORKERS=N`: forks N workers that share the listening socket
 * (node:cluster), each with its slot (0…N−1) in TOLLGATE_WORKER_SLOT, restarts a worker that dies
 * in the same slot (slower and slower while they keep crashing), sums
 * the workers' metrics for whichever worker is scraped, and on SIGTERM/SIGINT lets every worker
 * drain, then resolves with the process's exit code. SIGHUP is logged and ignored.
 */
export function superviseWorkers(options: SupervisorOptions): Promise<number> {
  const { logger } = options;
  const aggregator = new AggregatorRegistry();
  const startedAt = new Map<number, number>();
  let stopping = false;
  let restartDelay = FIRST_RESTART_DELAY_MS;
  let listening = 0;
  let ready = false;
  let exitCode = 0;

  const slots = new Map<number, number>();
  const fork = (slot: number) => {
    const worker = cluster.fork({ TOLLGATE_WORKER_SLOT: String(slot) });
    slots.set(worker.id, slot);
    startedAt.set(worker.id, Date.now());
    worker.on('message', (message: unknown) => answerMetrics(worker, message));
    worker.once('listening', (address) => {
      listening += 1;
      if (!ready && listening >= options.workers) {
        ready = true;
        options.onReady({ host: address.address ?? '', port: address.port });
      }
    });
  };

  const answerMetrics = (worker: Worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, METRICS_REQUEST)) return;
    aggregator.clusterMetrics().then(
      (text) => reply(worker, { type: METRICS_REPLY, id: message.id, text }),
      (err: unknown) => reply(worker, { type: METRICS_REPLY, id: message.id, error: String(err) }),
    );
  };

  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
      const slot = slots.get(worker.id) ?? 0;
      startedAt.delete(worker.id);
      slots.delete(worker.id);
      if (stopping) {
        if (startedAt.size === 0) resolve(exitCode);
        return;
      }
      if (!ready) {
        // A worker that cannot start (database unreachable, port taken, …) will not start on a
        // retry either: stop as a single process would, with its log lines above this one.
        logger.error({ worker: worker.process.pid, code, signal }, 'a worker failed to start');
        exitCode = 1;
        stop('start-up failure');
        return;
      }
      restartDelay = lived >= STABLE_AFTER_MS ? FIRST_RESTART_DELAY_MS : restartDelay;
      logger.warn(
        { worker: worker.process.pid, code, signal, restartInMs: restartDelay },
        'a worker exited unexpectedly; starting another',
      );
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, restartDelay).unref();
      restartDelay = Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
    });

    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: options.workers }, 'shutting down: draining every worker');
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      if (workers.length === 0) resolve(exitCode);
      for (const worker of workers) worker.process.kill('SIGTERM');
      setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) {
          worker?.process.kill('SIGKILL');
        }
      }, options.shutdownTimeoutMs + KILL_GRACE_MS).unref();
    };
    onStopSignals(logger, stop);
    process.on('SIGHUP', () =>
      logger.info(
        { signal: 'SIGHUP' },
        'SIGHUP received and ignored: settings are read at start; restart (SIGTERM) to apply changes',
      ),
    );
    for (let slot = 0; slot < options.workers; slot++) fork(slot);
  });
}

function reply(worker: Worker, message: MetricsReply) {
  if (worker.isConnected()) worker.send(message);
}

/** Whether this process is a worker forked by `superviseWorkers`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * In a worker: lets the primary collect this worker's metrics, and returns what `/metrics` should
 * serve — every worker's metrics summed by the primary (this worker's own if the primary does not
 * answer within a few seconds, so a scrape never hangs).
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side answer to the primary's collection.
  new AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, (reply: MetricsReply) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage<MetricsReply>(message, METRICS_REPLY)) pending.get(message.id)?.(message);
  });
  return () =>
    new Promise((resolve) => {
      const id = next++;
      const fallback = () => {
        pending.delete(id);
        registry.metrics().then(resolve, () => resolve(''));
      };
      const timer = setTimeout(fallback, 6_000);
      pending.set(id, (answer) => {
        clearTimeout(timer);
        pending.delete(id);
        if (answer.text !== undefined) resolve(answer.text);
        else fallback();
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
