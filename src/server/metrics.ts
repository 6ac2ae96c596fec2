import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { WriterMetrics } from '../storage/interaction-writer.js';

/** The process's Prometheus metrics. */
export interface Metrics {
  registry: Registry;
  rateLimitBackendErrors: Counter<'operation' | 'policy'>;
  rateLimited: Counter<'reason'>;
}

/** Creates the registry; gauges read live values when scraped, so nothing runs per request. */
export function createMetrics(sources: { writer: () => WriterMetrics }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_process_' });
  const writerGauge = (name: string, help: string, pick: (m: WriterMetrics) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(sources.writer()));
      },
    });
  writerGauge(
    'tollgate_log_queue_depth',
    'Interaction rows waiting in memory',
    (m) => m.queueDepth,
  );
  writerGauge(
    'tollgate_log_outbox_rows',
    'Interaction rows waiting in the outbox file',
    (m) => m.outboxRows,
  );
  writerGauge(
    'tollgate_log_rows_written',
    'Interaction rows written to the database',
    (m) => m.rowsWritten,
  );
  writerGauge(
    'tollgate_log_write_failures',
    'Failed interaction log writes',
    (m) => m.writeFailures,
  );
  writerGauge(
    'tollgate_log_duplicate_rows',
    'Rows skipped because their id was already stored',
    (m) => m.duplicateRows,
  );
  writerGauge(
    'tollgate_log_rows_rejected',
    'Rows the database refused for what they hold (kept in the outbox rejected file)',
    (m) => m.rowsRejected,
  );
  writerGauge(
    'tollgate_log_content_dropped',
    'Rows stored without content (tenant key unavailable)',
    (m) => m.contentDropped,
  );
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
