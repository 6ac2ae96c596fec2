import { ClientClosedError, GatewayError } from './errors.js';

/** How long a client may take to send its body when the caller sets no other bound. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

function bodyTimeout(timeoutMs: number): GatewayError {
  return new GatewayError({
    status: 408,
    message: `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s.`,
    type: 'invalid_request_error',
    code: 'request_timeout',
  });
}

/**
 * Reads a request body as UTF-8 text, refusing (413) as soon as it passes the byte limit and (408)
 * when it has not arrived whole within `timeoutMs` — a client trickling bytes holds a connection no
 * longer than that. A client that goes away meanwhile ends the request as closed.
 */
export async function readBodyText(
  request: Request,
  limitBytes: number,
  timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes)
    throw GatewayError.payloadTooLarge(limitBytes);
  if (!request.body) return '';
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
  return Buffer.concat(parts, size).toString('utf8');
}
