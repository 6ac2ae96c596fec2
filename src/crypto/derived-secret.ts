import { hkdfSync } from 'node:crypto';
import type { MasterKey } from './key-ring.js';

/** Bytes of a derived secret. */
const DERIVED_SECRET_BYTES = 32;

/**
 * A secret for one purpose, derived from a master key (HKDF-SHA-256): every instance sharing the
 * master keys derives the same one, and nothing else needs storing. It changes when the master
 * key it was derived from does.
 */
export function deriveSecret(master: MasterKey, purpose: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', master.key, Buffer.alloc(0), purpose, DERIVED_SECRET_BYTES),
  );
}
