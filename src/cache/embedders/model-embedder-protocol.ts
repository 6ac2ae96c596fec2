/** A batch the model embedder's thread is asked to embed. */
export interface ModelRequest {
  id: number;
  texts: readonly string[];
}

/**
 * Its answer: one unit-length vector per text (the model's and the lexical one, blended), each
 * in a buffer of its own that is transferred, not copied; or why it failed.
 */
export interface ModelReply {
  id: number;
  vectors?: Float32Array[];
  error?: string;
}

/** What the thread is started with. */
export interface ModelWorkerData {
  /** Weight of the lexical (local) vector in the blend, 0 to 1. */
  lexicalWeight: number;
}
