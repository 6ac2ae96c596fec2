import { afterEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/test-app.js';
import { createTestApp } from '../helpers/test-app.js';

describe('/readyz with the database unreachable', () => {
  let gateway: TestApp | undefined;

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  it('answers 503 not_ready, logs the reason as text, and is ready again once the database answers', async () => {
    gateway = await createTestApp();
    const { deps, logs } = gateway;
    const ping = deps.database.ping.bind(deps.database);
    deps.database.ping = () => Promise.reject(new Error('connection refused by the test'));

    const down = await gateway.request('/readyz');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      error: { code: 'not_ready', message: 'The database is not reachable.' },
    });
    // Liveness does not depend on the database: the process is alive.
    expect((await gateway.request('/healthz')).status).toBe(200);
    const line = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'readiness probe failed');
    // The same field every other warning names its cause in, as a string.
    expect(line?.reason).toBe('connection refused by the test');
    expect(line).not.toHaveProperty('err');

    deps.database.ping = ping;
    const up = await gateway.request('/readyz');
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'ready', database: 'pglite' });
  });
});
