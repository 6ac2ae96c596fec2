import type { Context } from 'hono';
import type { AppEnv } from './env.js';

type BodyInit = string | Uint8Array | ReadableStream<Uint8Array> | null;

/** The content type of a JSON answer, as Hono's `c.json` sets it. */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
};

/**
 * A request's response headers, gathered in a plain record as the stages learn them (request id,
 * rate limits, compression, cache, session) and written once, with the answer. Hono's `c.header`
 * keeps a WHATWG Headers object instead: each set validates and normalises, the response copies
 * it, and Node's server iterates it (sorted) into the record it writes: about 3% of a cache hit's
 * main-thread time for its dozen headers. A Response built with a plain record is written by the
 * Node adapter as it is.
 */
function gathered(c: Context<AppEnv>): Record<string, string> {
  let headers = c.get('responseHeaders');
  if (!headers) {
    headers = {};
    c.set('responseHeaders', headers);
  }
  return headers;
}

/** Sets a response header (lower-case name) for whatever answer the request gets. */
export function setResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  gathered(c)[name] = value;
}

/**
 * The headers an answer goes out with: the gathered ones and `headers` (which win). Taken: what a
 * later stage gathers starts a record of its own, applied afterwards.
 */
export function answerHeaders(
  c: Context<AppEnv>,
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  const all = Object.assign(gathered(c), headers);
  c.set('responseHeaders', undefined);
  return all;
}

/** The answer, with the gathered headers and `headers` (which win). */
export function answerWith(
  c: Context<AppEnv>,
  body: BodyInit,
  headers: Readonly<Record<string, string>>,
): Response {
  return new Response(body, { status: 200, headers: answerHeaders(c, headers) });
}

/**
 * Puts the gathered headers on a response the stages did not build with `answerWith` (an error,
 * a route outside the pipeline); those it already carries win. Runs once, outermost.
 */
export function applyGatheredHeaders(c: Context<AppEnv>): void {
  const headers = c.get('responseHeaders');
  if (!headers) return;
  let target: Headers | null = null;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || c.res.headers.has(name)) continue;
    if (target) target.set(name, value);
    else {
      // The first set goes through Hono, which copies a finished response into one whose headers
      // can change; the rest go straight to that copy.
      c.header(name, value);
      target = c.res.headers;
    }
  }
}
