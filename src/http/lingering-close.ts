import { Socket } from 'node:net';

/** How long a closing connection waits for more of what its client is still sending. */
export const LINGER_IDLE_MS = 1_000;

/**
 * Makes a client connection close gracefully once it has given its last answer. Node's server
 * closes a connection after an answer that says `Connection: close` (`destroySoon`) as soon as the
 * answer is written. When the client is still sending (a body refused as too large, or not waited
 * for any longer), what arrives at the closed socket makes the kernel reset the connection, and a
 * client that writes its whole body before reading loses the answer it was sent (EPIPE or
 * ECONNRESET instead of the 413). Here the gateway ends its side after the answer, goes on reading
 * and dropping what arrives, and closes once the client has ended its side, has sent nothing for
 * LINGER_IDLE_MS, or `maxMs` after the answer.
 */
export function closeGracefully(socket: Socket, maxMs: number): void {
  let lingering = false;
  socket.destroySoon = () => {
    if (lingering || socket.destroyed) return;
    lingering = true;
    // The client has closed its side: nothing more can arrive.
    if (socket.readableEnded) {
      Socket.prototype.destroySoon.call(socket);
      return;
    }
    socket.end();
    let seen = socket.bytesRead;
    const idle = setInterval(() => {
      if (socket.bytesRead === seen) socket.destroy();
      seen = socket.bytesRead;
    }, LINGER_IDLE_MS);
    const bound = setTimeout(() => socket.destroy(), maxMs);
    idle.unref();
    bound.unref();
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      clearInterval(idle);
      clearTimeout(bound);
    });
  };
}
