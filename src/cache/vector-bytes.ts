/** Bytes per vector component stored (IEEE 754 single precision). */
const FLOAT32_BYTES = 4;

/**
 * A vector as Float32 little-endian bytes: the portable form of the `embedding_f32` column, which
 * any PostgreSQL can hold without an extension.
 */
export function vectorToBytes(vector: Float32Array): Buffer {
  const bytes = Buffer.allocUnsafe(vector.length * FLOAT32_BYTES);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * FLOAT32_BYTES);
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
