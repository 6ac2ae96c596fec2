/** Runs side effects after a response without blocking it; tests and shutdown can drain them. */
export interface Background {
  run(task: Promise<unknown> | (() => Promise<unknown>)): void;
  /** Resolves when every task started so far (and any they started) has settled. */
  drain(): Promise<void>;
  readonly pending: number;
}

/** A background runner that logs failures instead of letting them crash the process. */
export function createBackground(onError: (err: unknown) => void): Background {
  const inFlight = new Set<Promise<unknown>>();
  return {
    run(task) {
      let p: Promise<unknown>;
      try {
        p = typeof task === 'function' ? task() : task;
      } catch (err) {
        onError(err);
        return;
      }
      const tracked = p.catch(onError).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    },
    async drain() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    get pending() {
      return inFlight.size;
    },
  };
}
