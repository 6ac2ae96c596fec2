import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The one exception type of the HTTP edge; rendered as OpenAI's error body by the app's onError. */
export class GatewayError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
    /** A body to send as-is instead of one built from the fields (upstream 4xx passthrough). */
    readonly rawBody: unknown = undefined,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** The JSON body sent to the client. */
  body(): unknown {
    if (this.rawBody !== undefined) return this.rawBody;
    const body: OpenAIErrorBody = {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
    return body;
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null) {
    return new GatewayError(400, message, 'invalid_request_error', code, param);
  }

  static invalidApiKey(message = 'Incorrect API key provided.') {
    return new GatewayError(401, message, 'invalid_request_error', 'invalid_api_key');
  }

  static insufficientScope(scope: string) {
    return new GatewayError(
      403,
      `This API key does not have the required scope: ${scope}.`,
      'invalid_request_error',
      'insufficient_scope',
    );
  }

  static modelNotAllowed(model: string) {
    return new GatewayError(
      403,
      `This API key is not allowed to use the model '${model}'.`,
      'invalid_request_error',
      'model_not_allowed',
      'model',
    );
  }

  static modelNotFound(model: string) {
    return new GatewayError(
      404,
      `The model '${model}' does not exist or is not served by this gateway.`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }

  static notFound(message = 'Not found.') {
    return new GatewayError(404, message, 'invalid_request_error', 'not_found');
  }

  static conflict(message: string, code: string, param: string | null = null) {
    return new GatewayError(409, message, 'invalid_request_error', code, param);
  }

  static payloadTooLarge(limitBytes: number) {
    return new GatewayError(
      413,
      `Request body is larger than the ${limitBytes} byte limit.`,
      'invalid_request_error',
      'request_too_large',
    );
  }

  static upstreamFailed(message = 'The upstream provider failed to answer.') {
    return new GatewayError(502, message, 'upstream_error', 'upstream_error');
  }

  static upstreamTimeout(message = 'The upstream provider did not answer in time.') {
    return new GatewayError(504, message, 'upstream_error', 'upstream_timeout');
  }

  static notReady(message = 'The gateway is not ready.') {
    return new GatewayError(503, message, 'server_error', 'not_ready');
  }

  static internal() {
    return new GatewayError(500, 'The gateway had an internal error.', 'server_error', null);
  }
}

/** The client went away before an answer: nothing is sent; recorded as status 499. */
export class ClientClosedError extends Error {
  readonly status = 499;
  constructor() {
    super('Client closed the request.');
    this.name = 'ClientClosedError';
  }
}
