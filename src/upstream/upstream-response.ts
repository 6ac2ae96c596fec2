import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/**
 * The response headers of an upstream call, read-only, as the openai SDK and the failure
 * classifier read them (`get`, `has`, `entries`, iteration). Built straight from the lower-cased names undici parsed; a WHATWG `Headers`
 * would copy and re-validate every header of every answer.
 */
class UpstreamHeaders {
  // Private, so the SDK's debug formatting of every response's headers (done whatever the log
  // level) finds no own property to copy.
  readonly #map = new Map<string, string>();

  constructor(headers: IncomingHttpHeaders) {
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      this.#map.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  *entries(): IterableIterator<[string, string]> {
    // Sorted by name, as Headers iterates.
    yield* [...this.#map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * An upstream answer as the openai SDK reads a fetch `Response` — status, headers, url, `body`
 * (server-sent events), `json()` and `text()` — without building a WHATWG Response (which would
 * copy and re-validate the headers and, for a body read whole, wrap it in a stream again). The
 * events stay a Node stream: the relay reads them as they are, and a web stream is made only if
 * something asks for `body`.
 */
class UpstreamResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';
  bodyUsed = false;
  readonly headers: UpstreamHeaders;
  #body: ReadableStream<Uint8Array> | null = null;

  constructor(
    readonly status: number,
    headers: IncomingHttpHeaders,
    readonly url: string,
    /** The events as they arrive; null when the body was read whole into `bytes`. */
    readonly events: Readable | null,
    private readonly bytes: Buffer | null,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new UpstreamHeaders(headers);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.events && !this.#body) {
      this.#body = Readable.toWeb(this.events) as unknown as ReadableStream<Uint8Array>;
    }
    return this.#body;
  }

  private async consume(): Promise<Buffer> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.bodyUsed = true;
    if (this.bytes) return this.bytes;
    const parts: Uint8Array[] = [];
    if (this.events) for await (const part of this.events) parts.push(part as Uint8Array);
    return Buffer.concat(parts);
  }

  /**
   * The body piece by piece: the events as they arrive, or the bytes read whole as one piece (a
   * stream its server labelled JSON).
   */
  pieces(): AsyncIterator<Uint8Array> {
    if (this.events) return (this.events as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const bytes = this.bytes;
    return (async function* whole() {
      if (bytes && bytes.length > 0) yield bytes;
    })();
  }

  async text(): Promise<string> {
    return (await this.consume()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

/**
 * A fetch `Response` for an upstream answer: `bytes` read whole, or `events` streamed. The SDK only
 * reads the members above; the cast is what lets the SDK's `fetch` option accept it (it is typed
 * as the full WHATWG Response).
 */
export function upstreamResponse(
  status: number,
  headers: IncomingHttpHeaders,
  url: string,
  body: { bytes: Buffer } | { events: Readable },
): Response {
  const response =
    'bytes' in body
      ? new UpstreamResponse(status, headers, url, null, body.bytes)
      : new UpstreamResponse(status, headers, url, body.events, null);
  return response as unknown as Response;
}

/**
 * The body of a streamed answer piece by piece: the pooled fetch's Node stream as it is (or the
 * bytes it read whole, as one piece), or the body of any other fetch's Response.
 */
export function bodyPieces(response: Response): AsyncIterator<Uint8Array> {
  if (response instanceof UpstreamResponse) return response.pieces();
  const events = response.body;
  if (!events) return (async function* empty() {})();
  return (events as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
}
