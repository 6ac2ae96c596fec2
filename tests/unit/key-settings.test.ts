import { describe, expect, it } from 'vitest';
import { AdminRefusal } from '../../src/keys/admin-refusal.js';
import { keyChangeFromFlags, keySettingsFromFlags } from '../../src/keys/key-flags.js';
import { keyBodyParser } from '../../src/keys/key-settings.js';

const NOW_MS = Date.parse('2027-03-01T12:00:00Z');

/** The outcome of a parse: the settings, or the refusal's reason and field. */
function outcome(parse: () => unknown): unknown {
  try {
    return { ok: parse() };
  } catch (err) {
    if (!(err instanceof AdminRefusal)) throw err;
    return { refused: err.reason, field: err.field };
  }
}

describe('one key-settings schema for the admin API and the command line', () => {
  it.each([
    [
      'a valid key',
      { name: 'ci', rpm: '60', scopes: 'chat,admin' },
      { name: 'ci', rpm: 60, scopes: ['chat', 'admin'] },
    ],
    ['an expiry of 0s', { name: 'x', 'expires-in': '0s' }, { name: 'x', expires_in: '0s' }],
    ['a 300-character name', { name: 'n'.repeat(300) }, { name: 'n'.repeat(300) }],
    ['a blank name', { name: '  ' }, { name: '  ' }],
    [
      'an unknown scope',
      { name: 'x', scopes: 'chat,root' },
      { name: 'x', scopes: ['chat', 'root'] },
    ],
    ['no scope', { name: 'x', scopes: '' }, { name: 'x', scopes: [] }],
    ['a zero limit', { name: 'x', concurrency: '0' }, { name: 'x', max_concurrency: 0 }],
    ['a limit past int4', { name: 'x', tpm: '2147483648' }, { name: 'x', tpm: 2147483648 }],
    ['a fractional limit', { name: 'x', rpm: '1.5' }, { name: 'x', rpm: 1.5 }],
    ['a cleared limit', { name: 'x', rpm: 'none' }, { name: 'x', rpm: null }],
    [
      'an unknown compression',
      { name: 'x', compression: 'max' },
      { name: 'x', compression: 'max' },
    ],
    ['every model', { name: 'x', models: 'all' }, { name: 'x', models: null }],
    ['the cache off', { name: 'x', cache: 'off' }, { name: 'x', cache_enabled: false }],
    ['a switch word for the cache', { name: 'x', cache: 'no' }, { name: 'x', cache_enabled: 'no' }],
    ['a bad duration', { name: 'x', 'expires-in': 'soon' }, { name: 'x', expires_in: 'soon' }],
    [
      'an expiry past year 275760',
      { name: 'x', 'expires-in': `${'9'.repeat(20)}d` },
      { name: 'x', expires_in: `${'9'.repeat(20)}d` },
    ],
    ['a missing name', {}, {}],
  ])('judges %s the same from flags and from JSON', (_name, flags, body) => {
    const fromFlags = outcome(() => keySettingsFromFlags(flags, NOW_MS));
    const fromJson = outcome(() => keyBodyParser.create(body, NOW_MS));
    expect(fromFlags).toEqual(fromJson);
  });

  it('refuses an update that changes nothing, or sets an expiry that is not in the future', () => {
    expect(outcome(() => keyChangeFromFlags({}, NOW_MS))).toEqual({
      refused: 'missing',
      field: null,
    });
    expect(outcome(() => keyBodyParser.update({}, NOW_MS))).toEqual({
      refused: 'missing',
      field: null,
    });
    expect(outcome(() => keyChangeFromFlags({ 'expires-in': '0s' }, NOW_MS))).toEqual({
      refused: 'invalid',
      field: 'expires_in',
    });
    expect(
      outcome(() => keyBodyParser.update({ expires_at: '2027-03-01T11:59:59Z' }, NOW_MS)),
    ).toEqual({
      refused: 'invalid',
      field: 'expires_at',
    });
  });

  it('refuses a date that is not on the calendar instead of moving it to the next month', () => {
    expect(
      outcome(() =>
        keyBodyParser.create({ name: 'x', expires_at: '2030-02-30T00:00:00Z' }, NOW_MS),
      ),
    ).toEqual({
      refused: 'invalid',
      field: 'expires_at',
    });
  });

  it('words its refusals for each audience', () => {
    const say = (parse: () => unknown) => {
      try {
        parse();
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(say(() => keyBodyParser.create({ name: 'x', max_concurrency: 0 }, NOW_MS))).toBe(
      "'max_concurrency' must be a positive integer (at most 2147483647) or null.",
    );
    expect(say(() => keySettingsFromFlags({ name: 'x', concurrency: '0' }, NOW_MS))).toBe(
      '--concurrency must be a positive integer (at most 2147483647) or none.',
    );
    expect(say(() => keySettingsFromFlags({ name: 'x', 'expires-in': '0s' }, NOW_MS))).toBe(
      '--expires-in must be in the future.',
    );
    expect(say(() => keyChangeFromFlags({ 'expires-in': 'none' }, NOW_MS))).toBe(
      "Invalid duration 'none' (use e.g. 30d, 12h, 15m or 90s; --expires-in never for no expiry).",
    );
    expect(say(() => keyBodyParser.update({ expires_in: 'none' }, NOW_MS))).toBe(
      "Invalid duration 'none' (use e.g. 30d, 12h, 15m or 90s; 'expires_at' null for no expiry).",
    );
    expect(say(() => keyBodyParser.update({ cache_enabled: 'off' }, NOW_MS))).toBe(
      "'cache_enabled' must be true or false.",
    );
    expect(say(() => keyChangeFromFlags({ cache: 'false' }, NOW_MS))).toBe(
      '--cache must be on or off.',
    );
  });

  it('keeps the settings a valid body gives, in the stored names, with duplicates dropped', () => {
    expect(
      keyBodyParser.create(
        {
          name: ' billing ',
          scopes: ['chat', 'chat'],
          max_concurrency: 4,
          models: [],
          expires_in: '1d',
        },
        NOW_MS,
      ),
    ).toEqual({
      name: 'billing',
      tenant: undefined,
      scopes: ['chat'],
      maxConcurrency: 4,
      allowedModels: [],
      expiresAt: new Date(NOW_MS + 86_400_000),
    });
  });
});
