import type { Registry } from 'prom-client';
import { liveCounter, liveGauge } from '../runtime/metrics.js';
import type { WriterMetrics } from './writer-metrics.js';

/** Exports the interaction log's queue and outbox (gauges) and its write counts (counters). */
export function registerLogMetrics(registry: Registry, read: () => WriterMetrics): void {
  const gauge = (name: string, help: string, pick: (m: WriterMetrics) => number) =>
    liveGauge(registry, name, help, () => pick(read()));
  const counter = (name: string, help: string, pick: (m: WriterMetrics) => number) =>
    liveCounter(registry, name, help, () => pick(read()));
  gauge('tollgate_log_queue_depth', 'Interaction rows waiting in memory', (m) => m.queueDepth);
  gauge(
    'tollgate_log_outbox_rows',
    'Interaction rows waiting in the outbox file',
    (m) => m.outboxRows,
  );
  counter(
    'tollgate_log_rows_written_total',
    'Interaction rows written to the database',
    (m) => m.rowsWritten,
  );
  counter(
    'tollgate_log_write_failures_total',
    'Failed interaction log writes',
    (m) => m.writeFailures,
  );
  counter(
    'tollgate_log_duplicate_rows_total',
    'Rows skipped because their id was already stored',
    (m) => m.duplicateRows,
  );
  counter(
    'tollgate_log_rows_rejected_total',
    'Rows the database refused for what they hold (kept in the outbox rejected file)',
    (m) => m.rowsRejected,
  );
  counter(
    'tollgate_log_outbox_write_failures_total',
    'Failed outbox appends (the rows stay queued in memory and are retried)',
    (m) => m.outboxWriteFailures,
  );
  counter(
    'tollgate_log_rows_dropped_total',
    'Rows refused at LOG_MAX_QUEUE while neither the database nor the outbox could be written',
    (m) => m.rowsDropped,
  );
  counter(
    'tollgate_log_content_dropped_total',
    'Rows stored without content (tenant key unavailable)',
    (m) => m.contentDropped,
  );
}
