/**
 * The storage primitives a windowed rate limiter needs from a backend. Each operation is atomic on
 * its own; the limiter composes them and rolls back on rejection. Implementations may reject
 * (backend down, timeout); the limiter turns that into its fail policy. A rejection that leaves
 * the operation on its way is an {@link UnansweredStoreError}; any other means it did not happen,
 * or that nothing asked of the store now could take effect after it.
 */
export interface LimitStore {
  /**
   * Adds `points` (0 to read, negative to give back) to the counter `key` and resolves to its
   * total after the change. A new counter starts at 0 and expires COUNTER_TTL_S after creation.
   */
  add(key: string, points: number): Promise<number>;
  /**
   * Takes a slot in the lease set `key` for `leaseId` unless `max` unexpired leases are held.
   * A lease expires at `nowMs + leaseMs` (by the caller's clock) even if never released.
   */
  acquireLease(
    key: string,
    leaseId: string,
    max: number,
    nowMs: number,
    leaseMs: number,
  ): Promise<boolean>;
  /** Drops `leaseId` from the lease set `key`; doing it twice is harmless. */
  releaseLease(key: string, leaseId: string): Promise<void>;
  /** Frees what the store owns. */
  close(): Promise<void>;
}

/**
 * An operation the store sent and saw no answer to in time (a stalled backend): it may still take
 * effect later. Whatever the store is asked before the event loop turns runs after it, never
 * before, so that is the moment to undo it.
 */
export class UnansweredStoreError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'UnansweredStoreError';
  }
}
