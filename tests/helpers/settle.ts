import type { Deps } from '../../src/deps.js';

/** Waits until every background task has run and the log writer has written its queue. */
export async function settleLog(deps: Deps): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await deps.background.drain();
  await deps.writer.flush();
}
