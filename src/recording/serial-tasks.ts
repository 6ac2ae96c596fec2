import type { Logger } from '../runtime/logger.js';

/**
 * Runs tasks one after another, in the order they were given. A failed task rejects its own
 * promise and is logged; the tasks after it still run.
 */
export class SerialTasks {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly logger: Logger) {}

  /** Queues `task` behind every task queued before it. */
  run(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(task);
    this.tail = run.catch((err: unknown) =>
      this.logger.error({ err }, 'interaction writer task failed'),
    );
    return run;
  }

  /** Resolves when every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}
