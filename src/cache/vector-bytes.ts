import { nonZeros } from './vector-math.js';

/** Bytes per vector component stored (IEEE 754 single precision). */
const FLOAT32_BYTES = 4;
/** A sparse row: the vector's length, then (index, value) per nonzero component. */
const SPARSE_HEADER_BYTES = 4;
const SPARSE_COMPONENT_BYTES = 8;

/**
 * A vector as Float32 little-endian bytes: the portable form of the `embedding_f32` column, which
 * any PostgreSQL can hold without an extension.
 */
export function vectorToBytes(vector: Float32Array): Buffer {
  const bytes = Buffer.allocUnsafe(vector.length * FLOAT32_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * FLOAT32_BYTES, vector[i], true);
  return bytes;
}

/** Reads a vector written by `vectorToBytes`; throws on a length that is not whole floats. */
export function vectorFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.length % FLOAT32_BYTES !== 0) {
    throw new RangeError(`a Float32 vector cannot be ${bytes.length} bytes long`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(bytes.length / FLOAT32_BYTES);
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * FLOAT32_BYTES, true);
  return vector;
}

/**
 * A mostly-zero vector as the `embedding_sparse` column holds it, all little-endian: its length
 * (uint32), then each nonzero component in order as its index (uint32) and value (float32).
 */
export function sparseVectorToBytes(vector: Float32Array): Buffer {
  const bytes = Buffer.allocUnsafe(sparseBytes(nonZeros(vector)));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, vector.length, true);
  let at = SPARSE_HEADER_BYTES;
  for (let i = 0; i < vector.length; i++) {
    if (vector[i] === 0) continue;
    view.setUint32(at, i, true);
    view.setFloat32(at + 4, vector[i], true);
    at += SPARSE_COMPONENT_BYTES;
  }
  return bytes;
}

/**
 * Reads a vector written by `sparseVectorToBytes`; throws a RangeError on bytes that are not one
 * (a torn length, an index out of range or out of order).
 */
export function vectorFromSparseBytes(bytes: Uint8Array): Float32Array {
  const components = (bytes.length - SPARSE_HEADER_BYTES) / SPARSE_COMPONENT_BYTES;
  if (!Number.isInteger(components) || components < 0) {
    throw new RangeError(`a sparse vector cannot be ${bytes.length} bytes long`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(view.getUint32(0, true));
  let previous = -1;
  for (let k = 0; k < components; k++) {
    const at = SPARSE_HEADER_BYTES + k * SPARSE_COMPONENT_BYTES;
    const index = view.getUint32(at, true);
    if (index <= previous || index >= vector.length) {
      throw new RangeError(`a sparse vector of ${vector.length} has a component at ${index}`);
    }
    vector[index] = view.getFloat32(at + 4, true);
    previous = index;
  }
  return vector;
}

function sparseBytes(components: number): number {
  return SPARSE_HEADER_BYTES + components * SPARSE_COMPONENT_BYTES;
}

/** A vector's stored form: dense, or sparse when that is smaller (at most one is set). */
export interface StoredVector {
  embeddingF32: Buffer | null;
  embeddingSparse: Buffer | null;
}

/** The columns a vector is stored in: the sparse form when it takes fewer bytes than the dense. */
export function storedVector(vector: Float32Array | null): StoredVector {
  if (vector === null) return { embeddingF32: null, embeddingSparse: null };
  return sparseBytes(nonZeros(vector)) < vector.length * FLOAT32_BYTES
    ? { embeddingF32: null, embeddingSparse: sparseVectorToBytes(vector) }
    : { embeddingF32: vectorToBytes(vector), embeddingSparse: null };
}

/** The vector of a stored row (from whichever column holds it), or null when it has none. */
export function vectorOfRow(row: {
  embeddingF32: Uint8Array | null;
  embeddingSparse: Uint8Array | null;
}): Float32Array | null {
  if (row.embeddingSparse !== null) return vectorFromSparseBytes(row.embeddingSparse);
  if (row.embeddingF32 !== null) return vectorFromBytes(row.embeddingF32);
  return null;
}
