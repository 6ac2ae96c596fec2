import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { randomBuffer } from '../runtime/random-pool.js';
import type { MasterKey } from './key-ring.js';
import { createSmallDeflate } from './row-compression.js';

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/**
 * Below this size deflating inline is cheaper than a round trip through the thread pool; above it
 * the thread pool keeps a large prompt from holding the event loop.
 */
const SYNC_DEFLATE_MAX_BYTES = 16 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Format byte of a row ciphertext: v1 = deflate-raw(JSON) under AES-256-GCM. */
const ROW_FORMAT_V1 = 1;

/** Raised when a ciphertext cannot be opened: wrong key, wrong row, tampered, or shredded. */
export class DecryptionError extends Error {
  constructor(message = 'ciphertext could not be decrypted') {
    super(message);
    this.name = 'DecryptionError';
  }
}

function seal(
  key: Uint8Array,
  plaintext: Buffer,
  aad: Buffer,
  iv: Buffer = randomBuffer(IV_BYTES),
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError();
  }
}

function dataKeyAad(tenantId: string): Buffer {
  return Buffer.from(`tollgate/data-key/v1/${tenantId}`);
}

function rowAad(rowId: string, tenantId: string, field: string): Buffer {
  return Buffer.from(`tollgate/row/v1/${tenantId}/${rowId}/${field}`);
}

/** A fresh random 256-bit data key for a tenant. */
export function generateDataKey(): Buffer {
  return randomBytes(32);
}

/** Wraps a tenant's data key under a master key (bound to the tenant id). */
export function wrapDataKey(master: MasterKey, dataKey: Buffer, tenantId: string): Buffer {
  return seal(master.key, dataKey, dataKeyAad(tenantId));
}

/** Unwraps a tenant's data key; throws DecryptionError with the wrong master key or tenant. */
export function unwrapDataKey(master: MasterKey, wrapped: Buffer, tenantId: string): Buffer {
  return open(master.key, wrapped, dataKeyAad(tenantId));
}

/** Which row and field a ciphertext belongs to; bound into it as additional data. */
export interface RowFieldContext {
  rowId: string;
  tenantId: string;
  field: string;
}

/** The bytes of a row ciphertext: format byte, then IV, tag and body of AES-256-GCM. */
function rowCiphertext(
  dataKey: Uint8Array,
  compressed: Buffer,
  ctx: RowFieldContext,
  iv?: Buffer,
): Buffer {
  return Buffer.concat([
    Buffer.of(ROW_FORMAT_V1),
    seal(dataKey, compressed, rowAad(ctx.rowId, ctx.tenantId, ctx.field), iv),
  ]);
}

/**
 * This thread's compressor for small fields (synchronous, so its callers never interleave): the
 * sealing thread's for sealRowJson, the main thread's for encryptRowField.
 */
const deflateSmall = createSmallDeflate();

/**
 * Encrypts one field of an interaction row: JSON → deflate-raw → AES-256-GCM with a random IV and
 * the row id, tenant id and field name as additional data, so it cannot be moved to another row.
 */
export function encryptRowField(
  dataKey: Buffer,
  value: unknown,
  ctx: RowFieldContext,
): Promise<Buffer> {
  return encryptRowJson(dataKey, JSON.stringify(value), ctx);
}

/** encryptRowField for a value already serialised to JSON (its text). */
export async function encryptRowJson(
  dataKey: Buffer,
  text: string,
  ctx: RowFieldContext,
): Promise<Buffer> {
  const json = Buffer.from(text, 'utf8');
  const compressed =
    json.length <= SYNC_DEFLATE_MAX_BYTES ? deflateSmall(json) : await deflate(json);
  return rowCiphertext(dataKey, compressed, ctx);
}

/**
 * encryptRowField for a value already serialised to JSON (as UTF-8 bytes), all at once on the
 * calling thread (the sealing thread, where blocking is what it is for). `iv` is the field's 12
 * random bytes; callers sealing many fields draw them in one call.
 */
export function sealRowJson(
  dataKey: Uint8Array,
  json: Buffer,
  ctx: RowFieldContext,
  iv: Buffer = randomBuffer(IV_BYTES),
): Buffer {
  if (iv.length !== IV_BYTES) throw new Error(`a row IV is ${IV_BYTES} bytes`);
  return rowCiphertext(dataKey, deflateSmall(json), ctx, iv);
}

/** Bytes of random IV each row field needs. */
export const ROW_IV_BYTES = IV_BYTES;

/** Decrypts a field written by encryptRowField; throws DecryptionError if it was moved or altered. */
export async function decryptRowField(
  dataKey: Buffer,
  sealed: Buffer,
  ctx: RowFieldContext,
): Promise<unknown> {
  if (sealed[0] !== ROW_FORMAT_V1) throw new DecryptionError('unknown ciphertext format');
  const compressed = open(dataKey, sealed.subarray(1), rowAad(ctx.rowId, ctx.tenantId, ctx.field));
  return JSON.parse((await inflate(compressed)).toString('utf8'));
}
