import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** Which way bytes stop: from the client to the server, or from the server to the client. */
export type ProxyDirection = 'toServer' | 'toClient';

/** One proxied connection: the socket the client opened, and the one the proxy opened to the server. */
export interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The proxy's local port towards the server: what the server sees as the client's port. */
  readonly upstreamPort: number;
  /** Directions that are black-holed right now. */
  readonly silenced: Set<ProxyDirection>;
}

/**
 * A TCP proxy on 127.0.0.1 (port 0) in front of `host:port`, for fault tests.
 * {@link blackhole} makes connections go silent the way a load balancer that
 * dropped the flow, or a partition, does: bytes in one direction stop being
 * forwarded (held, as TCP would keep retransmitting them), and neither socket
 * is closed, so neither end learns anything from the network. New connections
 * are forwarded normally, as through a balancer that lost an old flow.
 */
export class TcpProxy {
  readonly connections = new Set<ProxiedConnection>();
  private readonly server: Server;
  private readonly held = new Map<ProxiedConnection, Record<ProxyDirection, Buffer[]>>();

  private constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
  }

  /** Starts a proxy to `host:port`. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(host, port);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The port clients connect to. */
  get listenPort(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops forwarding `direction` on the connections `which` selects (default: every open one). */
  blackhole(direction: ProxyDirection, which: (c: ProxiedConnection) => boolean = () => true): ProxiedConnection[] {
    const chosen = [...this.connections].filter(which);
    for (const c of chosen) c.silenced.add(direction);
    return chosen;
  }

  /** Forwards again, starting with the bytes held while silent. */
  restore(): void {
    for (const c of this.connections) {
      for (const direction of [...c.silenced]) {
        c.silenced.delete(direction);
        const target = direction === 'toServer' ? c.upstream : c.client;
        for (const chunk of this.held.get(c)![direction].splice(0)) if (!target.destroyed) target.write(chunk);
      }
    }
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect({ host: this.host, port: this.port, allowHalfOpen: true });
    client.pause();
    upstream.once('connect', () => {
      const c: ProxiedConnection = { client, upstream, upstreamPort: upstream.localPort!, silenced: new Set() };
      this.connections.add(c);
      this.held.set(c, { toServer: [], toClient: [] });
      this.pipe(c, client, upstream, 'toServer');
      this.pipe(c, upstream, client, 'toClient');
      client.resume();
    });
    upstream.once('error', () => client.destroy());
  }

  /** Forwards `from` to `to` unless `direction` is silenced; a silenced side's close is not passed on either. */
  private pipe(c: ProxiedConnection, from: Socket, to: Socket, direction: ProxyDirection): void {
    from.on('data', (chunk: Buffer) => {
      if (c.silenced.has(direction)) this.held.get(c)![direction].push(chunk);
      else if (!to.destroyed) to.write(chunk);
    });
    from.on('end', () => c.silenced.has(direction) || to.end());
    from.on('error', () => undefined);
    from.on('close', () => {
      if (!c.silenced.has(direction)) to.destroy();
      if (from === c.client && c.upstream.destroyed) this.forget(c);
      if (from === c.upstream && c.client.destroyed) this.forget(c);
    });
  }

  private forget(c: ProxiedConnection): void {
    this.connections.delete(c);
    this.held.delete(c);
  }
}
