import type OpenAI from 'openai';
import type { Clock } from '../runtime/clock.js';
import { isRecord } from '../runtime/is-record.js';
import { type ShutdownNotice, StopsOnShutdown } from '../runtime/shutdown-notice.js';
import type { RetryPolicy } from './backoff.js';
import { backoffMs, backoffStepMs } from './backoff.js';
import type { FetchFn } from './pooled-fetch.js';
import type { RoutingTable, UpstreamSpec } from './routing-config.js';
import { endpointOf, routeModel } from './routing-config.js';
import type {
  ClientLink,
  EmbeddingsAnswer,
  EmbeddingsRequest,
  Upstream,
  UpstreamAnswer,
  UpstreamEndpoint,
  UpstreamMeta,
  UpstreamModel,
  UpstreamRequest,
} from './upstream.js';
import type { AttemptTimeouts } from './upstream-call.js';
import { callEmbeddings, callUpstream } from './upstream-call.js';
import { UpstreamClient } from './upstream-client.js';
import { allowsFallback, isRetryable, UpstreamFailure } from './upstream-failure.js';

/** Timeouts and retry policy of upstream calls. */
export interface RouterOptions {
  routing: RoutingTable;
  fetch: FetchFn | undefined;
  clock: Clock;
  timeouts: AttemptTimeouts;
  retry: RetryPolicy;
  /** The gateway's shutdown: it stops every attempt and retry wait still running. */
  shutdown: ShutdownNotice;
  /** Source of jitter; injectable for tests. */
  random?: () => number;
}

/** One configured upstream's SDK client, and where it is reached. */
interface UpstreamClientEntry {
  spec: UpstreamSpec;
  sdk: OpenAI;
  endpoint: UpstreamEndpoint;
}

/** One SDK client per configured upstream; the gateway owns retries, so the SDK's are off. */
function createClients(options: RouterOptions): Map<string, UpstreamClientEntry> {
  const clients = new Map<string, UpstreamClientEntry>();
  for (const spec of options.routing.upstreams) {
    const sdk = new UpstreamClient({
      apiKey: spec.apiKey ?? 'no-upstream-key-configured',
      baseURL: spec.baseURL,
      maxRetries: 0,
      // Our own timers abort sooner; this only keeps the SDK from cutting a long call short.
      timeout: options.timeouts.totalMs + 60_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    clients.set(spec.name, { spec, sdk, endpoint: endpointOf(spec) });
  }
  return clients;
}

/** A retry's wait, as the shutdown stops it. */
class RetryWait extends StopsOnShutdown {
  constructor(readonly stopForShutdown: () => void) {
    super();
  }
}

/**
 * Waits before a retry. A client that leaves meanwhile ends the wait as a client-closed failure,
 * the gateway's shutdown as a shutting-down one (the request is then answered, not retried).
 */
function pause(ms: number, requester: ClientLink, shutdown: ShutdownNotice): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = (failure: UpstreamFailure | null) => {
      clearTimeout(timer);
      requester.offClose(onClose);
      shutdown.unwatch(wait);
      if (failure) reject(failure);
      else resolve();
    };
    const onClose = () => {
      if (requester.gone) end(new UpstreamFailure({ kind: 'client-closed' }));
    };
    const wait = new RetryWait(() => end(new UpstreamFailure({ kind: 'shutting-down' })));
    const timer = setTimeout(end, ms, null);
    if (requester.gone) {
      onClose();
      return;
    }
    requester.onClose(onClose);
    shutdown.watch(wait);
  });
}

/**
 * The upstream router: sends a chat request to the model's first target through the openai SDK,
 * retries with bounded exponential backoff that honours `retry-after`, then falls back to the next
 * target. All of it happens before the first byte reaches the client: once a stream has delivered
 * its first chunk, a failure is final. Failures are thrown as UpstreamFailure.
 */
export function createRouter(options: RouterOptions): Upstream {
  const { routing, clock, timeouts, retry, shutdown } = options;
  const random = options.random ?? Math.random;
  const clients = createClients(options);

  /**
   * Runs `call` against the model's targets in order: retries with backoff on one target, then
   * falls back to the next, all within one time budget. Throws the last UpstreamFailure.
   */
  async function routed<T extends { status: number }>(
    model: string,
    requester: ClientLink,
    call: (
      sdk: OpenAI,
      target: { upstreamModel: string; renamed: boolean },
      totalMs: number,
    ) => Promise<T>,
  ): Promise<{ result: T; meta: UpstreamMeta }> {
    const targets = routeModel(routing, model) ?? [];
    const startedAt = clock.monotonic();
    let attempts = 0;
    let asked: UpstreamClientEntry | null = null;
    // The status the last call was answered with, for the failure's report.
    let lastStatus: number | null = null;
    // Made only when needed: an Error captures a stack trace, a cost every request would pay.
    let last: UpstreamFailure | null = null;
    try {
      for (const target of targets) {
        const client = clients.get(target.upstream);
        if (!client) continue;
        const upstreamModel = target.model ?? model;
        for (let i = 0; i <= retry.maxRetries; i++) {
          // One time budget for the client's request: every attempt and fallback shares it.
          const leftMs = timeouts.totalMs - (clock.monotonic() - startedAt);
          if (leftMs <= 0) throw new UpstreamFailure({ kind: 'timeout', phase: 'total' });
          attempts++;
          asked = client;
          try {
            const result = await call(
              client.sdk,
              { upstreamModel, renamed: target.model !== null },
              leftMs,
            );
            const meta: UpstreamMeta = {
              provider: client.spec.name,
              endpoint: client.endpoint,
              upstreamModel,
              attempts,
              status: result.status,
              startedAt,
              firstByteAt: clock.monotonic(),
            };
            return { result, meta };
          } catch (err) {
            if (!(err instanceof UpstreamFailure)) throw err;
            last = err;
            lastStatus = err.detail.kind === 'status' ? err.detail.status : err.upstreamStatus;
            last.attempts = attempts;
            last.nextBackoffMs = backoffStepMs(retry, i);
            // Nothing more is asked for a client that left, nor once the gateway is shutting down.
            if (!last.fromUpstream) throw last;
            if (!isRetryable(last) || i === retry.maxRetries) break;
            const wait = backoffMs(retry, i, last, random);
            // A wait that outlasts the request's time budget would end in a 504, later than the
            // budget allows: the failure in hand (a 429 with its retry-after) is the answer now.
            if (wait === null || clock.monotonic() - startedAt + wait >= timeouts.totalMs) break;
            await pause(wait, requester, shutdown);
          }
        }
        if (last !== null && !allowsFallback(last)) break;
      }
      throw (
        last ??
        new UpstreamFailure({
          kind: 'connection',
          message: 'no upstream serves this model',
          reason: 'no upstream serves the model',
        })
      );
    } catch (err) {
      // Who was asked last and how long it all took: the access log and the row report both.
      // A client that left during a retry's wait ends it with a failure of its own: it too
      // reports every call made and what the last one was answered.
      if (err instanceof UpstreamFailure) {
        err.provider = asked?.spec.name ?? null;
        err.endpoint = asked?.endpoint ?? null;
        err.attempts = attempts;
        err.upstreamStatus = lastStatus;
        err.upstreamMs = clock.monotonic() - startedAt;
      }
      throw err;
    }
  }

  async function chat(request: UpstreamRequest): Promise<UpstreamAnswer> {
    const { result, meta } = await routed(request.model, request.client, (sdk, target, totalMs) =>
      callUpstream(
        sdk,
        {
          body: target.renamed ? { ...request.body, model: target.upstreamModel } : request.body,
          rawBody: target.renamed ? null : request.rawBody,
          stream: request.stream,
          client: request.client,
          shutdown,
          headers: request.headers,
        },
        { ...timeouts, totalMs },
        clock,
      ),
    );
    return 'completion' in result
      ? { kind: 'json', completion: result.completion, completionJson: result.json, meta }
      : { kind: 'stream', stream: result.stream, meta };
  }

  async function embeddings(request: EmbeddingsRequest): Promise<EmbeddingsAnswer> {
    const { result, meta } = await routed(request.model, request.client, (sdk, target, totalMs) =>
      callEmbeddings(
        sdk,
        {
          body: target.renamed ? { ...request.body, model: target.upstreamModel } : request.body,
          client: request.client,
          shutdown,
          headers: request.headers,
        },
        totalMs,
        clock,
      ),
    );
    return { result: result.body, meta };
  }

  async function listModels(signal: AbortSignal): Promise<UpstreamModel[]> {
    const first = routing.upstreams[0];
    const client = first ? clients.get(first.name) : undefined;
    if (!client) return [];
    const models: UpstreamModel[] = [];
    for await (const listed of client.sdk.models.list({ signal })) {
      // An entry that names no model (null, no id) is no model a client could ask for: skipped,
      // rather than listed without an id or failing the whole list.
      const model: unknown = listed;
      if (!isRecord(model) || typeof model.id !== 'string' || model.id === '') continue;
      // OpenAI-compatible servers may leave out `created` or `owned_by`; the list keeps OpenAI's
      // shape, as for a model the upstream does not list (created 0, owned by the upstream).
      models.push({
        id: model.id,
        object: 'model',
        created: typeof model.created === 'number' ? model.created : 0,
        owned_by: typeof model.owned_by === 'string' ? model.owned_by : first.name,
      });
    }
    return models;
  }

  return {
    chat,
    embeddings,
    listModels,
    serves: (model) => routeModel(routing, model) !== null,
    async close() {},
  };
}
