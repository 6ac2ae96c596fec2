import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ModelLabels } from './model-labels.js';

/** The process's Prometheus metrics, named by Prometheus's conventions under one `tollgate_` prefix. */
export interface Metrics {
  registry: Registry;
  /**
   * What GET /metrics serves: this registry, or, in a worker of `WORKERS=N`, every worker's
   * metrics summed by the primary (set at start-up).
   */
  scrape: () => Promise<string>;
  rateLimitBackendErrors: Counter<'operation' | 'policy'>;
  rateLimited: Counter<'reason'>;
  /** Time from a request's arrival to its last byte (or its headers, where the end is not seen). */
  requestDuration: Histogram<'method' | 'route' | 'status' | 'model'>;
  requestsInFlight: Gauge;
  /** Time spent waiting on the upstream for one request, retries included. */
  upstreamDuration: Histogram<'provider' | 'model' | 'outcome'>;
  timeToFirstToken: Histogram<'provider' | 'model'>;
  /** Tokens billed by the upstream; `type` is `prompt` or `completion`. */
  tokens: Counter<'type' | 'model'>;
  estimatedCost: Counter<'model'>;
  /** Requests that reached the upstream and had no price in the price table. */
  unpricedRequests: Counter<'model'>;
  cacheLookups: Counter<'result'>;
  compressionTokensSaved: Counter;
  /** The bounded values of every `model` label above (see ModelLabels). */
  modelLabels: ModelLabels;
}

/** Seconds: from a fast cache hit to a long completion. */
const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];
const FIRST_TOKEN_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/**
 * prom-client's default metrics include three gauges whose names end in `_total`, which Prometheus
 * reserves for counters (`promtool check metrics` rejects them). Their per-type siblings
 * (`nodejs_active_handles` etc.) carry the same information.
 */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Creates the registry with Node's standard process metrics and the gateway's own; `models` are
 * the model names configuration names, each a `model` label value from the start.
 */
export function createMetrics(models: Iterable<string> = []): Metrics {
  const registry = new Registry();
  // No prefix: stock dashboards look for process_cpu_seconds_total, nodejs_heap_size_used_bytes, …
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const registers = [registry];
  return {
    registry,
    scrape: () => registry.metrics(),
    rateLimitBackendErrors: new Counter({
      name: 'tollgate_ratelimit_backend_errors_total',
      help: 'Rate limiter backend (Redis) failures, by operation and the policy applied',
      labelNames: ['operation', 'policy'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'tollgate_ratelimit_rejections_total',
      help: 'Requests rejected by a rate limit, by the limit that applied',
      labelNames: ['reason'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'tollgate_http_request_duration_seconds',
      help: 'HTTP requests by method, route, status and model: time from arrival to the end of the response',
      labelNames: ['method', 'route', 'status', 'model'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    requestsInFlight: new Gauge({
      name: 'tollgate_http_requests_in_flight',
      help: 'HTTP requests received and not yet answered',
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time spent waiting on the upstream per request, retries included, by provider, model and outcome',
      labelNames: ['provider', 'model', 'outcome'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'tollgate_upstream_time_to_first_token_seconds',
      help: 'Streamed requests: time from arrival to the first chunk from the upstream',
      labelNames: ['provider', 'model'],
      buckets: FIRST_TOKEN_BUCKETS_SECONDS,
      registers,
    }),
    tokens: new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens billed by the upstream, by type (prompt, completion) and model',
      labelNames: ['type', 'model'],
      registers,
    }),
    estimatedCost: new Counter({
      name: 'tollgate_estimated_cost_usd_total',
      help: 'Estimated upstream cost in US dollars from the price table, by model',
      labelNames: ['model'],
      registers,
    }),
    unpricedRequests: new Counter({
      name: 'tollgate_unpriced_requests_total',
      help: 'Upstream requests left out of the cost estimate because their model has no price',
      labelNames: ['model'],
      registers,
    }),
    cacheLookups: new Counter({
      name: 'tollgate_cache_lookups_total',
      help: 'Response cache lookups by result (hit, semantic-hit, miss, bypass)',
      labelNames: ['result'],
      registers,
    }),
    compressionTokensSaved: new Counter({
      name: 'tollgate_compression_tokens_saved_total',
      help: 'Prompt tokens removed by compression before the upstream call',
      registers,
    }),
    modelLabels: new ModelLabels(models),
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

/**
 * A counter that reads an ever-increasing count kept elsewhere when scraped; it adds what the count
 * grew by since the last scrape, so it never goes down.
 */
export function liveCounter(registry: Registry, name: string, help: string, read: () => number) {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}
