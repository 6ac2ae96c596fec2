import { randomBytes } from 'node:crypto';
import { ROW_IV_BYTES, sealRowJson } from './envelope.js';

/** One row's text fields, already JSON, to be encrypted under the data key at `key`. */
export interface SealJob {
  /** Index of the row's tenant data key in the batch's `keys`. */
  key: number;
  rowId: string;
  tenantId: string;
  /** The request as JSON, or null when there is none to store. */
  request: string | null;
  /** The response as JSON, or null when there is none to store. */
  response: string | null;
}

/** Rows to encrypt together; each distinct data key is sent once. */
export interface SealBatch {
  keys: readonly Uint8Array[];
  jobs: readonly SealJob[];
}

/**
 * Every ciphertext of a batch in one buffer (so it moves between threads without a copy);
 * `offsets` holds start and end of job i's request at [4i, 4i+1] and of its response at
 * [4i+2, 4i+3], or -1 for a field that was null.
 */
export interface SealedBatch {
  bytes: Uint8Array<ArrayBuffer>;
  offsets: Int32Array<ArrayBuffer>;
}

/** The two encrypted fields of one row. */
export interface SealedFields {
  requestEnc: Buffer | null;
  responseEnc: Buffer | null;
}

const FIELDS = ['request', 'response'] as const;

/** Encrypts a batch exactly as encryptRowField would each field, drawing all IVs at once. */
export function sealBatch(batch: SealBatch): SealedBatch {
  const ivs = randomBytes(ROW_IV_BYTES * FIELDS.length * batch.jobs.length);
  const offsets = new Int32Array(batch.jobs.length * 4);
  const pieces: Buffer[] = [];
  let size = 0;
  batch.jobs.forEach((job, i) => {
    const key = batch.keys[job.key];
    if (!key) throw new Error(`seal job ${i} names a data key the batch does not carry`);
    FIELDS.forEach((field, f) => {
      const slot = i * 4 + f * 2;
      const json = job[field];
      if (json === null) {
        offsets[slot] = -1;
        offsets[slot + 1] = -1;
        return;
      }
      const ivAt = (i * FIELDS.length + f) * ROW_IV_BYTES;
      const sealed = sealRowJson(
        key,
        json,
        { rowId: job.rowId, tenantId: job.tenantId, field },
        ivs.subarray(ivAt, ivAt + ROW_IV_BYTES),
      );
      pieces.push(sealed);
      offsets[slot] = size;
      size += sealed.length;
      offsets[slot + 1] = size;
    });
  });
  // Its own memory, never Node's shared pool: the buffer is handed to another thread.
  const bytes = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return { bytes, offsets };
}

/** The fields of job `index` of a sealed batch, as views into its buffer. */
export function sealedFieldsOf(sealed: SealedBatch, index: number): SealedFields {
  const view = (slot: number): Buffer | null => {
    const start = sealed.offsets[slot] ?? -1;
    const end = sealed.offsets[slot + 1] ?? -1;
    if (start < 0 || end < 0) return null;
    return Buffer.from(sealed.bytes.buffer, sealed.bytes.byteOffset + start, end - start);
  };
  return { requestEnc: view(index * 4), responseEnc: view(index * 4 + 2) };
}
