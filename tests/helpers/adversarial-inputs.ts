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
