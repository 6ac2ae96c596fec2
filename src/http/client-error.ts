import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestObserver } from '../runtime/request-report.js';
import { basicFinishedRequest, reportRequest } from '../runtime/request-report.js';
import { uuidv7 } from '../runtime/uuidv7.js';

/** What Node's HTTP parser refused, as the client is told (OpenAI's error shape). */
function refusalOf(code: string | undefined): { status: number; code: string; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      code: 'request_header_fields_too_large',
      message: 'The request headers are too large.',
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'request_timeout',
      message: 'The request headers did not arrive in time.',
    };
  }
  return { status: 400, code: 'invalid_http', message: 'The request is not valid HTTP/1.1.' };
}

/**
 * Node's `clientError`: a request its parser refused before the app saw it (headers too large or
 * too slow, a malformed request line or length). Node would answer with an empty body and write
 * no log line; here the answer is OpenAI's error body with a request id, and the access log and
 * the metrics count it like any request (route `unparsed`; nothing the client sent is logged).
 */
export function answerClientError(
  err: Error & { code?: string },
  socket: Duplex,
  observer: RequestObserver,
): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const refusal = refusalOf(err.code);
  const requestId = uuidv7();
  const body = JSON.stringify({
    error: {
      message: refusal.message,
      type: 'invalid_request_error',
      param: null,
      code: refusal.code,
    },
  });
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
      'content-type: application/json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
  const facts = basicFinishedRequest({
    requestId,
    method: 'UNKNOWN',
    route: 'unparsed',
    status: refusal.status,
    durationMs: 0,
  });
  facts.errorCode = refusal.code;
  reportRequest(observer, facts);
}
