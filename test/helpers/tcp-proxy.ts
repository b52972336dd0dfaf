import net from 'node:net'
import { openPostgres, type Database } from '../../src/db/database.js'
import { testDatabase, type Teardown } from './database.js'

/**
 * A loopback TCP relay in front of PostgreSQL that a test can cut and restore, to play
 * a database that becomes unreachable and comes back.
 */
export class TcpProxy {
  private server = net.createServer((client) => this.relay(client))
  private sockets = new Set<net.Socket>()
  private trap: { query: Buffer, when: 'before' | 'after', sprung: () => void } | undefined
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
    const drop = () => { client.destroy(); upstream.destroy() }
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      socket.on('error', drop)
    }
    let awaitingAnswer = false
    client.on('data', (chunk: Buffer) => {
      const trap = this.trap
      if (trap && chunk.includes(trap.query)) {
        this.trap = undefined
        trap.sprung()
        if (trap.when === 'before') return drop()
        awaitingAnswer = true
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      // The server has done what it was sent; the connection breaks before its answer arrives.
      if (awaitingAnswer) return drop()
      client.write(chunk)
    })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  }

  /**
   * Breaks the connection that next sends a query containing `query` (the simple-protocol text,
   * e.g. "commit"): `before` it reaches the server, or `after` the server ran it but before its
   * answer reaches the client. Resolves when it has happened.
   */
  breakOn(query: string, when: 'before' | 'after'): Promise<void> {
    return new Promise((resolve) => { this.trap = { query: Buffer.from(query + '\0'), when, sprung: resolve } })
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

/** A test database reached through a TcpProxy the test can cut: the database, its pool through the relay, and the relay. */
export async function proxiedDatabase(t: Teardown, options: { connectionTimeoutMs?: number } = {}): Promise<{ target: Database, database: Database, proxy: TcpProxy }> {
  const target = await testDatabase(t)
  const url = new URL(target.url!)
  const proxy = await new TcpProxy(url.hostname, Number(url.port || 5432)).start()
  t.teardown(() => proxy.stop())
  url.host = `127.0.0.1:${proxy.port}`
  const database = openPostgres({ url: url.toString(), connectionTimeoutMs: options.connectionTimeoutMs ?? 1000 })
  t.teardown(() => database.close())
  return { target, database, proxy }
}
