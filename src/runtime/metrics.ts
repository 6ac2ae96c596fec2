import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** The process's Prometheus metrics. */
export interface Metrics {
  registry: Registry;
  rateLimitBackendErrors: Counter<'operation' | 'policy'>;
  rateLimited: Counter<'reason'>;
}

/** Creates the registry with the process metrics and the rate-limit counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_process_' });
  return {
    registry,
    rateLimitBackendErrors: new Counter({
      name: 'tollgate_ratelimit_backend_errors_total',
      help: 'Rate limiter backend (Redis) failures, by operation and the policy applied',
      labelNames: ['operation', 'policy'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'tollgate_ratelimit_rejections_total',
      help: 'Requests rejected by a rate limit, by the limit that applied',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/** A gauge that reads a live value when scraped, so nothing runs per request. */
export function liveGauge(registry: Registry, name: string, help: string, read: () => number) {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
