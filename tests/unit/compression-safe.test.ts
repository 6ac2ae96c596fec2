import { describe, expect, it } from 'vitest';
import { minifyJsonDocument, stripJsonWhitespace } from '../../src/compression/json-minify.js';
import { findProtectedSpans } from '../../src/compression/protected-spans.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';

function safe(text: string): string {
  return compressSafeText(text);
}

function expectSafe(input: string, expected: string): void {
  expect(safe(input), JSON.stringify(input)).toBe(expected);
}

describe('safe whitespace cleanup', () => {
  it('collapses runs of spaces inside a line and strips trailing spaces', () => {
    expectSafe('Hello    world.   \nNext  line  ', 'Hello world.\nNext line');
  });

  it('reduces three or more line breaks to one blank line', () => {
    expectSafe('one\n\n\n\n\ntwo\n \n  \n\nthree', 'one\n\ntwo\n\nthree');
  });

  it('drops blank lines at the start and blank space at the end of the text', () => {
    expectSafe('\n\n\nText here\n\n\n', 'Text here');
  });

  it('keeps the leading space of a line and every tab', () => {
    expectSafe(' lead\ncol1\tcol2\t\tcol4', ' lead\ncol1\tcol2\t\tcol4');
  });

  it('leaves a whitespace-only text as it is', () => {
    expectSafe('   \n\n  ', '   \n\n  ');
  });

  it('collapses spaces around an apostrophe, which opens no quote', () => {
    expectSafe("don't   stop   it's  fine", "don't stop it's fine");
  });
});

describe('safe character cleanup', () => {
  it('removes zero-width spaces, word joiners, BOMs, soft hyphens and control characters', () => {
    expectSafe(
      '\ufeffzero\u200bwidth\u2060 soft\u00adhyphen bell\u0007 nul\u0000 c1\u0090',
      'zerowidth softhyphen bell nul c1',
    );
  });

  it('keeps zero-width joiners and non-joiners, which spell emoji and some scripts', () => {
    const family = '👨\u200d👩\u200d👧 می\u200cخواهم';
    expectSafe(family, family);
  });

  it('turns CRLF, lone CR, vertical tab and form feed into line breaks', () => {
    expectSafe('a\r\nb\rc\u000bd\u000ce', 'a\nb\nc\nd\ne');
  });

  it('strips terminal colour codes', () => {
    expectSafe('\u001b[1;31mError:\u001b[0m disk full', 'Error: disk full');
  });

  it('normalises decomposed accents to NFC', () => {
    expectSafe('Cafe\u0301 Ame\u0301lie', 'Café Amélie');
  });
});

describe('safe leaves protected text byte-identical', () => {
  it('keeps a fenced code block, including its blank lines and trailing spaces', () => {
    const fence = '```python\ndef f(x):  \n    return  x\n\n\n\n```';
    expectSafe(`Look:   \n${fence}\nafter   it`, `Look:\n${fence}\nafter it`);
  });

  it('keeps an unclosed fence to the end of the text', () => {
    const rest = '~~~\ncode   here\n\n\n\nmore  ';
    expectSafe(`Intro  text\n${rest}`, `Intro text\n${rest}`);
  });

  it('keeps inline code, URLs and quoted strings', () => {
    const input =
      'Run  `ls  -la`  then open https://ex.com/a?b=1&c=%20  and type "two  spaces" or \'x  y\' or “a  b”.';
    const expected =
      'Run `ls  -la` then open https://ex.com/a?b=1&c=%20 and type "two  spaces" or \'x  y\' or “a  b”.';
    expectSafe(input, expected);
  });

  it('keeps invisible characters inside protected spans', () => {
    const input = 'see "a\u200bb" and `c\u00add`';
    expectSafe(input, input);
  });

  it('keeps YAML with its indentation, inner spacing and blank lines', () => {
    const yaml = 'steps:\n  - run:   npm ci  \n\n\n  - run: npm test\nenv:\n  CI:  true';
    expectSafe(
      `Here  is the file:\n\n${yaml}\n\n\n\nThanks  a lot`,
      `Here is the file:\n\n${yaml}\n\nThanks a lot`,
    );
  });

  it('keeps Python code without a fence, across the blank lines between functions', () => {
    const python = 'def a():\n    return  1\n\n\ndef b():\n    return  2';
    expectSafe(python, python);
  });

  it('keeps a tab-indented Makefile recipe', () => {
    const recipe = 'build:\n\tcc  -o app  main.c  \n\t@echo  done';
    expectSafe(recipe, recipe);
  });

  it('keeps a plain-text table whose columns line up', () => {
    const table = 'Name     Age   City\nJohn     25    NYC';
    expectSafe(`People:\n\n${table}\n\nDone   here`, `People:\n\n${table}\n\nDone here`);
  });

  it('finds each kind of span at the right place', () => {
    const text = 'a `b` https://c.d/e "f" \'g\' “h” www.i.j\n```\nk\n```';
    const found = findProtectedSpans(text).map((span) => [
      span.kind,
      text.slice(span.start, span.end),
    ]);
    expect(found, JSON.stringify(found)).toEqual([
      ['inline-code', '`b`'],
      ['url', 'https://c.d/e'],
      ['quote', '"f"'],
      ['quote', "'g'"],
      ['quote', '“h”'],
      ['url', 'www.i.j'],
      ['fence', '```\nk\n```'],
    ]);
  });
});

describe('safe JSON minification', () => {
  it('minifies a whole JSON document without rewriting any literal', () => {
    const json =
      '{\n  "name": "caf\\u00e9  bar",\n  "big": 12345678901234567890,\n  "float": 1.50,\n  "dup": 1,\n  "dup": 2,\n  "list": [ 1, 2 ]\n}';
    const expected =
      '{"name":"caf\\u00e9  bar","big":12345678901234567890,"float":1.50,"dup":1,"dup":2,"list":[1,2]}';
    expectSafe(json, expected);
  });

  it('leaves invalid JSON and JSON scalars to the text transforms', () => {
    expectSafe('{ "a": 1,, }', '{ "a": 1,, }');
    expectSafe('42  \n', '42');
  });

  it('minifies a pretty-printed JSON block inside prose', () => {
    expectSafe(
      'Data:\n{\n  "a": [1, 2],\n  "b": "x  y"\n}\nUse  it.',
      'Data:\n{"a":[1,2],"b":"x  y"}\nUse it.',
    );
  });

  it('returns undefined for text that is not a JSON object or array', () => {
    expect(minifyJsonDocument('"just a string"')).toBeUndefined();
    expect(minifyJsonDocument('{"a": 1} trailing')).toBeUndefined();
  });

  it('keeps escaped quotes and backslashes inside strings', () => {
    const json = '{ "q": "say \\"hi\\"  \\\\", "k" : [ "\\\\\\"" ] }';
    const minified = stripJsonWhitespace(json);
    expect(minified, minified).toBe('{"q":"say \\"hi\\"  \\\\","k":["\\\\\\""]}');
    expect(JSON.parse(minified), minified).toEqual(JSON.parse(json));
  });
});
