const SIZE = 100_000;

/** 100 kB texts built to make a careless regular expression or scan quadratic. */
export const ADVERSARIAL_INPUTS: Record<string, string> = {
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

/** Texts built to make the cache's guards scan quadratically (quotes, numbers, code marks). */
export const HOSTILE_GUARD_INPUTS: readonly string[] = [
  `${'"'.repeat(20_000)}x`,
  `${"'a ".repeat(10_000)}`,
  `${'a.'.repeat(10_000)}`,
  `${'1,'.repeat(10_000)}1`,
  `${'-'.repeat(20_000)}5`,
  `${'`'.repeat(5_000)}${'_'.repeat(5_000)}`,
];

/** Two short questions that mean the same, as the semantic cache meets them. */
export const SHORT_PAIR: readonly [string, string] = [
  'How do I sort a list of 12 numbers in Python without loops?',
  'In Python, how can I sort a list of twelve numbers without using a loop?',
];
