/** A request's hold on its key's and tenant's concurrency in this process; released once. */
export interface LocalSlot {
  release(): void;
}

/** Whose concurrency a request counts against, and the limits (null = none). */
export interface SlotSubject {
  keyId: string;
  tenantId: string;
  keyLimit: number | null;
  tenantLimit: number | null;
}

/**
 * Counts the requests of each key and tenant this process holds from the moment they are
 * authenticated, before their body is read, until their answer ends: a client trickling its body
 * holds a slot of its key's `max_concurrency` as surely as one waiting on the upstream. The rate
 * limiter's own count (shared between instances) starts later, once the body is parsed.
 */
export class LocalSlots {
  private readonly held = new Map<string, number>();

  /** Takes a slot, or names the limit that is full. */
  acquire(subject: SlotSubject): LocalSlot | 'key' | 'tenant' {
    const keyName = `k:${subject.keyId}`;
    const tenantName = `t:${subject.tenantId}`;
    if (subject.keyLimit !== null && this.count(keyName) >= subject.keyLimit) return 'key';
    if (subject.tenantLimit !== null && this.count(tenantName) >= subject.tenantLimit) {
      return 'tenant';
    }
    const names = [
      ...(subject.keyLimit === null ? [] : [keyName]),
      ...(subject.tenantLimit === null ? [] : [tenantName]),
    ];
    for (const name of names) this.held.set(name, this.count(name) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const name of names) {
          const left = this.count(name) - 1;
          if (left > 0) this.held.set(name, left);
          else this.held.delete(name);
        }
      },
    };
  }

  private count(name: string): number {
    return this.held.get(name) ?? 0;
  }
}
