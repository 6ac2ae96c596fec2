import net from 'node:net';

/** The parts of postgres.js's parsed options that say where the server is. */
export interface PostgresSocketTarget {
  host: readonly string[];
  port: readonly number[];
  /** A Unix socket path, when the host names a directory. */
  path?: string | false;
}

/** A socket as postgres.js uses it: it reads `host` for TLS server names and error messages. */
export interface PostgresSocket extends net.Socket {
  host: string;
  port: number;
}

/** What a connection attempt fails with when the server closed it without a word. */
export class SilentCloseError extends Error {
  readonly code = 'CONNECTION_CLOSED';

  constructor(where: string) {
    super(`the database at ${where} closed the connection before answering`);
    this.name = 'SilentCloseError';
  }
}

/**
 * Opens the connection for each postgres.js connection attempt (its `socket` option), as postgres.js
 * would, with one difference: a server that closes the connection cleanly before sending a single
 * byte fails the attempt. PostgreSQL itself always answers first (an error says why it refuses);
 * a silent close comes from something in front of it, such as a proxy or pooler whose database is
 * gone. postgres.js 3.4 retries such an attempt at once, forever, and the query that started it
 * never settles (porsager/postgres#1193); as an error, the query fails like a refused connection
 * and the connection returns to the pool for the next one. For one host (or one Unix socket).
 */
export function createPostgresSocketFactory(): (target: PostgresSocketTarget) => PostgresSocket {
  return (target) => {
    const host = target.host[0] ?? 'localhost';
    const port = target.port[0] ?? 5432;
    const socket = target.path ? net.connect(target.path) : net.connect(port, host);
    const where = target.path || `${host}:${port}`;
    socket.once('end', () => {
      if (socket.bytesRead === 0) socket.destroy(new SilentCloseError(where));
    });
    return Object.assign(socket, { host, port });
  };
}

/**
 * The postgres.js options that install the factory for `url`. A URL naming several hosts
 * (`host1:5432,host2:5432`) keeps postgres.js's own sockets: it tries those hosts in order for
 * each connection, which a shared factory cannot follow.
 */
export function silentCloseOptions(url: string): {
  socket?: ReturnType<typeof createPostgresSocketFactory>;
} {
  const authority = url.replace(/^[a-z]+:\/\//i, '').split(/[/?#]/, 1)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  return hosts.includes(',') ? {} : { socket: createPostgresSocketFactory() };
}
