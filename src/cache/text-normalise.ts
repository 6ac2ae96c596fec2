const CODE_FENCE = '```';
const WHITESPACE_RUN = /\s+/g;

/**
 * Normalises the text of a user turn for cache keys and embeddings: Unicode NFC, every whitespace
 * run collapsed to one space, trimmed. Case is kept: "US" and "us", "Go" and "go", `Foo` and `foo`
 * ask different things, so folding it could serve one user's answer to another's question.
 * Text inside ``` fences is kept byte-for-byte, because whitespace is meaningful in code
 * (indentation in Python or YAML changes what the code does).
 */
export function normaliseUserText(text: string): string {
  const segments = text.normalize('NFC').split(CODE_FENCE);
  for (let i = 0; i < segments.length; i += 2) {
    segments[i] = (segments[i] ?? '').replace(WHITESPACE_RUN, ' ');
  }
  return segments.join(CODE_FENCE).trim();
}
