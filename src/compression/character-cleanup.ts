// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const NEEDS_CLEANUP = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u180e\u200b\u2060\ufeff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI_ESCAPE = /\u001b\[[0-?]*[ -/]*[@-~]/g;
const LINE_BREAK = /\r\n?|[\v\f\u0085]/g;
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u00ad\u180e\u200b\u2060\ufeff]+/g;
// Strings made only of characters below U+0300 are already in NFC.
const MAY_NEED_NFC = /[\u0300-\uffff]/;

/**
 * Character-level cleanup that no reader could notice: terminal colour codes, C0/C1 control
 * characters (except \n and \t), zero-width space, word joiner, BOM and soft hyphen are
 * removed; \r\n, \r, vertical tab, form feed and NEL become \n; the result is in Unicode NFC.
 * Zero-width (non-)joiners and bidi marks are kept: they change how some scripts and emoji
 * are spelt.
 */
export function cleanCharacters(text: string): string {
  let out = text;
  if (NEEDS_CLEANUP.test(out)) {
    out = out.replace(ANSI_ESCAPE, '').replace(LINE_BREAK, '\n').replace(INVISIBLE, '');
  }
  if (MAY_NEED_NFC.test(out)) out = out.normalize('NFC');
  return out;
}
