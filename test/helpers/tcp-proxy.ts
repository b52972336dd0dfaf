import net from 'node:net'

/**
 * A loopback TCP relay in front of PostgreSQL that a test can cut and restore, to play
 * a database that becomes unreachable and comes back.
 */
export class TcpProxy {
  private server = net.createServer((client) => this.relay(client))
  private sockets = new Set<net.Socket>()
  port = 0

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (this.server.address() as net.AddressInfo).port
    return this
  }

  private relay(client: net.Socket) {
    const upstream = net.connect(this.targetPort, this.targetHost)
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  }

  /** Drops every open connection and refuses new ones. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
    this.server = net.createServer((client) => this.relay(client))
  }

  /** Accepts connections again on the same port. */
  restore(): Promise<this> {
    return this.start(this.port)
  }

  stop(): Promise<void> {
    return this.cut()
  }
}
