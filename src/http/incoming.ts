import { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { isRecord } from '../runtime/is-record.js';

/** The Node request behind a Hono context served by the Node server; null in process (tests). */
export function incomingOf(c: Context): IncomingMessage | null {
  return fromNodeServer(c, 'incoming', IncomingMessage);
}

/** The Node response behind a Hono context served by the Node server; null in process (tests). */
export function outgoingOf(c: Context): ServerResponse | null {
  return fromNodeServer(c, 'outgoing', ServerResponse);
}

/** What the Node server put in the context's environment under `name`, if it is a `type`. */
function fromNodeServer<T>(
  c: Context,
  name: 'incoming' | 'outgoing',
  type: abstract new (...args: never[]) => T,
): T | null {
  const env: unknown = c.env;
  const value = isRecord(env) ? env[name] : undefined;
  return value instanceof type ? value : null;
}

/**
 * A request header (`name` in lower case), as `c.req.header(name)` reads it. Served by the Node
 * server it comes straight from the headers Node has already parsed, without building the web
 * `Headers` of the whole request (which validates and copies every header).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
