import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { loadConfig } from './config.js';
import type { Deps } from './deps.js';
import { openDeps } from './deps.js';
import { ADMIN_KEY_HINT, bootstrapAdminKey } from './keys/bootstrap-key.js';
import { clusterMetricsSource, isClusterWorker, superviseWorkers } from './runtime/cluster.js';
import { loadDotEnv } from './runtime/dot-env.js';
import type { Logger } from './runtime/logger.js';
import { createLogger } from './runtime/logger.js';
import { onStopSignals } from './runtime/stop-signals.js';
import type { BoundPort } from './server.js';
import { bindPort } from './server.js';

/** Of SHUTDOWN_TIMEOUT_MS, the end kept for writing held rows to the outbox (at most a quarter). */
const SPILL_RESERVE_MS = 1_000;

/**
 * Ends the process within SHUTDOWN_TIMEOUT_MS whatever the database does: near the end, the rows
 * still held in memory go to the outbox (the next start replays them) and the process exits.
 */
function exitAtDeadline(deps: Deps): void {
  const timeoutMs = deps.config.shutdownTimeoutMs;
  const reserveMs = Math.min(SPILL_RESERVE_MS, timeoutMs / 4);
  const timer = setTimeout(() => {
    const spilled = deps.writer.spillPending();
    const giveUp = new Promise<'gave up'>((resolve) =>
      setTimeout(() => resolve('gave up'), reserveMs),
    );
    void Promise.race([spilled, giveUp]).then(
      (rows) => {
        const lost = rows === 'gave up';
        deps.logger.warn(
          { rows: lost ? null : rows },
          lost
            ? 'shutdown deadline reached; the outbox could not be written in time'
            : 'shutdown deadline reached: rows still held were written to the outbox; exiting',
        );
        deps.logger.flush(() => process.exit(lost ? 1 : 0));
      },
      (err: unknown) => {
        deps.logger.error({ err }, 'shutdown deadline reached; the outbox could not be written');
        deps.logger.flush(() => process.exit(1));
      },
    );
  }, timeoutMs - reserveMs);
  timer.unref();
}

/**
 * .env → loadConfig → openDeps → createApp → serve; SIGTERM and SIGINT drain and exit; SIGHUP (a
 * closed terminal, or an orchestrator's reload) is logged and ignored: nothing is reloadable in place.
 */
export async function main(env: Record<string, string | undefined>): Promise<void> {
  // Installed first: Node's default for SIGHUP is to exit, even half-way through start-up.
  let onHangup = () => {};
  process.on('SIGHUP', () => onHangup());
  // The CLI entry has already read it for every command; reading again only names the file.
  const envFile = loadDotEnv(env);
  const config = loadConfig(env);
  if (config.workers > 1 && !isClusterWorker()) {
    process.removeAllListeners('SIGHUP');
    process.exitCode = await runWorkers(config, envFile);
    return;
  }
  const logger = createLogger(config.logLevel);
  // From here on SIGTERM and SIGINT never end the process by Node's default: a signal during
  // start-up (a new data directory being created, migrations) lets it finish, then stops.
  let stop = (signal: string) => stopDuringStartUp(logger, config.shutdownTimeoutMs, signal);
  let stopRequested: string | null = null;
  onStopSignals(logger, (signal) => {
    stopRequested = signal;
    stop(signal);
  });
  // The port is bound before the database opens (tens of seconds for a new data directory): a
  // port already taken is reported at once. Requests arriving meanwhile wait for the app. A
  // cluster worker binds once ready: its primary counts a listening worker as a ready one.
  const early = isClusterWorker() ? null : await bind(config);
  const deps = await openDeps(config, env, { logger });
  if (stopRequested !== null) {
    await early?.close();
    await deps.close();
    logger.info({ signal: stopRequested }, 'stopped before serving');
    logger.flush(() => process.exit(0));
    return;
  }
  if (isClusterWorker()) {
    deps.metrics.scrape = clusterMetricsSource(deps.metrics.registry);
  } else {
    if (envFile) deps.logger.info({ file: envFile }, `read settings from ${envFile}`);
    warnStrandedOutboxes(deps.logger, config);
  }
  if (config.database.kind === 'pglite' && config.database.dataDir !== null) {
    const admin = await bootstrapAdminKey(deps.database.db, config.database.dataDir);
    if (admin.kind === 'created') {
      deps.logger.warn(
        { file: admin.file },
        `First start: created a key with every scope and wrote it to ${admin.file} (readable by you only). Use it as the Bearer token; create narrower keys with POST /admin/keys while the server runs, or with 'tollgate keys create' while it is stopped (the embedded database is single-process).`,
      );
    } else if (admin.kind === 'removed') {
      deps.logger.warn(
        { file: admin.file },
        `${admin.file} was removed after the first start and is not recreated. To get an admin key, ${ADMIN_KEY_HINT}.`,
      );
    } else {
      deps.logger.info({ file: admin.file }, `admin key: ${admin.file}`);
    }
  }
  if (!config.upstream.apiKey && !config.routingFile) {
    deps.logger.warn(
      'No UPSTREAM_API_KEY or OPENAI_API_KEY is set: upstream calls will be refused by the provider.',
    );
  }
  const port =
    early ??
    (await bind(config).catch(async (err: unknown) => {
      await deps.close();
      throw err;
    }));
  const running = port.serve(deps);
  deps.logger.info(
    { port: running.port, host: config.host, database: deps.database.kind },
    `Tollgate listening on http://${config.host}:${running.port}`,
  );
  stop = (signal: string) => {
    deps.logger.info({ signal }, 'shutting down: draining in-flight requests');
    exitAtDeadline(deps);
    running.stop().then(
      () => {
        deps.logger.info('stopped');
        deps.logger.flush(() => process.exit(0));
      },
      (err: unknown) => {
        deps.logger.error({ err }, 'shutdown failed');
        deps.logger.flush(() => process.exit(1));
      },
    );
  };
  // A signal that came after the database opened, while the server was being started.
  if (stopRequested !== null) stop(stopRequested);
  onHangup = () =>
    deps.logger.info(
      { signal: 'SIGHUP' },
      'SIGHUP received and ignored: settings are read at start; restart (SIGTERM) to apply changes',
    );
}

/** Binds the gateway's port; an error that names the address and the settings when it cannot. */
function bind(config: Config): Promise<BoundPort> {
  return bindPort(config).catch((err: unknown) => {
    // Node's own words name neither the setting nor the address (`getaddrinfo ENOTFOUND x`).
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`could not listen on ${config.host}:${config.port} (HOST, PORT): ${reason}`, {
      cause: err,
    });
  });
}

/**
 * A stop signal before the server listens: start-up finishes (a database half created or half
 * migrated would be left for the next start to trip on), then the gateway stops without serving.
 * A start-up still not done SHUTDOWN_TIMEOUT_MS later (a database that does not answer) is given up.
 */
function stopDuringStartUp(logger: Logger, shutdownTimeoutMs: number, signal: string): void {
  logger.info(
    { signal },
    `${signal} during start-up: stopping once the database is open, without serving`,
  );
  setTimeout(() => {
    logger.warn(
      { signal },
      'start-up did not finish within SHUTDOWN_TIMEOUT_MS of the stop signal; exiting',
    );
    logger.flush(() => process.exit(1));
  }, shutdownTimeoutMs).unref();
}

/** The primary of `WORKERS=N`: forks the workers (each runs `main`), supervises them, drains them. */
async function runWorkers(config: Config, envFile: string | null): Promise<number> {
  const logger = createLogger(config.logLevel);
  if (envFile) logger.info({ file: envFile }, `read settings from ${envFile}`);
  warnStrandedOutboxes(logger, config);
  const code = await superviseWorkers({
    workers: config.workers,
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    onReady: ({ port }) =>
      logger.info(
        { port, host: config.host, workers: config.workers },
        `Tollgate listening on http://${config.host}:${port} with ${config.workers} workers`,
      ),
  });
  logger.info('stopped');
  await new Promise<void>((done) => logger.flush(() => done()));
  return code;
}

/**
 * Outbox directories holding rows no process of this start will replay: one process owns
 * `outbox/`, the workers of WORKERS=N own `outbox/worker-<slot>` (slot < N).
 */
function strandedOutboxes(dataDir: string, workers: number): string[] {
  const root = join(dataDir, 'outbox');
  if (!existsSync(root)) return [];
  const hasSegments = (dir: string) => readdirSync(dir).some((name) => name.endsWith('.ndjson'));
  const stranded = workers > 1 && hasSegments(root) ? [root] : [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const slot = /^worker-(\d+)$/.exec(entry.name)?.[1];
    const dir = join(root, entry.name);
    const owned = workers > 1 && Number(slot) < workers;
    if (entry.isDirectory() && slot !== undefined && !owned && hasSegments(dir)) {
      stranded.push(dir);
    }
  }
  return stranded;
}

function warnStrandedOutboxes(logger: Logger, config: Config) {
  const stranded = strandedOutboxes(config.dataDir, config.workers);
  if (stranded.length === 0) return;
  logger.warn(
    { directories: stranded },
    `interaction-log rows wait in outbox directories no process replays with WORKERS=${config.workers}: ${stranded.join(', ')}. Start once with the WORKERS value that wrote them (outbox/worker-<slot> with WORKERS above the slot, ${join(config.dataDir, 'outbox')} itself with WORKERS=1) to deliver them.`,
  );
}
