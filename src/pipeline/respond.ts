import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CacheHit } from '../cache/cache-store.js';
import { replayFrames } from '../http/chat-replay.js';
import { chatStreamFormat } from '../http/chat-sse.js';
import type { AppEnv, Outcome } from '../http/env.js';
import { outgoingOf } from '../http/incoming.js';
import {
  answerHeaders,
  answerWith,
  JSON_HEADERS,
  setResponseHeader,
} from '../http/response-headers.js';
import { toResponseObject } from '../http/responses/response-object.js';
import type { ResponseContext } from '../http/responses/response-shell.js';
import { replayResponseEvents } from '../http/responses/stream-replay.js';
import { type ResponseKeeping, responsesStreamFormat } from '../http/responses-sse.js';
import { SSE_HEADERS } from '../http/sse.js';
import { relayStream, relayStreamTo, type StreamEnd } from '../http/stream-relay.js';
import type { Background } from '../runtime/background.js';
import type { Clock } from '../runtime/clock.js';
import type { ShutdownNotice } from '../runtime/shutdown-notice.js';
import type { KeepDeps } from './keep-response.js';
import { responseKeeper } from './keep-response.js';
import { showRefundedReservation } from './rate-limit.js';

/** What the responder uses. */
export interface RespondDeps extends KeepDeps {
  background: Background;
  clock: Clock;
  secrets: readonly string[];
  config: { clientStallMs: number };
  shutdown: ShutdownNotice;
}

/**
 * The answer's JSON text in the endpoint's shape: a chat completion (its text as the upstream
 * sent it, `completionJson`, when known), or a Responses `response` (stored first when the request
 * asks for it). A chat completion's text is also left on the outcome, so the interaction row and
 * the cache entry need not serialise it again.
 */
async function jsonText(
  deps: RespondDeps,
  c: Context<AppEnv>,
  completion: ChatCompletion,
  responses: ResponseContext | undefined,
  outcome: Outcome,
  completionJson?: string,
): Promise<string> {
  if (!responses) {
    outcome.completionJson = completionJson ?? JSON.stringify(completion);
    return outcome.completionJson;
  }
  const response = toResponseObject(completion, responses, Math.floor(deps.clock.now() / 1_000));
  return JSON.stringify(await responseKeeper(deps, c, responses)(response));
}

/**
 * How a Responses stream stores its response: before its last event, or, once its client has
 * left, after the response (the stop and tests can wait for that write).
 */
function streamKeeping(
  deps: RespondDeps,
  c: Context<AppEnv>,
  responses: ResponseContext,
): ResponseKeeping {
  const keep = responseKeeper(deps, c, responses);
  return { keep, keepLeft: (response) => deps.background.run(keep(response)) };
}

/**
 * The model the provider answered with (`gpt-4o-mini-2024-07-18` for a request routed as
 * `gpt-4o-mini`), the same on every path — fresh or cached, JSON or stream — so the rows of one
 * model's traffic group together; `configured`, the model the request was sent upstream as, when
 * the answer names none.
 */
function answeredModel(
  completion: ChatCompletion | null,
  configured: string | null,
): string | null {
  const model = completion?.model;
  return typeof model === 'string' && model !== '' ? model : configured;
}

/**
 * The one responder: turns the answer in the context — from the cache or the upstream — into the
 * endpoint's JSON or SSE (chat completions, or the Responses API's events), and leaves the
 * request's outcome in the context (completed by the stream when it ends) for the after-response
 * step.
 */
export function respond(deps: RespondDeps) {
  return async function respond(c: Context<AppEnv>): Promise<Response> {
    const hit = c.get('cacheHit');
    if (hit) return respondCached(deps, c, hit);
    const { clock } = deps;
    const answer = c.get('answer');
    const responses = c.get('responses');
    const startedAt = c.get('startedAt');
    const { meta } = answer;
    const upstreamWaitMs = meta.firstByteAt - meta.startedAt;
    const setOverhead = () =>
      setResponseHeader(
        c,
        'x-tollgate-overhead-ms',
        (clock.monotonic() - startedAt - upstreamWaitMs).toFixed(2),
      );
    const outcome: Outcome = {
      status: 200,
      errorCode: null,
      completion: answer.kind === 'json' ? answer.completion : null,
      provider: meta.provider,
      upstreamModel: answeredModel(
        answer.kind === 'json' ? answer.completion : null,
        meta.upstreamModel,
      ),
      ttftMs: answer.kind === 'json' ? null : meta.firstByteAt - startedAt,
      upstreamMs: upstreamWaitMs,
      upstreamStatus: meta.status,
      attempts: meta.attempts,
      latencyMs: clock.monotonic() - startedAt,
      fromCache: false,
      upstreamFailure: null,
      complete: answer.kind === 'json',
    };
    c.set('outcome', outcome);
    if (answer.kind === 'json') {
      // A stored response is written before its body goes out: that time is the gateway's too.
      const text = await jsonText(
        deps,
        c,
        answer.completion,
        responses,
        outcome,
        answer.completionJson,
      );
      setOverhead();
      outcome.latencyMs = clock.monotonic() - startedAt;
      return answerWith(c, text, JSON_HEADERS);
    }
    setOverhead();
    const format = responses
      ? responsesStreamFormat(responses, streamKeeping(deps, c, responses))
      : chatStreamFormat(c.get('request').includeUsage);
    const onEnd = (end: StreamEnd) => {
      const now = clock.monotonic();
      outcome.status = end.status;
      outcome.errorCode = end.errorCode;
      outcome.upstreamFailure = end.upstreamFailure;
      outcome.completion = end.assembler.chunks > 0 ? end.assembler.result() : null;
      outcome.upstreamModel = answeredModel(outcome.completion, meta.upstreamModel);
      outcome.upstreamMs = now - meta.startedAt;
      outcome.latencyMs = now - startedAt;
      outcome.complete = true;
      return outcome.onComplete?.();
    };
    // Served by the Node server, the stream goes straight onto its response (see relayStreamTo);
    // the Node adapter then writes nothing more. In process (tests), as a web stream: the Node
    // adapter never sees that one (handed a web stream of unknown length, it would read ahead and
    // wait a timer tick before the first byte when the second piece is not ready yet).
    const outgoing = outgoingOf(c);
    if (outgoing) {
      const headers = answerHeaders(c, SSE_HEADERS);
      relayStreamTo(outgoing, {
        headers,
        stream: answer.stream,
        format,
        secrets: deps.secrets,
        onEnd,
        clientStallMs: deps.config.clientStallMs,
        shutdown: deps.shutdown,
      });
      return RESPONSE_ALREADY_SENT;
    }
    const body = relayStream(answer.stream, format, deps.secrets, onEnd);
    return answerWith(c, body, SSE_HEADERS);
  };
}

/**
 * The cached-answer variant: the stored completion as JSON, or replayed as a stream when the
 * request streams (usage chunk only if asked for, as for a live stream). A chat completion keeps
 * its `id` and `created`; `age` says how old it is.
 */
async function respondCached(
  deps: RespondDeps,
  c: Context<AppEnv>,
  hit: CacheHit,
): Promise<Response> {
  const { clock } = deps;
  const req = c.get('request');
  const responses = c.get('responses');
  const startedAt = c.get('startedAt');
  const { completion } = hit;
  setResponseHeader(c, 'x-tollgate-cache-similarity', hit.similarity.toFixed(4));
  setResponseHeader(
    c,
    'age',
    String(Math.max(0, Math.floor((clock.now() - hit.createdAt) / 1_000))),
  );
  setResponseHeader(c, 'x-tollgate-overhead-ms', (clock.monotonic() - startedAt).toFixed(2));
  showRefundedReservation(c);
  const outcome: Outcome = {
    status: 200,
    errorCode: null,
    completion,
    // The upstream the cached answer came from, as an embeddings hit says it.
    provider: hit.provider,
    upstreamModel: answeredModel(completion, null),
    ttftMs: req.stream ? clock.monotonic() - startedAt : null,
    upstreamMs: null,
    upstreamStatus: null,
    attempts: null,
    latencyMs: clock.monotonic() - startedAt,
    fromCache: true,
    upstreamFailure: null,
    complete: true,
  };
  c.set('outcome', outcome);
  if (!req.stream) {
    const text = await jsonText(deps, c, completion, responses, outcome, hit.completionJson);
    return answerWith(c, text, JSON_HEADERS);
  }
  const frames = responses
    ? (await replayKept(deps, c, completion, responses)).join('')
    : replayFrames(completion, req.includeUsage);
  // Every frame is known already: the replay goes out as one body in one write, like a JSON
  // answer (no stream to pump, nothing to wait for), so it is complete once handed over.
  return answerWith(c, Buffer.from(frames), SSE_HEADERS);
}

/**
 * A cached answer replayed as Responses events, stored first when the request asks for it; if it
 * could not be stored, the replay says `store: false` throughout.
 */
async function replayKept(
  deps: RespondDeps,
  c: Context<AppEnv>,
  completion: ChatCompletion,
  responses: ResponseContext,
): Promise<string[]> {
  const replay = replayResponseEvents(completion, responses);
  const kept = await responseKeeper(deps, c, responses)(replay.response);
  if (kept.store === replay.response.store) return replay.frames;
  const request = { ...responses.request, store: false };
  return replayResponseEvents(completion, { ...responses, request }).frames;
}
