import { DecryptionError, decryptRowField, encryptRowField } from '../crypto/envelope.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';

/** Where a sealed value lives: bound into its ciphertext so it cannot be moved elsewhere. */
export interface SealedPlace {
  tenantId: string;
  rowId: string;
  field: string;
}

/**
 * Where a stored item is sealed: its owner (a response or a conversation) and its id. Both stores
 * use it, since either may open the other's items (an `item_reference` names any of them).
 */
export function itemPlace(tenantId: string, ownerId: string, itemId: string): SealedPlace {
  return { tenantId, rowId: `${ownerId}/${itemId}`, field: 'item' };
}

/** Raised when a tenant has no data key to seal with: it was forgotten. */
export class TenantForgottenError extends Error {
  constructor(tenantId: string) {
    super(`tenant ${tenantId} is forgotten: nothing more is stored for it`);
    this.name = 'TenantForgottenError';
  }
}

/** Seals and opens stored JSON values with their tenant's data key. */
export interface JsonSealer {
  /** The tenant's encryption key, fetched once for several `seal` calls. */
  keyFor(tenantId: string): Promise<Buffer>;
  seal(key: Buffer, value: unknown, place: SealedPlace): Promise<Buffer>;
  /** The tenant's decryption key, or null once it is forgotten (its values are unreadable). */
  openingKeyFor(tenantId: string): Promise<Buffer | null>;
  /** The value, or null when it cannot be opened (shredded, moved or altered). */
  open(key: Buffer, sealed: Buffer, place: SealedPlace): Promise<unknown>;
}

/** Builds the sealer over the tenants' data keys (the envelope encryption of interaction rows). */
export function createJsonSealer(tenantKeys: TenantKeys): JsonSealer {
  return {
    async keyFor(tenantId) {
      const key = await tenantKeys.forEncryption(tenantId);
      if (key === null) throw new TenantForgottenError(tenantId);
      return key;
    },
    seal: (key, value, place) => encryptRowField(key, value, place),
    openingKeyFor: (tenantId) => tenantKeys.forDecryption(tenantId),
    async open(key, sealed, place) {
      try {
        return await decryptRowField(key, sealed, place);
      } catch (err) {
        if (err instanceof DecryptionError) return null;
        throw err;
      }
    },
  };
}
