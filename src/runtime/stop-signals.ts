import type { Logger } from './logger.js';

/**
 * Calls `stop` on the first SIGTERM or SIGINT. A repeat (a second Ctrl-C, a supervisor that
 * signals twice) is logged and changes nothing: Node's default would end the process at once,
 * cutting the streams still draining and losing the rows held in memory, where the stop already
 * ends within SHUTDOWN_TIMEOUT_MS.
 */
export function onStopSignals(logger: Logger, stop: (signal: string) => void): void {
  let first: string | null = null;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (first === null) {
        first = signal;
        stop(signal);
        return;
      }
      logger.warn(
        { signal, first },
        `${signal} received while stopping (after ${first}): the stop goes on, within SHUTDOWN_TIMEOUT_MS of the first signal`,
      );
    });
  }
}
