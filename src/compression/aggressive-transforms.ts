import { BOILERPLATE_RULES } from './boilerplate.js';
import type { DuplicateRegistry } from './duplicate-registry.js';
import { removeDuplicateUnits } from './duplicate-removal.js';
import { FILLER_RULES } from './filler-phrases.js';
import { findProtectedSpans } from './protected-spans.js';
import { applyRule, type RewriteRule } from './rewrite-rule.js';
import { compressSafeText } from './safe-transforms.js';

/**
 * Messages smaller than this (in tokens, after `safe`) get only the `safe` transforms in
 * `aggressive` mode: lossy edits pay off on long context, and short prompts are mostly
 * instructions where every word may count.
 */
export const AGGRESSIVE_MIN_TOKENS = 1000;

/** Every lossy rewrite rule of `aggressive` mode, in the order they are applied. */
export const AGGRESSIVE_RULES: readonly RewriteRule[] = [...BOILERPLATE_RULES, ...FILLER_RULES];

/**
 * The lossy part of `aggressive` mode for one text already compressed by `safe`: removes
 * duplicate paragraphs and sentences (recording the rest in `registry` for later messages), then
 * applies the boilerplate and filler-phrase rules outside protected spans, then tidies with
 * `safe`. Digits, code, URLs, quoted strings and structured text are never changed.
 */
export function aggressiveTransform(
  text: string,
  registry: DuplicateRegistry,
  rules: readonly RewriteRule[] = AGGRESSIVE_RULES,
): string {
  let out = removeDuplicateUnits(text, registry);
  for (const rule of rules) {
    out = applyRule(out, rule, findProtectedSpans(out));
  }
  return out === text ? text : compressSafeText(out);
}
