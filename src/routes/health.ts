import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import { errorReason } from '../runtime/error-reason.js';
import { withTimeout } from '../runtime/with-timeout.js';

const READY_PROBE_TIMEOUT_MS = 2_000;

/**
 * GET /healthz (the process is alive) and GET /readyz (it can serve: database reachable, and the
 * interaction log not piling up rows it can write nowhere: half of LOG_MAX_QUEUE held, on the way
 * to refusing rows, makes it not ready, so traffic goes to instances that can record it).
 */
export function healthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (!deps.readiness.ready) throw GatewayError.notReady('The gateway is shutting down.');
    const stalled = deps.writer.stalled();
    if (stalled !== null && stalled.rows * 2 >= deps.config.log.maxQueue) {
      throw GatewayError.notReady(
        `Interaction rows cannot be written (${stalled.cause}): ${stalled.rows} are held in memory.`,
      );
    }
    try {
      await withTimeout(deps.database.ping(), READY_PROBE_TIMEOUT_MS, 'database probe timed out');
    } catch (err) {
      deps.logger.warn({ reason: errorReason(err) }, 'readiness probe failed');
      throw GatewayError.notReady('The database is not reachable.');
    }
    return c.json({ status: 'ready', database: deps.database.kind });
  });
  return app;
}
