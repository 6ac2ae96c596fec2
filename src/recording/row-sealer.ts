import type { Worker } from 'node:worker_threads';
import type { Logger } from '../runtime/logger.js';
import { SERVICE_THREAD_LIMITS, startWorkerThread } from '../runtime/worker-thread.js';
import type { SealerReply, SealerRequest } from './row-sealer-protocol.js';
import type { SealBatch, SealedBatch, SealedFields } from './row-sealing-batch.js';
import { packTexts, sealBatch, sealedFieldsOf } from './row-sealing-batch.js';

/** One interaction row's text, serialised, and the tenant data key it is to be stored under. */
export interface RowToSeal {
  dataKey: Buffer;
  rowId: string;
  tenantId: string;
  /** The request as JSON, or null when there is none. */
  request: string | null;
  /** The response as JSON, or null when there is none. */
  response: string | null;
  /**
   * The field names bound into the two ciphertexts, for texts that are not an interaction's
   * (a cache entry's answer and question); 'request' and 'response' when absent.
   */
  fields?: readonly [string, string];
}

/**
 * Encrypts interaction rows' text fields (the format of encryptRowField, bound to the row), and
 * other pairs of texts stored the same way (a cache entry's answer and question).
 */
export interface RowSealer {
  seal(row: RowToSeal): Promise<SealedFields>;
  /** Seals what is queued, waits for it, and stops the sealing thread if there is one. */
  close(): Promise<void>;
}

/** How long rows wait for company before their batch goes to the sealing thread. */
const SEAL_WINDOW_MS = 50;
/** A batch goes at once when it reaches this many rows. */
const SEAL_MAX_BATCH = 256;

interface Waiting {
  row: RowToSeal;
  resolve(fields: SealedFields): void;
  reject(err: unknown): void;
}

function toBatch(waiting: readonly Waiting[]): SealBatch {
  const keyIndex = new Map<Buffer, number>();
  const keys: Uint8Array[] = [];
  const jobs = waiting.map(({ row }) => {
    let key = keyIndex.get(row.dataKey);
    if (key === undefined) {
      key = keys.length;
      keyIndex.set(row.dataKey, key);
      // A copy of just the key: a Buffer may be a view into Node's shared pool, which posting
      // it would copy whole.
      keys.push(new Uint8Array(row.dataKey));
    }
    return row.fields
      ? { key, rowId: row.rowId, tenantId: row.tenantId, fields: row.fields }
      : { key, rowId: row.rowId, tenantId: row.tenantId };
  });
  return { keys, jobs, ...packTexts(waiting.map((w) => w.row)) };
}

function deliver(waiting: readonly Waiting[], sealed: SealedBatch): void {
  for (const [i, w] of waiting.entries()) w.resolve(sealedFieldsOf(sealed, i));
}

function sealHere(waiting: readonly Waiting[]): void {
  try {
    deliver(waiting, sealBatch(toBatch(waiting)));
  } catch (err) {
    for (const w of waiting) w.reject(err);
  }
}

/** Seals on the calling thread, one row at a time. */
export function createInlineRowSealer(): RowSealer {
  return {
    seal: (row) =>
      new Promise((resolve, reject) => {
        sealHere([{ row, resolve, reject }]);
      }),
    close: async () => {},
  };
}

/**
 * Seals on a worker thread, in batches gathered over a short window, so compression and
 * encryption of recorded rows cost the event loop one message per batch. If the thread fails,
 * its batches and every later one are sealed on the calling thread instead: rows are never lost.
 */
export function createThreadRowSealer(options: {
  logger: Logger;
  windowMs?: number;
  maxBatch?: number;
}): RowSealer {
  const windowMs = options.windowMs ?? SEAL_WINDOW_MS;
  const maxBatch = options.maxBatch ?? SEAL_MAX_BATCH;
  let worker: Worker | null = startWorkerThread('row-sealer-worker', import.meta.url, {
    resourceLimits: SERVICE_THREAD_LIMITS,
  });
  // Like a socket, the thread keeps the process alive only while it owes an answer.
  worker.unref();
  const inFlight = new Map<number, Waiting[]>();
  let queue: Waiting[] = [];
  let timer: NodeJS.Timeout | null = null;
  let nextId = 1;
  let idle: (() => void) | null = null;

  const settled = () => {
    if (inFlight.size > 0) return;
    worker?.unref();
    idle?.();
    idle = null;
  };

  const lose = (reason: string) => {
    if (!worker) return;
    worker = null;
    options.logger.error({ reason }, 'the row sealing thread stopped; sealing on the main thread');
    for (const waiting of inFlight.values()) sealHere(waiting);
    inFlight.clear();
    settled();
  };

  worker.on('message', (reply: SealerReply) => {
    const waiting = inFlight.get(reply.id);
    if (!waiting) return;
    inFlight.delete(reply.id);
    if (reply.ok) deliver(waiting, reply.sealed);
    else for (const w of waiting) w.reject(new Error(`sealing failed: ${reply.message}`));
    settled();
  });
  worker.on('error', (err) => lose(err.message));
  worker.on('exit', (code) => lose(`exited with code ${code}`));

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    const waiting = queue;
    queue = [];
    if (waiting.length === 0) return;
    if (!worker) {
      sealHere(waiting);
      return;
    }
    const id = nextId++;
    if (inFlight.size === 0) worker.ref();
    inFlight.set(id, waiting);
    const batch = toBatch(waiting);
    worker.postMessage({ id, batch } satisfies SealerRequest, [
      batch.text.buffer,
      batch.spans.buffer,
    ]);
  }

  return {
    seal(row) {
      return new Promise((resolve, reject) => {
        queue.push({ row, resolve, reject });
        // Without the thread there is nothing to gather a batch for.
        if (queue.length >= maxBatch || !worker) flush();
        else timer ??= setTimeout(flush, windowMs);
      });
    },
    async close() {
      flush();
      if (inFlight.size > 0) await new Promise<void>((resolve) => (idle = resolve));
      const stopping = worker;
      worker = null;
      await stopping?.terminate();
    },
  };
}
