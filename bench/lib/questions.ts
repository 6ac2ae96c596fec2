const MESSAGES = [
  { role: 'system', content: 'You are a terse assistant. Answer in one sentence.' },
  { role: 'user', content: 'Say something about foxes and dogs, and mention a gateway.' },
];

/** The chat completions request every bench row sends, as JSON and as a stream. */
export const REQUEST_BODIES = {
  json: JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES, max_tokens: 64 }),
  // Asks for usage so every row (direct, proxy, gateway) carries the same bytes to the client.
  stream: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: MESSAGES,
    max_tokens: 64,
    stream: true,
    stream_options: { include_usage: true },
  }),
} as const;

/** Words for new questions: every request of a true-miss row asks something never asked before. */
const TOPICS = ['foxes', 'rivers', 'bridges', 'lanterns', 'orchards', 'glaciers', 'kites', 'ferns'];
const ASPECTS = ['history', 'colour', 'weight', 'sound', 'origin', 'shape', 'care', 'price'];

let questionRun = 0;

/**
 * A body like `base` (a chat completions request as JSON) whose user question is new on every
 * call; each call of this function starts its own run, so two rows never share a question.
 */
export function newQuestionBodies(base: string): () => string {
  const run = questionRun++;
  const parsed = JSON.parse(base) as { messages: { role: string; content: string }[] };
  let n = 0;
  return () => {
    n += 1;
    const topic = TOPICS[n % TOPICS.length];
    const aspect = ASPECTS[Math.floor(n / TOPICS.length) % ASPECTS.length];
    const question = `Tell me about the ${aspect} of ${topic}, case ${run}-${n}, for a gateway.`;
    return JSON.stringify({
      ...parsed,
      messages: [parsed.messages[0], { role: 'user', content: question }],
    });
  };
}
