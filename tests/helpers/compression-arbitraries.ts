import fc from 'fast-check';

/**
 * Untidy prose: words, runs of spaces, tabs, blank lines, CRLF, invisible and control characters,
 * decomposed accents. No quote, backtick, colon, slash, bracket or tilde, so it can never open or
 * close a protected span by itself.
 */
export const noisyProse: fc.Arbitrary<string> = fc
  .array(
    fc.constantFrom(
      'alpha',
      'Beta',
      'gamma.',
      'delta,',
      'Over',
      '42',
      '3.14',
      ' ',
      ' ',
      '  ',
      '     ',
      '\t',
      '\n',
      '\n',
      '\n\n\n',
      ' \n',
      '   \n',
      '\r\n',
      '\u200b',
      '\ufeff',
      '\u00ad',
      '\u0007',
      '\u001b[31m',
      'e\u0301',
      'caf\u00e9',
      '!',
      '?',
      '-',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

/** Any text at all, including the characters that open protected spans. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          '"',
          "'",
          '`',
          '```',
          '~~~',
          'https://x.io/a',
          '{',
          '}',
          '[',
          ']',
          ':',
          '  ',
          '\n',
          '\n\n',
          '\t',
          '\u200b',
          '\r',
          '\u0301',
          '“',
          '”',
          '‘',
          '’',
          'www.',
          '- ',
        ),
        noisyProse,
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('')),
);

/** A piece of text that `safe` must copy byte for byte, and how it must be framed. */
export interface ProtectedPiece {
  kind: string;
  text: string;
  /** Block pieces stand on their own lines, inline pieces between spaces. */
  block: boolean;
}

const messyInside = fc
  .array(fc.constantFrom('a', 'B', '  ', ' ', '\u200b', 'e\u0301', '\u0007', '42', '.'), {
    minLength: 1,
    maxLength: 8,
  })
  .map((parts) => parts.join(''));

const inlineCode = messyInside.map((s) => ({
  kind: 'inline code',
  text: `\`x${s}x\``,
  block: false,
}));
const doubleQuoted = messyInside.map((s) => ({ kind: 'quoted', text: `"q${s}q"`, block: false }));
const singleQuoted = messyInside.map((s) => ({
  kind: 'single-quoted',
  text: `'q${s}q'`,
  block: false,
}));
const curlyQuoted = messyInside.map((s) => ({
  kind: 'curly-quoted',
  text: `“q${s}q”`,
  block: false,
}));
const url = fc
  .tuple(fc.constantFrom('https://', 'http://', 'ftp://'), fc.webSegment(), fc.webSegment())
  .map(([scheme, a, b]) => ({ kind: 'url', text: `${scheme}ex.com/${a}_${b}?q=1`, block: false }));
const fence = fc
  .tuple(
    fc.constantFrom('```', '~~~', '````'),
    fc.array(fc.oneof(messyInside, fc.constantFrom('', '    indented', '\t\ttab', '"q"')), {
      maxLength: 5,
    }),
  )
  .map(([marker, lines]) => ({
    kind: 'fence',
    text: `${marker}py\n${lines.join('\n')}\n${marker}`,
    block: true,
  }));
const yaml = fc
  .array(fc.tuple(fc.constantFrom('key', 'name', 'items'), messyInside), {
    minLength: 1,
    maxLength: 4,
  })
  .map((pairs) => ({
    kind: 'indented',
    text: `config:\n${pairs.map(([k, v]) => `  ${k}:   ${v}  `).join('\n')}\n\n\n    tail:  ${'x'}`,
    block: true,
  }));
const makefile = messyInside.map((s) => ({
  kind: 'tab-indented',
  text: `build:\n\tcc  -o app ${s}  \n\t@echo  done`,
  block: true,
}));
const table = fc.constant({
  kind: 'aligned table',
  text: 'Name     Age   City\nJohn     25    NYC\nAnn      31    Rome',
  block: true,
});

/** One protected piece of any kind. */
export const protectedPiece: fc.Arbitrary<ProtectedPiece> = fc.oneof(
  inlineCode,
  doubleQuoted,
  singleQuoted,
  curlyQuoted,
  url,
  fence,
  yaml,
  makefile,
  table,
);

/** Noisy prose with protected pieces embedded, and the pieces themselves. */
export const proseWithPieces: fc.Arbitrary<{ text: string; pieces: ProtectedPiece[] }> = fc
  .array(fc.tuple(noisyProse, protectedPiece), { maxLength: 5 })
  .chain((pairs) =>
    noisyProse.map((tail) => {
      let text = '';
      for (const [prose, piece] of pairs) {
        text += piece.block ? `${prose}\n\n${piece.text}\n\n` : `${prose} ${piece.text} `;
      }
      return { text: text + tail, pieces: pairs.map(([, piece]) => piece) };
    }),
  );
