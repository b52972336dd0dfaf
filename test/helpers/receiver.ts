import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JSONWebKeySet } from 'jose'
import { MemoryReplayGuard, verifyServiceCall, type ReplayGuard } from '../../src/client/service-call.js'
import type { Teardown } from './database.js'

export interface ReceivedCall {
  at: number
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
  /** The notification id, when the body parsed. */
  id: string | undefined
  verified: boolean
  refusal: string | undefined
}

/** What the receiver answers to the n-th call (from 1): a status, a status with headers, or no answer at all. */
export type Behaviour = (call: ReceivedCall, n: number) => number | { status: number, headers?: Record<string, string> } | 'hang' | Promise<number>

/**
 * A provincial webhook receiver on loopback: verifies every call with verifyServiceCall and
 * records it; accepted notification ids are those answered 2xx, each counted once.
 */
export class Receiver {
  readonly calls: ReceivedCall[] = []
  readonly accepted: string[] = []
  readonly replayGuard = new MemoryReplayGuard()
  private server: Server | undefined

  constructor(
    private readonly trust: { serviceId: string, systemId: string, keys: JSONWebKeySet | URL, replayGuard?: ReplayGuard },
    public behaviour: Behaviour = () => 200,
    public port = 0,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/ttn?tenant=a`
  }

  /** Notification ids accepted, without the duplicates a receiver discards. */
  get delivered(): string[] {
    return [...new Set(this.accepted)]
  }

  async start(t: Teardown): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => void (async () => {
        const body = Buffer.concat(chunks)
        let id: string | undefined
        try {
          id = (JSON.parse(body.toString('utf8')) as { id?: string }).id
        } catch { /* recorded as is */ }
        const call: ReceivedCall = { at: Date.now(), method: req.method!, url: req.url!, headers: req.headers, body, id, verified: false, refusal: undefined }
        try {
          await verifyServiceCall({ method: req.method!, url: req.url!, headers: req.headers, body }, { ...this.trust, replayGuard: this.trust.replayGuard ?? this.replayGuard })
          call.verified = true
        } catch (error) {
          call.refusal = (error as { code?: string }).code
        }
        this.calls.push(call)
        if (!call.verified) {
          res.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: call.refusal }))
          return
        }
        const answer = await this.behaviour(call, this.calls.length)
        if (answer === 'hang') return
        const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer
        if (status >= 200 && status < 300 && id) this.accepted.push(id)
        res.writeHead(status, headers).end()
      })())
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as AddressInfo).port
    this.server = server
    t.teardown(() => this.stop())
    return this
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/** Waits until `condition` holds, checking every 10 ms; fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}
