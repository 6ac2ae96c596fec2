import { describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashSecret,
  parseApiKey,
  secretMatches,
} from '../../src/keys/api-key-format.js';

describe('api key format', () => {
  it('generates tg_<12-char id>_<32-char secret> keys in base62', () => {
    const { key, publicId, secretHash } = generateApiKey();
    expect(key).toMatch(/^tg_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/);
    expect(key.slice(3, 15)).toBe(publicId);
    expect(secretHash).toBe(hashSecret(key.slice(16)));
    expect(secretHash).not.toContain(key.slice(16));
  });

  it('never generates the same key twice in a thousand draws', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });

  it('parses its own keys and refuses anything else', () => {
    const { key, publicId } = generateApiKey();
    expect(parseApiKey(key)).toEqual({ publicId, secret: key.slice(16) });
    for (const bad of [
      '',
      'sk-abc',
      `${key}x`,
      key.replace('tg_', 'tk_'),
      key.slice(0, -1),
      `tg_${'a'.repeat(12)}_${'b'.repeat(31)}!`,
    ]) {
      expect(parseApiKey(bad), bad).toBeNull();
    }
  });

  it('matches the right secret only', () => {
    const { key, secretHash } = generateApiKey();
    const secret = key.slice(16);
    expect(secretMatches(secret, secretHash)).toBe(true);
    expect(secretMatches(`${secret.slice(0, -1)}x`, secretHash)).toBe(secret.endsWith('x'));
    expect(secretMatches(secret, 'not-hex')).toBe(false);
  });
});
