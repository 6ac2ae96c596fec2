import net from 'node:net';

/**
 * A TCP proxy in front of a real server that can stop forwarding on command, so a client stays
 * connected to a server that no longer answers (a hung or partitioned Redis).
 */
export class FreezableTcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #pairs: Array<[net.Socket, net.Socket]> = [];
  #refusing = false;
  #frozen = false;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  /** Starts a proxy on a free loopback port forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<FreezableTcpProxy> {
    const server = net.createServer();
    const proxy = new FreezableTcpProxy(server);
    server.on('connection', (client) => {
      if (proxy.#refusing) {
        client.destroy();
        return;
      }
      if (proxy.#frozen) {
        // A partition: the connection opens, and nothing ever comes back.
        proxy.#sockets.add(client);
        client.on('error', () => client.destroy());
        client.on('close', () => proxy.#sockets.delete(client));
        client.pause();
        return;
      }
      const upstream = net.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        proxy.#sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => proxy.#sockets.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      proxy.#pairs.push([client, upstream]);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The port clients should connect to. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /** Stops forwarding in both directions while keeping every connection open; new ones hang. */
  freeze(): void {
    this.#frozen = true;
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Drops every open connection and drops new ones at once (a database that went away). */
  cut(): void {
    this.#refusing = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#pairs.length = 0;
  }

  /** Forwards new connections again after {@link cut}. */
  restore(): void {
    this.#refusing = false;
    this.#frozen = false;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
