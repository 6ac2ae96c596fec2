import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CacheHit } from '../cache/cache-store.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import type { UpstreamAnswer } from '../upstream/upstream.js';
import type { ChatRequest } from './chat-request.js';

/** How a chat request ended, known once the last byte was sent (or the client left). */
export interface ChatOutcome {
  /** HTTP status the client saw; 499 when it disconnected first. */
  status: number;
  errorCode: string | null;
  /** The answer as one completion (streams assembled), if any part of one arrived. */
  completion: ChatCompletion | null;
  provider: string | null;
  upstreamModel: string | null;
  /** Milliseconds from the request's arrival to its first streamed chunk. */
  ttftMs: number | null;
  /** Milliseconds spent waiting on the upstream, retries included. */
  upstreamMs: number | null;
  /** Milliseconds from arrival to the last byte. */
  latencyMs: number;
  /** True when the answer came from the cache: nothing was spent upstream. */
  fromCache: boolean;
}

/** What the cache did for a request, as the `x-tollgate-cache` header says. */
export type CacheStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';

/** The typed context every middleware shares. Data only: no functions, no `any`. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Monotonic time the request arrived. */
    startedAt: number;
    /** Wall-clock time (ms) the request arrived. */
    receivedAt: number;
    apiKey: VerifiedKey;
    chatRequest: ChatRequest;
    answer: UpstreamAnswer;
    /** What the compress stage did to the prompt. */
    compression: { mode: 'off' | 'safe' | 'aggressive'; tokensSaved: number };
    /** Set by the cache stage for every chat request it saw. */
    cacheStatus: CacheStatus;
    /** The cached answer, when the cache stage found one; the upstream stage then stands aside. */
    cacheHit: CacheHit;
    /** Settles when the response is complete; later stages record and settle from it. */
    outcome: Promise<ChatOutcome>;
  };
}
