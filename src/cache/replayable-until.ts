import type { ChatCompletion } from 'openai/resources/chat/completions';

/**
 * Until when an answer may be replayed (ms since the epoch): a spoken answer's `audio.id` names
 * audio the provider keeps only until its `expires_at`, and a client that sends it back in a later
 * turn after that gets the provider's refusal. Other answers have no such bound (Infinity).
 */
export function replayableUntil(completion: ChatCompletion): number {
  let until = Number.POSITIVE_INFINITY;
  for (const choice of completion.choices) {
    const expiresAt = choice.message?.audio?.expires_at;
    if (typeof expiresAt === 'number' && Number.isFinite(expiresAt)) {
      until = Math.min(until, expiresAt * 1000);
    }
  }
  return until;
}
