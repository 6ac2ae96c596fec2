import type { ChatCompletion } from 'openai/resources/chat/completions';
import { decryptRowField, encryptRowField } from '../crypto/envelope.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';

const RESPONSE_FIELD = 'cache.response';
const QUESTION_FIELD = 'cache.question';

/** An entry's answer and question as stored: ciphertexts only. */
export interface SealedEntry {
  responseEnc: Buffer;
  questionEnc: Buffer | null;
}

/**
 * Encrypts and decrypts cache entries under the tenant's data key. Each ciphertext is bound to the
 * tenant, the exact key and the field, so it cannot be replayed under another question or tenant.
 */
export class EntryCodec {
  constructor(private readonly tenantKeys: TenantKeys) {}

  /** True while the tenant has a data key (false once it is forgotten). */
  async canSeal(tenantId: string): Promise<boolean> {
    return (await this.tenantKeys.forEncryption(tenantId)) !== null;
  }

  /** The entry's ciphertexts, or null when the tenant has no data key. */
  async seal(
    tenantId: string,
    exactHash: string,
    completion: ChatCompletion,
    question: string | null,
  ): Promise<SealedEntry | null> {
    const dataKey = await this.tenantKeys.forEncryption(tenantId);
    if (!dataKey) return null;
    const bind = (field: string) => ({ rowId: exactHash, tenantId, field });
    return {
      responseEnc: await encryptRowField(dataKey, completion, bind(RESPONSE_FIELD)),
      questionEnc:
        question === null ? null : await encryptRowField(dataKey, question, bind(QUESTION_FIELD)),
    };
  }

  /** The stored answer, or null when it cannot be opened (forgotten tenant, moved or altered). */
  async openResponse(
    tenantId: string,
    exactHash: string,
    sealed: Buffer,
  ): Promise<ChatCompletion | null> {
    const value = await this.open(tenantId, exactHash, sealed, RESPONSE_FIELD);
    return isCompletion(value) ? value : null;
  }

  /** The stored question, or null when it cannot be opened. */
  async openQuestion(tenantId: string, exactHash: string, sealed: Buffer): Promise<string | null> {
    const value = await this.open(tenantId, exactHash, sealed, QUESTION_FIELD);
    return typeof value === 'string' ? value : null;
  }

  private async open(
    tenantId: string,
    exactHash: string,
    sealed: Buffer,
    field: string,
  ): Promise<unknown> {
    const dataKey = await this.tenantKeys.forEncryption(tenantId);
    if (!dataKey) return null;
    return decryptRowField(dataKey, sealed, { rowId: exactHash, tenantId, field }).catch(
      () => null,
    );
  }
}

function isCompletion(value: unknown): value is ChatCompletion {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { choices?: unknown }).choices)
  );
}
