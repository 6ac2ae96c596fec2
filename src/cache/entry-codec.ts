import type { ChatCompletion } from 'openai/resources/chat/completions';
import { decryptRowField, encryptRowField, encryptRowJson } from '../crypto/envelope.js';
import type { TenantKeys } from '../crypto/tenant-keys.js';

const RESPONSE_FIELD = 'cache.response';
const QUESTION_FIELD = 'cache.question';

/** An entry's answer and question as stored: ciphertexts only. */
export interface SealedEntry {
  responseEnc: Buffer;
  questionEnc: Buffer | null;
}

/**
 * Seals two texts (JSON) under a data key, each bound to (rowId, tenantId, its field name), in
 * the format encryptRowField writes: the interaction log's sealing thread offers this.
 */
export interface TextSealer {
  seal(job: {
    dataKey: Buffer;
    rowId: string;
    tenantId: string;
    request: string | null;
    response: string | null;
    fields: readonly [string, string];
  }): Promise<{ requestEnc: Buffer | null; responseEnc: Buffer | null }>;
}

/**
 * Encrypts and decrypts cache entries under the tenant's data key. Each ciphertext is bound to the
 * tenant, the exact key and the field, so it cannot be replayed under another question or tenant.
 * With a sealer, entries are compressed and encrypted there (off the event loop); without one,
 * here.
 */
export class EntryCodec {
  constructor(
    private readonly tenantKeys: TenantKeys,
    private readonly sealer?: TextSealer,
  ) {}

  /** True while the tenant has a data key (false once it is forgotten). */
  async canSeal(tenantId: string): Promise<boolean> {
    return (await this.tenantKeys.forEncryption(tenantId)) !== null;
  }

  /** The entry's ciphertexts, or null when the tenant has no data key. */
  async seal(
    tenantId: string,
    exactHash: string,
    /** The answer as JSON (the text the client received). */
    completionJson: string,
    question: string | null,
  ): Promise<SealedEntry | null> {
    const dataKey = await this.tenantKeys.forEncryption(tenantId);
    if (!dataKey) return null;
    if (this.sealer) {
      // The answer goes in the first slot, the question in the second.
      const sealed = await this.sealer.seal({
        dataKey,
        rowId: exactHash,
        tenantId,
        request: completionJson,
        response: question === null ? null : JSON.stringify(question),
        fields: [RESPONSE_FIELD, QUESTION_FIELD],
      });
      if (!sealed.requestEnc) throw new Error('the sealer returned no ciphertext for the answer');
      return { responseEnc: sealed.requestEnc, questionEnc: sealed.responseEnc };
    }
    const bind = (field: string) => ({ rowId: exactHash, tenantId, field });
    return {
      responseEnc: await encryptRowJson(dataKey, completionJson, bind(RESPONSE_FIELD)),
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
