import { describe, expect, it } from 'vitest';
import { aggressiveTransform } from '../../src/compression/aggressive-transforms.js';
import { DuplicateRegistry } from '../../src/compression/duplicate-registry.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';

const SIZE = 100_000;
/** Linear work on 100 kB takes tens of milliseconds; a quadratic pattern takes tens of seconds. */
const BUDGET_MS = 1_500;

const inputs: Record<string, string> = {
  'a long run of spaces': `a${' '.repeat(SIZE)}b`,
  'a long indentation': `x\n${' '.repeat(SIZE)}y`,
  'alternating spaces and tabs': ' \t'.repeat(SIZE / 2),
  'a long run of line breaks': `a${'\n'.repeat(SIZE)}b`,
  'curly quotes that never close': '“a '.repeat(SIZE / 3),
  'single quotes that never close': " 'a".repeat(SIZE / 3),
  'double quotes on separate lines': '"a\n'.repeat(SIZE / 3),
  'backtick runs of many lengths': Array.from(
    { length: SIZE / 10 },
    (_, i) => `${'`'.repeat((i % 7) + 1)}abc`,
  ).join(' '),
  'brackets that look like JSON': '{\n'.repeat(SIZE / 2),
  'fence markers': '```\n'.repeat(SIZE / 4),
  'URL scheme separators': '://'.repeat(SIZE / 3),
  'aligned columns': 'a  b  c\n'.repeat(SIZE / 8),
  'sentence ends': '. A'.repeat(SIZE / 3),
};

describe('compression on adversarial input', () => {
  for (const [name, text] of Object.entries(inputs)) {
    it(`handles ${name} in linear time`, () => {
      const start = performance.now();
      const safe = compressSafeText(text);
      aggressiveTransform(safe, new DuplicateRegistry());
      const elapsed = performance.now() - start;
      expect(elapsed, `${name}: ${elapsed.toFixed(0)} ms for ${text.length} chars`).toBeLessThan(
        BUDGET_MS,
      );
    });
  }
});
