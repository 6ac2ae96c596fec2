import type { TextSpan } from './text-span.js';

/** One lossy rewrite: every match of `pattern` (a global regex) outside protected spans is replaced. */
export interface RewriteRule {
  /** Short name, used in measurements. */
  name: string;
  pattern: RegExp;
  replace: (match: string, groups: readonly (string | undefined)[]) => string;
}

/**
 * Applies `rule` to every match that does not overlap a protected span; matches inside code,
 * URLs, quotes and structured text are left as they are.
 */
export function applyRule(text: string, rule: RewriteRule, spans: readonly TextSpan[]): string {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  let out = '';
  let pos = 0;
  let spanIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    if (end === start) {
      pattern.lastIndex++;
      continue;
    }
    while (spanIndex < spans.length && (spans[spanIndex]?.end ?? 0) <= start) spanIndex++;
    const span = spans[spanIndex];
    if (span !== undefined && span.start < end) continue;
    out += text.slice(pos, start) + rule.replace(match[0], match.slice(1));
    pos = end;
  }
  return pos === 0 ? text : out + text.slice(pos);
}
