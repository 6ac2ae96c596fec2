import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Length of the public id part of a key (`tg_<public id>_<secret>`). */
export const PUBLIC_ID_LENGTH = 12;
/** Length of the secret part of a key. */
export const SECRET_LENGTH = 32;
const KEY_RE = /^tg_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})$/;

function randomBase62(length: number): string {
  let out = '';
  // Rejection sampling keeps every character uniformly likely (248 = 4 * 62).
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A freshly generated API key; `key` is shown once and never stored. */
export interface GeneratedApiKey {
  key: string;
  publicId: string;
  secretHash: string;
}

/** Generates a new `tg_<public id>_<secret>` key from crypto.randomBytes. */
export function generateApiKey(): GeneratedApiKey {
  const publicId = randomBase62(PUBLIC_ID_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  return { key: `tg_${publicId}_${secret}`, publicId, secretHash: hashSecret(secret) };
}

/** Splits a presented key into its public id and secret, or null when it is not a Tollgate key. */
export function parseApiKey(key: string): { publicId: string; secret: string } | null {
  const m = KEY_RE.exec(key);
  if (!m?.[1] || !m[2]) return null;
  return { publicId: m[1], secret: m[2] };
}

/** SHA-256 of a key's secret, hex-encoded: the only form in which a secret is stored. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A display form of a key that is safe to log: `tg_<public id>_…`. */
export function redactedKey(publicId: string): string {
  return `tg_${publicId}_…`;
}
