import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { isRecord } from '../runtime/is-record.js';

/** The Node request behind a Hono context served by the Node server; null in process (tests). */
export function incomingOf(c: Context): IncomingMessage | null {
  const env: unknown = c.env;
  if (!isRecord(env)) return null;
  const incoming = env.incoming;
  return incoming instanceof IncomingMessage ? incoming : null;
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
