import type { Registry } from 'prom-client';
import { liveGauge } from '../runtime/metrics.js';
import type { WriterMetrics } from './writer-metrics.js';

/** Exports the interaction log's queue, outbox and write counts on the registry. */
export function registerLogMetrics(registry: Registry, read: () => WriterMetrics): void {
  const gauge = (name: string, help: string, pick: (m: WriterMetrics) => number) =>
    liveGauge(registry, name, help, () => pick(read()));
  gauge('tollgate_log_queue_depth', 'Interaction rows waiting in memory', (m) => m.queueDepth);
  gauge(
    'tollgate_log_outbox_rows',
    'Interaction rows waiting in the outbox file',
    (m) => m.outboxRows,
  );
  gauge(
    'tollgate_log_rows_written',
    'Interaction rows written to the database',
    (m) => m.rowsWritten,
  );
  gauge('tollgate_log_write_failures', 'Failed interaction log writes', (m) => m.writeFailures);
  gauge(
    'tollgate_log_duplicate_rows',
    'Rows skipped because their id was already stored',
    (m) => m.duplicateRows,
  );
  gauge(
    'tollgate_log_rows_rejected',
    'Rows the database refused for what they hold (kept in the outbox rejected file)',
    (m) => m.rowsRejected,
  );
  gauge(
    'tollgate_log_content_dropped',
    'Rows stored without content (tenant key unavailable)',
    (m) => m.contentDropped,
  );
}
