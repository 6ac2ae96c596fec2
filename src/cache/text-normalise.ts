const CODE_FENCE = '```';
const WHITESPACE_RUN = /\s+/g;
/** Text that NFC could change: anything outside ASCII (ASCII is its own NFC form). */
const NON_ASCII = /[\u0080-\uffff]/;
/** Whitespace the collapse would change: any but a single space, or two spaces in a row. */
const UNTIDY_WHITESPACE = /[^\S ]| {2}/;

/**
 * Normalises the text of a user turn for cache keys and embeddings: Unicode NFC, every whitespace
 * run collapsed to one space, trimmed. Case is kept: "US" and "us", "Go" and "go", `Foo` and `foo`
 * ask different things, so folding it could serve one user's answer to another's question.
 * Text inside ``` fences is kept byte-for-byte, because whitespace is meaningful in code
 * (indentation in Python or YAML changes what the code does). Text that is already in that form
 * (ASCII, single spaces, no fence: most questions) is only trimmed, without copies.
 */
export function normaliseUserText(text: string): string {
  const nfc = NON_ASCII.test(text) ? text.normalize('NFC') : text;
  if (!nfc.includes(CODE_FENCE)) {
    return (UNTIDY_WHITESPACE.test(nfc) ? nfc.replace(WHITESPACE_RUN, ' ') : nfc).trim();
  }
  const segments = nfc.split(CODE_FENCE);
  for (let i = 0; i < segments.length; i += 2) {
    segments[i] = (segments[i] ?? '').replace(WHITESPACE_RUN, ' ');
  }
  return segments.join(CODE_FENCE).trim();
}
