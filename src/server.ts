import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from './app.js';
import type { Config } from './config.js';
import type { Deps } from './deps.js';
import { answerClientError } from './http/client-error.js';
import { closeGracefully } from './http/lingering-close.js';
import { startJobs } from './jobs.js';
import { withTimeout } from './runtime/with-timeout.js';

/** Of SHUTDOWN_TIMEOUT_MS, what closing the dependencies may use after the drain (at most half). */
const CLOSE_RESERVE_MS = 10_000;

/** How long in-flight requests may take to finish once a stop begins. */
export function drainBoundMs(shutdownTimeoutMs: number): number {
  return shutdownTimeoutMs - Math.min(CLOSE_RESERVE_MS, shutdownTimeoutMs / 2);
}

/**
 * Of the close reserve, how long the requests still running when the drain ends have to answer
 * (a 503 `shutting_down`, or a stream's final error frame) before the connections left are closed;
 * at most an eighth of SHUTDOWN_TIMEOUT_MS. They need a few turns of the event loop.
 */
const ANSWER_MS = 1_000;

/**
 * Of the close reserve, how long requests the drain ended may take to hand over their
 * after-response work (their rows) once they notice; at most an eighth of SHUTDOWN_TIMEOUT_MS.
 */
const CUT_REQUESTS_MS = 2_000;

/** How often Node checks connections against the headers deadline. */
const CONNECTIONS_CHECK_MS = 1_000;

/** How long a keep-alive connection idle at the start of a drain may still bring a request. */
const IDLE_GRACE_MS = 500;

/** How long a drain may take, and how it ends the requests still running at its bound. */
interface DrainPlan {
  /** How long in-flight requests may take to finish. */
  boundMs: number;
  /** Then, how long the requests told to stop may take to send their answers. */
  answerMs: number;
  /** Tells the requests still running at the bound to stop and answer (see ShutdownNotice). */
  stopRunning(): void;
}

/**
 * Stops accepting connections and waits (at most `boundMs`) until every open one has ended,
 * without resetting a request already on the wire: each answer from now on carries
 * `Connection: close`, so a busy keep-alive connection ends after its answer; connections still
 * idle after a short grace (their clients are not sending) are closed then, and as they become
 * idle. Closing idle connections at once would reset those whose next request was on its way.
 * At the bound, the requests still running are told to stop: each answers its client (a 503 that
 * closes its connection, or a stream's final error frame, after which the connection is idle), and
 * what is still open `answerMs` later (a client not reading, a body still arriving) is closed.
 */
function drainConnections(server: Server, plan: DrainPlan): Promise<void> {
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
  });
  return new Promise<void>((done) => {
    let idle: NodeJS.Timeout | undefined;
    const grace = setTimeout(
      () => {
        server.closeIdleConnections();
        idle = setInterval(() => server.closeIdleConnections(), 50);
      },
      Math.min(IDLE_GRACE_MS, plan.boundMs / 2),
    );
    let timer = setTimeout(() => {
      plan.stopRunning();
      timer = setTimeout(() => {
        server.closeAllConnections();
        finish();
      }, plan.answerMs);
    }, plan.boundMs);
    function finish() {
      clearTimeout(grace);
      clearInterval(idle);
      clearTimeout(timer);
      done();
    }
    // net.Server's close only stops listening; http.Server's would close idle connections at once.
    NetServer.prototype.close.call(server, () => finish());
  });
}

/** A running gateway: its address and a graceful stop. */
export interface RunningServer {
  port: number;
  deps: Deps;
  /** Stops accepting, lets in-flight requests finish (bounded), stops the jobs, closes the deps. */
  stop(): Promise<void>;
}

/** What the HTTP server is made with, known before the dependencies are open. */
export type ListenSettings = Pick<Config, 'port' | 'host' | 'bodyTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * The gateway's port, bound before the app exists: a port already taken or an address the host
 * does not have is known at once, not after the database has been opened and migrated. Until
 * `serve`, nothing answers: a request that arrives waits and is answered by the app once it is
 * ready; one the HTTP parser refuses meanwhile has its connection closed unanswered.
 */
export interface BoundPort {
  port: number;
  /** Serves the gateway on the port (the requests that waited first), then starts the jobs. */
  serve(deps: Deps): RunningServer;
  /** Stops listening and closes every connection unanswered: the gateway does not start. */
  close(): Promise<void>;
}

type Fetch = (request: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;

/** Binds the gateway's port (HOST, PORT); rejects with Node's error when it cannot. */
export function bindPort(settings: ListenSettings): Promise<BoundPort> {
  let app: Fetch | null = null;
  let deps: Deps | null = null;
  let open: (fetch: Fetch) => void = () => {};
  const opened = new Promise<Fetch>((resolve) => {
    open = resolve;
  });
  // createAdaptorServer without TLS or HTTP/2 options creates a node:http server.
  const server = createAdaptorServer({
    fetch: (request: Request, env: HttpBindings | Http2Bindings) =>
      app ? app(request, env) : opened.then((fetch) => fetch(request, env)),
    hostname: settings.host,
    serverOptions: {
      // Headers get the body's bound (Node's own: 60 s, checked every 30 s).
      headersTimeout: settings.bodyTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
  }) as Server;
  server.on('connection', (socket: Socket) => closeGracefully(socket, settings.bodyTimeoutMs));
  server.on('clientError', (err: Error, socket: Duplex) =>
    deps ? answerClientError(err, socket, deps) : socket.destroy(),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        serve(ready) {
          deps = ready;
          const fetch: Fetch = createApp(ready).fetch;
          app = fetch;
          open(fetch);
          return running(server, ready, port);
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Binds the port and serves the gateway on already-built dependencies, then starts the jobs. */
export async function startServer(deps: Deps): Promise<RunningServer> {
  const port = await bindPort(deps.config);
  return port.serve(deps);
}

/** The gateway serving on `server`: its jobs started, and its graceful stop. */
function running(server: Server, deps: Deps, port: number): RunningServer {
  const jobs = startJobs(deps);
  let stopping: Promise<void> | null = null;
  return {
    port,
    deps,
    stop() {
      stopping ??= (async () => {
        deps.readiness.ready = false;
        deps.shutdown.drain();
        const { shutdownTimeoutMs } = deps.config;
        await drainConnections(server, {
          boundMs: drainBoundMs(shutdownTimeoutMs),
          answerMs: Math.min(ANSWER_MS, shutdownTimeoutMs / 8),
          stopRunning: () => {
            const stopped = deps.shutdown.begin();
            deps.logger.warn(
              { stopped },
              'requests still running when the drain ended are answered 503 shutting_down',
            );
          },
        });
        // Requests the drain ended hand their rows to the background runner a few turns
        // later: closing the dependencies first would lose those rows.
        const cutMs = Math.min(CUT_REQUESTS_MS, shutdownTimeoutMs / 8);
        await withTimeout(deps.inFlight.idle(), cutMs, 'cut requests').catch(() =>
          deps.logger.warn(
            { open: deps.inFlight.open },
            'requests still running after the drain; their rows may be missing',
          ),
        );
        // In-flight requests are done: no timer may start new work on closing dependencies.
        jobs.stop();
        await deps.close();
      })();
      return stopping;
    },
  };
}
