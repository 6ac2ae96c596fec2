import { parentPort } from 'node:worker_threads';
import type { SealerReply, SealerRequest } from './row-sealer-protocol.js';
import { sealBatch } from './row-sealing-batch.js';

/**
 * The sealing thread: serialised interaction rows in, ciphertexts out. Compression and
 * AES-GCM of every recorded row run here instead of on the server's event loop.
 */
const port = parentPort;
if (!port) throw new Error('row-sealer-worker must run as a worker thread');

port.on('message', (request: SealerRequest) => {
  let reply: SealerReply;
  try {
    const sealed = sealBatch(request.batch);
    reply = { id: request.id, ok: true, sealed };
    port.postMessage(reply, [sealed.bytes.buffer, sealed.offsets.buffer]);
  } catch (err) {
    reply = { id: request.id, ok: false, message: (err as Error).message };
    port.postMessage(reply);
  }
});
