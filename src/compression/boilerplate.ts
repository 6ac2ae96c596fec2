import type { RewriteRule } from './rewrite-rule.js';

/** The boilerplate rules of `aggressive` mode: decoration that carries no information. */
export const BOILERPLATE_RULES: readonly RewriteRule[] = [
  {
    // A separator line ("----------", "==========", "**********", "──────────") keeps its
    // role — a rule or a setext underline — with three characters.
    name: 'separator-lines',
    pattern: /^([-=_*#+.•·─━═])\1{3,}$/gm,
    replace: (match) => match.slice(0, 3),
  },
  {
    // Runs inside a line: table rules ("|--------|"), dotted leaders, arrows, blanks ("_____").
    name: 'punctuation-runs',
    pattern: /([-=_~.─━═])\1{3,}/g,
    replace: (match) => match.slice(0, 3),
  },
  {
    // "**bold**" becomes "bold": the words stay, the emphasis markup goes. Single "*" and "_"
    // are left alone (arithmetic, snake_case).
    name: 'bold-markup',
    pattern: /\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*/g,
    replace: (_match, groups) => groups[0] ?? '',
  },
  {
    name: 'repeated-marks',
    pattern: /([!?])\1{2,}/g,
    replace: (match) => match.charAt(0),
  },
];
