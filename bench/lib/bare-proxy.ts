import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import { runService } from './service-process.js';

/**
 * Child process: the floor any gateway pays. It forwards method, path, headers and body to
 * BENCH_TARGET_URL over a keep-alive undici pool and pipes status, headers and body back,
 * without looking at either.
 */

/** Headers that describe one connection, not the message; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

function forwardable(headers: IncomingHttpHeaders | Dispatcher.ResponseData['headers']) {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

runService(async () => {
  const target = process.env.BENCH_TARGET_URL;
  if (!target) throw new Error('BENCH_TARGET_URL is not set');
  const origin = new URL(target).origin;
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000, pipelining: 1 });
  const server = createServer((req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    agent
      .request({
        origin,
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: forwardable(req.headers) as Record<string, string | string[]>,
        body: hasBody ? req : undefined,
      })
      .then((upstream) => {
        res.writeHead(upstream.statusCode, forwardable(upstream.headers));
        // pipe(), not pipeline(): pipeline's abort-signal bookkeeping costs more than the proxying.
        upstream.body.on('error', () => res.destroy());
        res.on('close', () => upstream.body.destroy());
        upstream.body.pipe(res);
      })
      .catch(() => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
});
