import { describe, expect, it } from 'vitest';
import { errorReason } from '../../src/runtime/error-reason.js';
import { fromWireError, toWireError } from '../../src/storage/pglite-thread/wire-error.js';

describe('errors crossing from the database thread', () => {
  it("keep the reason a failed statement wraps, as the caller's error reason", () => {
    const wrapped = new Error('Failed query: create table x ();\nparams: ', {
      cause: new Error('relation "x" already exists'),
    });
    expect(errorReason(fromWireError(toWireError(wrapped), null))).toBe(
      'relation "x" already exists',
    );
  });

  it('cross with a cause that leads back to its own error, a bounded number of times', () => {
    const looped = new Error('outer');
    looped.cause = new Error('inner', { cause: looped });
    let rebuilt: unknown = fromWireError(toWireError(looped), null);
    let depth = 0;
    while (rebuilt instanceof Error && rebuilt.cause !== undefined) {
      rebuilt = rebuilt.cause;
      depth++;
    }
    expect(depth).toBe(4);
  });
});
