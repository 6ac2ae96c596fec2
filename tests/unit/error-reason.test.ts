import { describe, expect, it } from 'vitest';
import { errorReason } from '../../src/runtime/error-reason.js';
import { rowsOf } from '../../src/storage/rows-of.js';

describe('errorReason', () => {
  it('takes the first line of an error message', () => {
    expect(errorReason(new Error('connection refused\n    at Socket.connect'))).toBe(
      'connection refused',
    );
  });

  it("gives a failed query's driver reason, never the statement or its parameters", () => {
    const driver = new Error('value too long for type character varying(64)');
    const wrapped = new Error(
      'Failed query: insert into "api_keys" values ($1)\nparams: tg_secret',
      {
        cause: driver,
      },
    );
    expect(errorReason(wrapped)).toBe('value too long for type character varying(64)');
  });

  it('keeps its own message when an error wraps a cause for context', () => {
    const err = new Error('the key store is unavailable', { cause: new Error('ECONNRESET') });
    expect(errorReason(err)).toBe('the key store is unavailable');
  });

  it('turns a thrown non-error into text', () => {
    expect(errorReason('boom')).toBe('boom');
    expect(errorReason(undefined)).toBe('undefined');
  });
});

describe('rowsOf', () => {
  it('reads the rows of a { rows } result', () => {
    expect(rowsOf({ rows: [{ n: 1 }] })).toEqual([{ n: 1 }]);
  });

  it('gives no rows for a result without any', () => {
    expect(rowsOf({ command: 'VACUUM' })).toEqual([]);
    expect(rowsOf(null)).toEqual([]);
  });
});
