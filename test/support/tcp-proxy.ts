// A TCP relay between one process and a server, to cut that process off from the server
// alone (a one-sided network partition on one host). A cut is a black hole, as a dropped
// link is: connections stay open and nothing crosses, so requests hang until their
// deadlines rather than fail fast on a reset.
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket | null }>();
  private blackholed = false;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on a free loopback port; resolves with `host:port`. */
  async start(): Promise<string> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as net.AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** From now on nothing crosses, in either direction, on old or new connections. */
  cut(): void {
    this.blackholed = true;
  }

  /** The link is back: connections held during the cut are reset, so their owners reconnect. */
  restore(): void {
    this.blackholed = false;
    for (const pair of this.pairs) if (!pair.upstream) pair.client.destroy();
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    const pair: { client: net.Socket; upstream: net.Socket | null } = { client, upstream: null };
    this.pairs.add(pair);
    const forget = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', forget).on('close', forget);
    // A connection made during a cut is held, unanswered, as a dead link would hold it.
    if (this.blackholed) return;
    const upstream = net.connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', forget).on('close', forget);
    client.on('data', (chunk) => void (this.blackholed || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (this.blackholed || client.write(chunk)));
  }
}
