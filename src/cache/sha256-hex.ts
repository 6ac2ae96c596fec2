import { hash } from 'node:crypto';

/** SHA-256 of a UTF-8 string as 64 lowercase hex characters (one call, no Hash object). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
