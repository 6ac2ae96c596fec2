import { Hono } from 'hono';
import type { Deps } from './deps.js';
import type { AppEnv } from './http/env.js';
import { ClientClosedError, GatewayError } from './http/errors.js';
import { accessLog } from './pipeline/access-log.js';
import { cors } from './pipeline/cors.js';
import { requestId } from './pipeline/request-id.js';
import { traceRequest } from './pipeline/trace.js';
import { adminRoutes } from './routes/admin.js';
import { analyticsRoutes } from './routes/analytics.js';
import { chatCompletionsRoute } from './routes/chat-completions.js';
import { conversationsRoute } from './routes/conversations.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { embeddingsRoute } from './routes/embeddings.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { modelsRoute } from './routes/models.js';
import { responsesRoute } from './routes/responses.js';

/** Builds the HTTP app from its dependencies. Reads no environment. */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>();
  const crossOrigin = deps.config.corsOrigins === null ? null : cors(deps.config.corsOrigins);
  app.use('*', requestId(deps, crossOrigin));
  if (deps.tracing.enabled) app.use('*', traceRequest(deps));
  // Every request, /v1 included, until the after-response step reports /v1 with its full outcome.
  app.use('*', accessLog(deps));
  app.route('/', healthRoutes(deps));
  app.route('/', metricsRoute(deps));
  app.route('/v1', chatCompletionsRoute(deps));
  app.route('/v1', modelsRoute(deps));
  app.route('/v1', responsesRoute(deps));
  app.route('/v1', embeddingsRoute(deps));
  app.route('/v1', conversationsRoute(deps));
  if (crossOrigin) app.options('/v1/*', crossOrigin.preflight);
  app.route('/admin', adminRoutes(deps));
  app.route('/analytics', analyticsRoutes(deps));
  app.route('/dashboard', dashboardRoutes());

  app.notFound((c) => {
    const err = GatewayError.unknownRoute(c.req.method, c.req.path);
    // The access log reads the error the client was answered with, as it does for a thrown one.
    c.error = err;
    return c.json(err.body(), err.status);
  });

  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      // Not logged here: the request's one access-log line (a warn for a 5xx) says it.
      return c.json(err.body(), err.status);
    }
    if (err instanceof ClientClosedError) return c.body(null, 400);
    deps.logger.error({ requestId: c.get('requestId'), err }, 'unhandled error');
    const internal = GatewayError.internal();
    return c.json(internal.body(), internal.status);
  });
  return app;
}
