import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import { remembered } from '../runtime/remembered.js';
import { upstreamResponse } from './upstream-response.js';

/** A fetch-compatible function, as the openai SDK expects. */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options for the upstream connection pool. */
export interface PoolOptions {
  connections: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

/** A keep-alive connection pool to the upstreams, shared by every upstream client. */
export function createUpstreamAgent(options: PoolOptions): Agent {
  return new Agent({
    connections: options.connections,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: 600_000,
    connect: { timeout: options.connectTimeoutMs },
    // The gateway owns first-token and total timeouts; the pool must not cut long streams.
    headersTimeout: 0,
    bodyTimeout: 0,
    pipelining: 1,
  });
}

/**
 * A request URL's parts by its text: the SDK asks for the same few (one per upstream and
 * endpoint) on every call, and a WHATWG URL parse costs more than the lookup.
 */
const parsedUrl = remembered(256, (text) => {
  const url = new URL(text);
  return { origin: url.origin, path: url.pathname + url.search, href: url.href };
});

function requestHeaders(init: RequestInit | undefined): Readonly<Record<string, string>> {
  const given = init?.headers;
  if (!given) return {};
  // A record (the SDK's reused headers, see UpstreamClient) is what undici takes: sent as it is.
  if (!(given instanceof Headers) && !Array.isArray(given)) return given as Record<string, string>;
  // The SDK passes a Headers it has built and checked: read it as it is rather than copy it.
  const headers = given instanceof Headers ? given : new Headers(given);
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * A fetch built on undici's `request` over a pooled Agent. The WHATWG fetch machinery costs
 * several times the CPU of `request` per proxied call; this keeps only what the SDK reads: the
 * status, the headers and the body (streamed for server-sent events, read whole otherwise), handed
 * over without a WHATWG Response around them.
 */
export function createPooledFetch(agent: Dispatcher): FetchFn {
  return async function pooledFetch(input, init) {
    const url = parsedUrl(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
    );
    const body = init?.body;
    if (
      body !== undefined &&
      body !== null &&
      typeof body !== 'string' &&
      !(body instanceof Uint8Array)
    ) {
      throw new TypeError('pooledFetch only sends string or byte bodies');
    }
    const res = await agent.request({
      origin: url.origin,
      path: url.path,
      method: (init?.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: requestHeaders(init),
      body: body ?? undefined,
      signal: init?.signal ?? undefined,
    });
    // Read whole only a body that says it is JSON. Any other may be a stream from a server that
    // does not label it `text/event-stream` (none, `text/plain`): the SDK streams a body whatever
    // its type, so its pieces are handed on as they come; one read as text is joined then.
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('json')) {
      return upstreamResponse(res.statusCode, res.headers, url.href, { events: res.body });
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    return upstreamResponse(res.statusCode, res.headers, url.href, { bytes });
  };
}
