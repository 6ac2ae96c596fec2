/** A batch the model embedder's thread is asked to embed. */
export interface ModelRequest {
  id: number;
  texts: readonly string[];
}

/** Its answer: one L2-normalised vector per text, or why it failed. */
export interface ModelReply {
  id: number;
  vectors?: Float32Array[];
  error?: string;
}
