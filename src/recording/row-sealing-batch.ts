import { randomBytes } from 'node:crypto';
import { ROW_IV_BYTES, sealRowJson } from '../crypto/envelope.js';

/** One row of a batch: which data key seals it, and what its fields are bound to. */
export interface SealJob {
  /** Index of the row's tenant data key in the batch's `keys`. */
  key: number;
  rowId: string;
  tenantId: string;
  /** The field names bound into the row's two ciphertexts; 'request' and 'response' when absent. */
  fields?: readonly [string, string];
}

/**
 * Rows to encrypt together; each distinct data key is sent once. The rows' JSON travels as UTF-8
 * in one buffer (`text`, moved between threads without a copy): job i's request is
 * text[spans[4i], spans[4i+1]) and its response text[spans[4i+2], spans[4i+3]), -1 for a null one.
 */
export interface SealBatch {
  keys: readonly Uint8Array[];
  jobs: readonly SealJob[];
  text: Uint8Array<ArrayBuffer>;
  spans: Int32Array<ArrayBuffer>;
}

/** Packs rows' request and response JSON into a batch's `text` and `spans`. */
export function packTexts(
  fields: readonly { request: string | null; response: string | null }[],
): Pick<SealBatch, 'text' | 'spans'> {
  const spans = new Int32Array(fields.length * 4);
  let size = 0;
  fields.forEach((f, i) => {
    for (const [slot, json] of [
      [i * 4, f.request],
      [i * 4 + 2, f.response],
    ] as const) {
      const bytes = json === null ? -1 : Buffer.byteLength(json, 'utf8');
      spans[slot] = bytes < 0 ? -1 : size;
      size += Math.max(0, bytes);
      spans[slot + 1] = bytes < 0 ? -1 : size;
    }
  });
  // Its own memory, never Node's shared pool: the buffer is handed to another thread.
  const text = Buffer.from(new ArrayBuffer(size));
  fields.forEach((f, i) => {
    const at = spans[i * 4] ?? -1;
    if (f.request !== null && at >= 0) text.write(f.request, at, 'utf8');
    const responseAt = spans[i * 4 + 2] ?? -1;
    if (f.response !== null && responseAt >= 0) text.write(f.response, responseAt, 'utf8');
  });
  return { text: new Uint8Array(text.buffer), spans };
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
      const start = batch.spans[slot] ?? -1;
      const end = batch.spans[slot + 1] ?? -1;
      if (start < 0) {
        offsets[slot] = -1;
        offsets[slot + 1] = -1;
        return;
      }
      if (end < start || end > batch.text.length) {
        throw new Error(`seal job ${i} names text outside the batch`);
      }
      const ivAt = (i * FIELDS.length + f) * ROW_IV_BYTES;
      const sealed = sealRowJson(
        key,
        Buffer.from(batch.text.buffer, batch.text.byteOffset + start, end - start),
        { rowId: job.rowId, tenantId: job.tenantId, field: job.fields?.[f] ?? field },
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
