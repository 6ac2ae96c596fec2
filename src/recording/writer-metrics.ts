/** Counters and gauges of the log writer (exported on /metrics). */
export interface WriterMetrics {
  queueDepth: number;
  outboxRows: number;
  rowsWritten: number;
  writeFailures: number;
  duplicateRows: number;
  /** Rows recorded without their content because the tenant's key could not be loaded. */
  contentDropped: number;
  /** Rows the database refused on their own (set aside in the outbox's rejected file). */
  rowsRejected: number;
  /** Batches the outbox could not take (a full disk); their rows stay in memory and are retried. */
  outboxWriteFailures: number;
  /** Rows refused at the queue's bound while neither the database nor the outbox took rows. */
  rowsDropped: number;
}

/** Fresh counters for a writer whose outbox already holds `outboxRows`. */
export function newWriterMetrics(outboxRows: number): WriterMetrics {
  return {
    queueDepth: 0,
    outboxRows,
    rowsWritten: 0,
    writeFailures: 0,
    duplicateRows: 0,
    contentDropped: 0,
    rowsRejected: 0,
    outboxWriteFailures: 0,
    rowsDropped: 0,
  };
}
