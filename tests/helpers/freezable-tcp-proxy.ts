import net from 'node:net';

/**
 * A TCP proxy in front of a real server that can stop forwarding on command, so a client stays
 * connected to a server that no longer answers (a hung or partitioned Redis), and start again.
 */
export class FreezableTcpProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  readonly #pairs: Array<[net.Socket, net.Socket]> = [];
  /** Connections accepted while frozen, waiting for {@link thaw}. */
  readonly #held: net.Socket[] = [];
  #refusing = false;
  #frozen = false;

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Starts a proxy on a free loopback port forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<FreezableTcpProxy> {
    const server = net.createServer();
    const proxy = new FreezableTcpProxy(server, target);
    server.on('connection', (client) => proxy.#accept(client));
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

  /**
   * Forwards again after {@link freeze}: what each side sent meanwhile arrives now, in order (a
   * server that resumes after a stall), and connections opened while frozen reach the server.
   */
  thaw(): void {
    this.#frozen = false;
    for (const [client, upstream] of this.#pairs) {
      if (client.destroyed || upstream.destroyed) continue;
      client.pipe(upstream);
      upstream.pipe(client);
    }
    for (const client of this.#held.splice(0)) {
      if (!client.destroyed) this.#forward(client);
    }
  }

  /** Drops every open connection and drops new ones at once (a database that went away). */
  cut(): void {
    this.#refusing = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#pairs.length = 0;
    this.#held.length = 0;
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

  #accept(client: net.Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    this.#track(client);
    if (this.#frozen) {
      // A partition: the connection opens, and nothing comes back until a thaw.
      client.pause();
      this.#held.push(client);
      return;
    }
    this.#forward(client);
  }

  #forward(client: net.Socket): void {
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    this.#pairs.push([client, upstream]);
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#sockets.delete(socket));
  }
}
