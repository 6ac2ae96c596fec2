import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';

/** Why an upstream call stopped when its client went (the abort's reason). */
export const CLIENT_GONE = 'the client closed its connection';

/** Why an upstream call stopped when the gateway's stop ended it (the abort's reason). */
export const SHUTTING_DOWN = 'the gateway is shutting down';

/**
 * The client's end of a request, as an upstream call watches it: whether the client has gone
 * (closed its connection before its answer was complete), and the connection's close to hear it go.
 */
export interface ClientLink {
  /** True once the client has gone. */
  readonly gone: boolean;
  /**
   * Calls `listener` when the connection closes, which it also does after a complete answer: the
   * listener checks `gone`.
   */
  onClose(listener: () => void): void;
  offClose(listener: () => void): void;
}

/** A chat request on its way upstream: the client's body, untouched but for routing fields. */
export interface UpstreamRequest {
  body: Record<string, unknown>;
  /** The client's exact bytes when the body is unchanged; sent instead of re-serialising it. */
  rawBody: Uint8Array | null;
  model: string;
  stream: boolean;
  /** The client, whose leaving aborts the call. */
  client: ClientLink;
  /** Extra headers for the upstream (the trace's `traceparent`). */
  headers?: Record<string, string> | undefined;
}

/**
 * Where an upstream is reached, as OpenTelemetry's GenAI and server attributes name it: made once
 * per configured upstream, shared by every answer from it.
 */
export interface UpstreamEndpoint {
  /** `gen_ai.provider.name`: `openai` for the upstream of UPSTREAM_BASE_URL, else its configured name. */
  genAiProvider: string;
  /** `server.address`: the host of its base URL. */
  address: string;
  /** `server.port`: the port of its base URL (443 or 80 when the URL names none). */
  port: number;
}

/** Who answered and what it cost to get the first byte. */
export interface UpstreamMeta {
  provider: string;
  /** Where the answering upstream is reached. */
  endpoint: UpstreamEndpoint;
  upstreamModel: string;
  /** Upstream calls made for the request, the answering one included (retries and fallbacks). */
  attempts: number;
  /** The HTTP status the upstream answered with. */
  status: number;
  /** Monotonic time the first attempt started. */
  startedAt: number;
  /** Monotonic time the answer (JSON) or its first chunk (stream) arrived. */
  firstByteAt: number;
}

/** A live stream from upstream whose first chunk has already arrived. */
export interface UpstreamStream {
  first: ChatCompletionChunk;
  /** The chunks after the first; throws a classified error if the upstream fails mid-stream. */
  rest: AsyncIterator<ChatCompletionChunk>;
  /** The next chunk of `rest` if it has already arrived (null: `rest.next()` must wait or fail). */
  ready(): ChatCompletionChunk | null;
  /** The JSON text of the chunk handed out last (`first` until `rest` gives another), as sent. */
  raw(): string | null;
  /**
   * True once the upstream closed its answer with `data: [DONE]`; false for a body that just
   * ended (a whole answer from a server that omits it, or a connection cut mid-answer).
   */
  endedWithDone(): boolean;
  /**
   * The relay is waiting for the client to take what it was sent (its socket is full): the
   * upstream's silence stops counting towards the idle timeout until `clientReady`.
   */
  clientBusy(): void;
  /** The client took what it was sent: the idle timeout runs on. */
  clientReady(): void;
  /** Stops the upstream request (client gone); idempotent. */
  abort(): void;
  /** Releases timers and listeners once the stream is finished; idempotent. */
  finish(): void;
}

/** What the upstream answered. */
export type UpstreamAnswer =
  | {
      kind: 'json';
      completion: ChatCompletion;
      /** The completion's JSON text as the upstream sent it. */
      completionJson: string;
      meta: UpstreamMeta;
    }
  | { kind: 'stream'; stream: UpstreamStream; meta: UpstreamMeta };

/** A model as OpenAI's `GET /v1/models` lists it; the upstream's own fields are kept. */
export interface UpstreamModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** An embeddings request on its way upstream: the client's body (model renamed if routed so). */
export interface EmbeddingsRequest {
  body: Record<string, unknown>;
  model: string;
  /** The client, whose leaving aborts the call. */
  client: ClientLink;
  /** Extra headers for the upstream (the trace's `traceparent`). */
  headers?: Record<string, string> | undefined;
}

/** The upstream's embeddings answer as it sent it (floats or base64, as the client asked). */
export interface EmbeddingsAnswer {
  result: Record<string, unknown>;
  meta: UpstreamMeta;
}

/** The upstream service: routes, retries and falls back across providers. */
export interface Upstream {
  chat(request: UpstreamRequest): Promise<UpstreamAnswer>;
  embeddings(request: EmbeddingsRequest): Promise<EmbeddingsAnswer>;
  /** The models the default upstream offers (for /v1/models when no model list is configured). */
  listModels(signal: AbortSignal): Promise<UpstreamModel[]>;
  /** True when some configured route serves this model. */
  serves(model: string): boolean;
  close(): Promise<void>;
}
