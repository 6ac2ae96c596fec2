import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** What an error sent to the client is made of; everything but status, message and type optional. */
export interface GatewayErrorOptions {
  status: ContentfulStatusCode;
  message: string;
  /** OpenAI's `type`: `invalid_request_error`, `upstream_error`, `server_error`, a limit name, … */
  type: string;
  code?: string | null;
  /** The request field at fault. */
  param?: string | null;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** A body to send as-is instead of one built from the fields (upstream 4xx passthrough). */
  rawBody?: unknown;
}

/** The one exception type of the HTTP edge; rendered as OpenAI's error body by the app's onError. */
export class GatewayError extends Error {
  readonly status: ContentfulStatusCode;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly rawBody: unknown;

  constructor(options: GatewayErrorOptions) {
    super(options.message);
    this.name = 'GatewayError';
    this.status = options.status;
    this.type = options.type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.rawBody = options.rawBody;
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
    return new GatewayError({ status: 400, message, type: 'invalid_request_error', code, param });
  }

  static invalidApiKey(message = 'Incorrect API key provided.') {
    return new GatewayError({
      status: 401,
      message,
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    });
  }

  static insufficientScope(scope: string) {
    return new GatewayError({
      status: 403,
      message: `This API key does not have the required scope: ${scope}.`,
      type: 'invalid_request_error',
      code: 'insufficient_scope',
    });
  }

  static modelNotAllowed(model: string) {
    return new GatewayError({
      status: 403,
      message: `This API key is not allowed to use the model '${model}'.`,
      type: 'invalid_request_error',
      code: 'model_not_allowed',
      param: 'model',
    });
  }

  static modelNotFound(model: string) {
    return new GatewayError({
      status: 404,
      message: `The model '${model}' does not exist or is not served by this gateway.`,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  }

  /** A method and path no route serves: OpenAI's own 404 for them. */
  static unknownRoute(method: string, path: string) {
    return new GatewayError({
      status: 404,
      message: `Invalid URL (${method} ${path})`,
      type: 'invalid_request_error',
      code: 'unknown_url',
    });
  }

  static notFound(message = 'Not found.') {
    return new GatewayError({
      status: 404,
      message,
      type: 'invalid_request_error',
      code: 'not_found',
    });
  }

  static conflict(message: string, code: string, param: string | null = null) {
    return new GatewayError({ status: 409, message, type: 'invalid_request_error', code, param });
  }

  /** 413 for a body over the limit; `when` says at which point (`once decoded`). */
  static payloadTooLarge(limitBytes: number, when?: string) {
    return new GatewayError({
      status: 413,
      message: `Request body is larger than the ${limitBytes} byte limit${when ? ` ${when}` : ''}.`,
      type: 'invalid_request_error',
      code: 'request_too_large',
    });
  }

  static upstreamFailed(message = 'The upstream provider failed to answer.') {
    return new GatewayError({
      status: 502,
      message,
      type: 'upstream_error',
      code: 'upstream_error',
    });
  }

  static upstreamTimeout(message = 'The upstream provider did not answer in time.') {
    return new GatewayError({
      status: 504,
      message,
      type: 'upstream_error',
      code: 'upstream_timeout',
    });
  }

  static notReady(message = 'The gateway is not ready.') {
    return new GatewayError({ status: 503, message, type: 'server_error', code: 'not_ready' });
  }

  /** 503 while the rate limiter's store does not answer (fail-closed); retry after a second. */
  static limitsUnavailable() {
    return new GatewayError({
      status: 503,
      message: 'Rate limits cannot be checked right now; try again shortly.',
      type: 'server_error',
      code: 'not_ready',
      headers: { 'retry-after': '1' },
    });
  }

  /** 503 while the database does not answer; the client may retry after a second. */
  static databaseUnavailable(message = 'The database is not answering; try again shortly.') {
    return new GatewayError({
      status: 503,
      message,
      type: 'server_error',
      code: 'database_unavailable',
      headers: { 'retry-after': '1' },
    });
  }

  /**
   * 503 for a request the gateway's stop cut short before its answer began: the connection closes
   * and the client's SDK is told to retry (openai-node and openai-python honour x-should-retry),
   * which reaches another instance, since this one no longer accepts connections.
   */
  static shuttingDown() {
    return new GatewayError({
      status: 503,
      message: 'The gateway is shutting down; retry the request.',
      type: 'server_error',
      code: 'shutting_down',
      headers: { connection: 'close', 'retry-after': '1', 'x-should-retry': 'true' },
    });
  }

  /** 429 for a rate limit: `type` is `requests` or `tokens`, as OpenAI sends; retry headers given. */
  static rateLimited(
    message: string,
    type: 'requests' | 'tokens',
    headers: Record<string, string>,
  ) {
    return new GatewayError({ status: 429, message, type, code: 'rate_limit_exceeded', headers });
  }

  static internal() {
    return new GatewayError({
      status: 500,
      message: 'The gateway had an internal error.',
      type: 'server_error',
    });
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
