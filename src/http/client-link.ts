import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { ClientLink } from '../upstream/upstream.js';
import { outgoingOf } from './incoming.js';

/**
 * The link of a request served by the Node server: its response's `close` event, which Node emits
 * once the connection is done with, and whether the response had finished by then. The request's
 * web `signal` would tell the same through an AbortController made for the request and an event
 * listener per upstream attempt: objects that live as long as the request, and so, under load,
 * outlive the young generation (measured with `npm run bench:allocations`).
 */
class ResponseLink implements ClientLink {
  constructor(private readonly response: ServerResponse) {}

  get gone(): boolean {
    return this.response.closed && !this.response.writableFinished;
  }

  onClose(listener: () => void): void {
    this.response.on('close', listener);
  }

  offClose(listener: () => void): void {
    this.response.off('close', listener);
  }
}

/** The link of a request known only as a web Request (served in process): its signal. */
class SignalLink implements ClientLink {
  constructor(private readonly abortSignal: AbortSignal) {}

  get gone(): boolean {
    return this.abortSignal.aborted;
  }

  onClose(listener: () => void): void {
    this.abortSignal.addEventListener('abort', listener, { once: true });
  }

  offClose(listener: () => void): void {
    this.abortSignal.removeEventListener('abort', listener);
  }
}

/** The request's client, as upstream calls watch it. */
export function clientLink(c: Context): ClientLink {
  const outgoing = outgoingOf(c);
  return outgoing ? new ResponseLink(outgoing) : new SignalLink(c.req.raw.signal);
}
