import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/database.js';
import { isConnectionFailure } from '../../src/storage/database-probe.js';
import type { FreezableTcpProxy } from '../helpers/freezable-tcp-proxy.js';
import { rejectionOf } from '../helpers/rejection-of.js';
import type { TestDatabaseTarget } from '../helpers/test-database.js';
import { createProxiedPostgresDatabase } from '../helpers/test-database.js';

const serverUrl = process.env.TEST_DATABASE_URL;

describe('a database address that accepts connections and closes them unanswered', () => {
  // What a proxy or pooler does while the database behind it is gone.
  let server: net.Server;
  let accepted = 0;
  let handle: DatabaseHandle | undefined;

  beforeAll(async () => {
    server = net.createServer((socket) => {
      accepted++;
      // Reads what the client sends (so its close is seen) and closes cleanly, saying nothing.
      socket.resume();
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fails each query as a connection failure instead of retrying forever', async () => {
    const address = server.address() as net.AddressInfo;
    handle = await openDatabase({
      kind: 'postgres',
      url: `postgres://postgres@127.0.0.1:${address.port}/tollgate`,
    });
    const before = accepted;
    for (let attempt = 0; attempt < 3; attempt++) {
      const err = await rejectionOf(handle.ping());
      expect(err.message).toBe('Connection terminated unexpectedly');
      expect(isConnectionFailure(err)).toBe(true);
    }
    // One connection attempt a query: none is retried behind the caller's back.
    expect(accepted - before).toBe(3);
  });
});

describe.skipIf(!serverUrl)('PostgreSQL behind a proxy that loses it', () => {
  let target: TestDatabaseTarget;
  let proxy: FreezableTcpProxy;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    let url: string;
    ({ target, proxy, url } = await createProxiedPostgresDatabase(serverUrl ?? ''));
    handle = await openDatabase({ kind: 'postgres', url: url });
  });

  afterAll(async () => {
    await handle?.close();
    await proxy?.close();
    await target?.drop();
  });

  it('fails queries while it is gone and answers again on the same pool when it is back', async () => {
    await handle.ping();
    proxy.cut();
    // The first may still meet the old connection; the second needs a new one, which is
    // accepted and closed unanswered.
    expect(isConnectionFailure(await rejectionOf(handle.ping()))).toBe(true);
    const err = await rejectionOf(handle.ping());
    expect(err.message).toBe('Connection terminated unexpectedly');
    proxy.restore();
    await handle.ping();
  });
});
