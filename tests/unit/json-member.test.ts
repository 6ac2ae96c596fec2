import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withoutNullMember } from '../../src/http/json-member.js';

/** JSON text of an object with the members in order, separated and spaced as given. */
function objectText(members: [string, unknown][], space: string): string {
  return `{${space}${members
    .map(([name, value]) => `${JSON.stringify(name)}${space}:${space}${JSON.stringify(value)}`)
    .join(`${space},${space}`)}${space}}`;
}

describe('withoutNullMember', () => {
  it('cuts a top-level null member wherever it stands and leaves the rest of the text as it was', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(
            fc.string().filter((s) => s !== 'usage'),
            fc.jsonValue(),
          ),
          { selector: ([name]) => name, maxLength: 6 },
        ),
        fc.nat(),
        fc.constantFrom('', ' ', '\n  '),
        (members, at, space) => {
          const withUsage: [string, unknown][] = [...members];
          withUsage.splice(at % (members.length + 1), 0, ['usage', null]);
          const text = objectText(withUsage, space);
          const cut = withoutNullMember(text, 'usage');
          expect(cut, text).not.toBeNull();
          expect(JSON.parse(cut as string)).toEqual(JSON.parse(objectText(members, space)));
          // Nothing but the member (and one separator) is gone.
          for (const [name, value] of members) {
            expect(cut).toContain(
              `${JSON.stringify(name)}${space}:${space}${JSON.stringify(value)}`,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds nothing to cut in strings, nested objects, non-null values or escaped names', () => {
    for (const text of [
      '{"a":"\\"usage\\":null","b":1}',
      '{"a":{"usage":null},"b":[{"usage":null}]}',
      '{"usage":{"prompt_tokens":1}}',
      '{"usage":0}',
      '{"\\u0075sage":null}',
      '{"usages":null}',
      '{"a":1}',
    ]) {
      expect(withoutNullMember(text, 'usage'), text).toBeNull();
    }
  });

  it('declines a name given twice, and cuts exactly the member and one separator', () => {
    expect(withoutNullMember('{"usage":{"total_tokens":1},"usage":null}', 'usage')).toBeNull();
    expect(withoutNullMember('{"usage":null,"usage":null}', 'usage')).toBeNull();
    expect(withoutNullMember('{"usage":null,"a":1}', 'usage')).toBe('{"a":1}');
    expect(withoutNullMember('{"a":1,"usage":null}', 'usage')).toBe('{"a":1}');
    expect(withoutNullMember('{"usage":null}', 'usage')).toBe('{}');
    expect(withoutNullMember('{ "a" : 1 , "usage" : null }', 'usage')).toBe('{ "a" : 1 }');
  });
});
