import type { SealBatch, SealedBatch } from './row-sealing-batch.js';

/** A batch for the sealing thread. */
export interface SealerRequest {
  id: number;
  batch: SealBatch;
}

/** The sealing thread's answer: the batch's ciphertexts, or why it could not seal them. */
export type SealerReply =
  | { id: number; ok: true; sealed: SealedBatch }
  | { id: number; ok: false; message: string };
