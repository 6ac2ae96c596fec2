import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

/** The Keep-Alive header an answer carries: how long the gateway keeps the idle connection. */
function keepAliveOf(gateway: TestGateway): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gateway.baseURL}/healthz`,
      { headers: { connection: 'keep-alive' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['keep-alive'] as string | undefined));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * A load balancer reuses its idle connections to the gateway for up to its own idle timeout (60 s
 * on the common ones): a gateway that closed them sooner (Node's default, 5 s) would close one the
 * balancer was reusing, and its client would get a 502.
 */
describe('idle client connections', () => {
  const gateways: TestGateway[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
  });

  it('stay open 65 s by default, longer than a load balancer keeps them', async () => {
    const gateway = await startTestGateway();
    gateways.push(gateway);
    expect(await keepAliveOf(gateway)).toBe('timeout=65');
  });

  it('stay open as long as KEEP_ALIVE_TIMEOUT_MS says', async () => {
    const gateway = await startTestGateway({ KEEP_ALIVE_TIMEOUT_MS: '120000' });
    gateways.push(gateway);
    expect(await keepAliveOf(gateway)).toBe('timeout=120');
  });
});
