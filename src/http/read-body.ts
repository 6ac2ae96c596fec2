import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { contentCodings, decodeContent } from './content-encoding.js';
import { ClientClosedError, GatewayError } from './errors.js';
import { incomingOf, requestHeader } from './incoming.js';
import { decodeJsonBody } from './json-body.js';
import { checkTransferCodings } from './transfer-coding.js';

/** How long a client may take to send its body when the caller sets no other bound. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** The 408 of a body that did not arrive whole within `timeoutMs`. */
export function bodyTimeout(timeoutMs: number): GatewayError {
  return new GatewayError({
    status: 408,
    message: `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s.`,
    type: 'invalid_request_error',
    code: 'request_timeout',
  });
}

/**
 * Reads a JSON request body as text, refusing (413) as soon as it passes the byte limit, (408)
 * when it has not arrived whole within `timeoutMs` — a client trickling bytes holds a connection no
 * longer than that — and (400) bytes that are not UTF-8 (decodeJsonBody). A body sent with a
 * `Content-Encoding` (gzip, deflate, br) is decoded, the byte limit applying to the decoded bytes
 * too; another coding is a 415 before the body is read, and a transfer coding besides chunked a
 * 501 (checkTransferCodings). A client that goes away meanwhile ends the request as closed.
 *
 * Served by the Node server, the body is read straight from the socket's request stream: no web
 * `Request` and `ReadableStream` are built for it (they cost more CPU than the rest of reading).
 * The server drains or closes whatever is left unread once the response is sent.
 */
export async function readBodyText(
  c: Context,
  limitBytes: number,
  timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
): Promise<string> {
  checkTransferCodings(requestHeader(c, 'transfer-encoding'));
  const codings = contentCodings(requestHeader(c, 'content-encoding'));
  const incoming = incomingOf(c);
  const bytes = incoming
    ? await readIncoming(incoming, limitBytes, timeoutMs)
    : await readWebBody(c.req.raw, limitBytes, timeoutMs);
  return decodeJsonBody(
    codings.length === 0 ? bytes : await decodeContent(bytes, codings, limitBytes),
  );
}

function readIncoming(
  incoming: IncomingMessage,
  limitBytes: number,
  timeoutMs: number,
): Promise<Buffer> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Promise.reject(GatewayError.payloadTooLarge(limitBytes));
  }
  if (incoming.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (incoming.destroyed) return Promise.reject(new ClientClosedError());
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onClose);
      incoming.off('close', onClose);
      if (err) reject(err);
      else resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limitBytes) settle(GatewayError.payloadTooLarge(limitBytes));
      else parts.push(chunk);
    };
    const onEnd = () => settle(null);
    const onClose = () => settle(incoming.readableEnded ? null : new ClientClosedError());
    const timer = setTimeout(() => settle(bodyTimeout(timeoutMs)), timeoutMs);
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onClose);
    incoming.on('close', onClose);
  });
}

async function readWebBody(
  request: Request,
  limitBytes: number,
  timeoutMs: number,
): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes)
    throw GatewayError.payloadTooLarge(limitBytes);
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limitBytes) {
        await reader.cancel().catch(() => {});
        throw GatewayError.payloadTooLarge(limitBytes);
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (timedOut) throw bodyTimeout(timeoutMs);
    throw new ClientClosedError();
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw bodyTimeout(timeoutMs);
  return Buffer.concat(parts, size);
}
