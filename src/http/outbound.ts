import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { Agent, request, type Dispatcher } from 'undici'

/**
 * Calls the service makes to addresses its callers chose (JWKS URLs, webhook receivers): a
 * province must not be able to point them at the service's own network. Only https, unless the
 * operator lists the host for a test network; the destination is checked on every connection
 * attempt, after resolution, so a name that resolves to a private address (or starts to, DNS
 * rebinding) is refused before any connection; no redirects; every phase has a timeout and the
 * answer a size cap.
 */

/** Addresses that are not the public internet: loopback, private, link-local, shared, multicast, reserved, documentation. */
const NON_PUBLIC = (() => {
  const list = new BlockList()
  for (const [net, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
    ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
    ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) list.addSubnet(net, prefix, 'ipv4')
  for (const [net, prefix] of [
    ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
    ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
  ] as const) list.addSubnet(net, prefix, 'ipv6')
  return list
})()

export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return !NON_PUBLIC.check(mapped[1]!, 'ipv4')
  return !NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

export type OutboundRefusal = 'outbound-url-insecure' | 'outbound-address-forbidden' | 'outbound-url-invalid'

export class OutboundRefused extends Error {
  constructor(readonly code: OutboundRefusal, message: string) {
    super(message)
  }
}

export interface OutboundPolicy {
  /** Hosts (`name` or `name:port`) reachable over plain http and at non-public addresses: the operator's test network. */
  allowedHosts: ReadonlySet<string>
}

export function outboundPolicy(allowedHosts: string | undefined): OutboundPolicy {
  return { allowedHosts: new Set((allowedHosts ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)) }
}

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
const isAllowed = (policy: OutboundPolicy, url: URL) => policy.allowedHosts.has(bareHost(url)) || policy.allowedHosts.has(url.host.toLowerCase())

/** Why a URL a caller gave may not be called, or undefined when it may; checked when it is registered and again before each call. */
export function outboundProblem(text: string, policy: OutboundPolicy): { code: OutboundRefusal, detail: string } | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { code: 'outbound-url-invalid', detail: `${text} is not a URL` }
  }
  if (url.username || url.password) return { code: 'outbound-url-invalid', detail: 'a URL the service calls carries no credentials' }
  const allowed = isAllowed(policy, url)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) {
    return { code: 'outbound-url-insecure', detail: `${url.origin} is not https; plain http only reaches hosts the operator lists in OUTBOUND_ALLOWED_HOSTS` }
  }
  const host = bareHost(url)
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and the like into dotted form.
  if (!allowed && (isIP(host) ? !isPublicAddress(host) : host === 'localhost' || host.endsWith('.localhost') || !host.includes('.'))) {
    return { code: 'outbound-address-forbidden', detail: `${host} is not a public internet address` }
  }
  return undefined
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export type Resolver = (hostname: string, options: { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

/** dns.lookup that drops every non-public address, for names the operator did not list. */
function publicLookup(policy: OutboundPolicy, resolve: Resolver) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '')
      const usable = policy.allowedHosts.has(hostname.toLowerCase()) ? addresses : addresses.filter((a) => isPublicAddress(a.address))
      if (usable.length === 0) {
        const refused: NodeJS.ErrnoException = new OutboundRefused('outbound-address-forbidden', `${hostname} resolves only to non-public addresses`)
        refused.code = 'outbound-address-forbidden'
        return callback(refused, '')
      }
      if ((options as LookupAllOptions).all) callback(null, usable)
      else callback(null, usable[0]!.address, usable[0]!.family)
    })
  }
}

export interface OutboundTimeouts {
  connectMs: number
  headersMs: number
  /** The whole exchange, a slowly dripping answer included. */
  totalMs: number
  maxBytes: number
}

export interface OutboundAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

interface CallOptions { method: 'GET' | 'POST', headers?: Record<string, string>, body?: string | Buffer, signal?: AbortSignal }

/** The one way the service calls an address a caller gave. */
export class OutboundClient {
  readonly agent: Dispatcher

  constructor(private readonly policy: OutboundPolicy, private readonly timeouts: OutboundTimeouts, resolve: Resolver = dnsLookup as Resolver) {
    this.agent = new Agent({
      connect: { timeout: timeouts.connectMs, lookup: publicLookup(policy, resolve) as never },
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.headersMs,
    })
  }

  /** Throws OutboundRefused before opening any connection when the URL may not be called. */
  check(url: string): void {
    const problem = outboundProblem(url, this.policy)
    if (problem) throw new OutboundRefused(problem.code, problem.detail)
  }

  async call(url: string, options: CallOptions): Promise<OutboundAnswer> {
    const chunks: Buffer[] = []
    const answer = await this.stream(url, options, (chunk) => { chunks.push(chunk) })
    return { ...answer, body: Buffer.concat(chunks) }
  }

  /** Calls the URL and hands the answer's body to `write` as it arrives, up to `maxBytes` in all; no redirect is followed. */
  async stream(url: string, options: CallOptions, write: (chunk: Buffer) => void | Promise<void>): Promise<Omit<OutboundAnswer, 'body'>> {
    this.check(url)
    const { signal: stop, ...rest } = options
    const timeout = AbortSignal.timeout(this.timeouts.totalMs)
    const signal = stop ? AbortSignal.any([timeout, stop]) : timeout
    const response = await request(url, { ...rest, dispatcher: this.agent, signal })
    let size = 0
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length
      if (size > this.timeouts.maxBytes) {
        response.body.destroy()
        throw new Error(`${new URL(url).origin} answered more than ${this.timeouts.maxBytes} bytes`)
      }
      await write(chunk as Buffer)
    }
    return { status: response.statusCode, headers: response.headers }
  }

  close(): Promise<void> {
    return this.agent.close()
  }
}
