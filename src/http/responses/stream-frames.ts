import type { ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type { ResponseTextDeltaEvent } from 'openai/resources/responses/responses';

/** One named server-sent event of the Responses API: `event: <type>` and the JSON with its type. */
export function responseFrame(
  type: string,
  sequenceNumber: number,
  payload: Record<string, unknown>,
): string {
  const data = { type, sequence_number: sequenceNumber, ...payload };
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes one named stream event (its sequence number is the writer's). */
export type FrameWriter = (type: string, payload: Record<string, unknown>) => string;

/** Chat-completions token logprobs in the shape of an `output_text.delta` event's `logprobs`. */
export function deltaLogprobsOf(
  logprobs: readonly ChatCompletionTokenLogprob[] | null | undefined,
): ResponseTextDeltaEvent.Logprob[] {
  return (logprobs ?? []).map((lp) => ({
    token: lp.token,
    logprob: lp.logprob,
    top_logprobs: lp.top_logprobs.map((top) => ({ token: top.token, logprob: top.logprob })),
  }));
}

/** What `fail()` needs to know about an upstream failure: OpenAI's error fields. */
export interface StreamFailure {
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/**
 * The events of a stream that failed: `response.failed` with the response as it stood, then an
 * `error` event (in both the flat and the nested shape clients parse).
 */
export function failedFrames(frame: FrameWriter, response: unknown, error: StreamFailure): string {
  const code = error.code ?? 'server_error';
  const fields = { code, message: error.message, param: error.param ?? null };
  return (
    frame('response.failed', { response }) +
    frame('error', { ...fields, error: { type: error.type ?? 'server_error', ...fields } })
  );
}
