import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';

const READY_PROBE_TIMEOUT_MS = 2_000;

/** GET /healthz (the process is alive) and GET /readyz (it can serve: database reachable). */
export function healthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (!deps.readiness.ready) throw GatewayError.notReady('The gateway is shutting down.');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.database.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('database probe timed out')),
            READY_PROBE_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'readiness probe failed');
      throw GatewayError.notReady('The database is not reachable.');
    } finally {
      clearTimeout(timer);
    }
    return c.json({ status: 'ready', database: deps.database.kind });
  });
  return app;
}
