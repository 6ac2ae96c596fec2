/** Why a region of text is left alone (or, for `json`, rewritten as a unit). */
export type SpanKind = 'fence' | 'structured' | 'json' | 'inline-code' | 'url' | 'quote';

/**
 * A region `[start, end)` of a text that the line-level transforms must not edit. A span with a
 * `replacement` (minified JSON) is swapped as a whole; every other span is copied byte for byte.
 */
export interface TextSpan {
  start: number;
  end: number;
  kind: SpanKind;
  replacement?: string;
}
