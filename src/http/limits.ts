import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { App } from '../app-type.js'
import { LRUCache } from 'lru-cache'
import { CallerBulkhead } from './concurrency.js'
import { HttpProblem } from './problem.js'

const OVERLOAD_RETRY_SECONDS = 5
const MAX_COUNTED_CALLERS = 10_000
const RATE_WINDOW_MS = 60_000

/**
 * Fixed-window counts per caller, in memory. The plugin's own store hands back its live
 * counter object, which concurrent requests keep incrementing before the first one reads it,
 * so a burst is refused whole; this one answers each request with its own count.
 */
class WindowCounts {
  private readonly windows = new Map<string, { count: number, startedAt: number }>()

  incr(key: string, callback: (error: Error | null, result: { current: number, ttl: number }) => void): void {
    const { count, ttl } = this.add(key, 1)
    callback(null, { current: count, ttl })
  }

  /** Adds `by` to a key's count in the current window; a count of 0 reads it. */
  add(key: string, by: number): { count: number, ttl: number } {
    const now = Date.now()
    let window = this.windows.get(key)
    if (!window || window.startedAt + RATE_WINDOW_MS <= now) {
      if (window) this.windows.delete(key)
      if (this.windows.size >= MAX_COUNTED_CALLERS) this.forget(now)
      window = { count: 0, startedAt: now }
      this.windows.set(key, window)
    }
    window.count += by
    return { count: window.count, ttl: window.startedAt + RATE_WINDOW_MS - now }
  }

  child(): WindowCounts {
    return new WindowCounts()
  }

  /** Drops expired windows; if none had expired, the oldest tenth, so memory stays bounded whatever keys arrive. */
  private forget(now: number) {
    for (const [key, window] of this.windows) if (window.startedAt + RATE_WINDOW_MS <= now) this.windows.delete(key)
    if (this.windows.size < MAX_COUNTED_CALLERS) return
    let drop = Math.ceil(MAX_COUNTED_CALLERS / 10)
    for (const key of this.windows.keys()) {
      if (drop-- <= 0) break
      this.windows.delete(key)
    }
  }
}

/**
 * Calls without a verified caller cost the service a signature check or a public read and
 * nothing for whoever sends them: each address gets UNVERIFIED_RATE_PER_MINUTE of them a minute,
 * and once it is spent the address is refused before any work (no
 * signature check, no database, one audit count). A system that was verified from that address
 * in the last minutes keeps calling: its claimed issuer is let through to the normal checks.
 * Registered before the trust hooks.
 */
export function registerAddressLimit(app: App, bulkhead: CallerBulkhead): void {
  const { config } = app.deps
  const counts = new WindowCounts()
  const verifiedFrom = new LRUCache<string, true>({ max: MAX_COUNTED_CALLERS, ttl: 10 * RATE_WINDOW_MS })
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v2/')) return
    // Counted as it arrives, so a burst in flight cannot overrun the allowance; a verified caller gives it back.
    const claimed = claimedIssuer(request.headers.authorization)
    bulkhead.refuseIfFull(claimed)
    const { count, ttl } = counts.add(request.ip, 1)
    if (count <= config.UNVERIFIED_RATE_PER_MINUTE) return
    if (claimed && verifiedFrom.has(`${request.ip} ${claimed}`)) return
    throw new HttpProblem('rate-limited', `${request.ip} made more than ${config.UNVERIFIED_RATE_PER_MINUTE} calls without a verified caller in a minute`,
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(ttl / 1000))) } })
  })
  app.addHook('onResponse', async (request) => {
    if (!request.url.startsWith('/v2/')) return
    if (!request.caller) return
    verifiedFrom.set(`${request.ip} ${request.caller.systemId}`, true)
    counts.add(request.ip, -1)
  })
}

/** The iss a bearer token claims, read without any check: only to let a known caller past an address's spent allowance. */
export function claimedIssuer(authorization: string | undefined): string | undefined {
  const payload = authorization?.startsWith('Bearer ') ? authorization.slice(7).split('.')[1] : undefined
  if (!payload || payload.length > 4096) return undefined
  try {
    const iss = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown }).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** Route config for what must answer even under pressure: liveness and metrics. */
export const exemptFromPressure = { pressureHandler: () => undefined }

/**
 * Overload is answered, not suffered: a system over its rate gets 429, an instance whose
 * event loop, memory or database pool is saturated gets 503, both with Retry-After.
 */
export async function registerLimits(app: App, bulkhead: CallerBulkhead): Promise<void> {
  const { config, database } = app.deps

  // A caller's share of the instance, taken once its signature is checked and before its body
  // is read. The slot goes back when the response closes: sent, or its connection gone. A client
  // that went away while waiting for its turn gets no work done and its slot back at once.
  app.addHook('onRequest', async (request, reply) => {
    const caller = request.signedCall?.issuer.id
    if (!caller) return
    const release = await bulkhead.acquire(caller)
    if (request.raw.socket?.destroyed === true) {
      release()
      reply.hijack()
      reply.raw.destroy()
      return
    }
    reply.raw.once('close', release)
  })

  // Counted after authentication, per verified system (per address for public routes), so no
  // one can spend another system's allowance by claiming its name. Each instance counts alone.
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: RATE_WINDOW_MS,
    store: WindowCounts,
    keyGenerator: (request) => request.caller ? `system:${request.caller.systemId}` : `address:${request.ip}`,
    errorResponseBuilder: (request, context) => new HttpProblem('rate-limited',
      `${request.caller?.systemId ?? request.ip} made more than ${context.max} calls in a minute; retry in ${context.after}`,
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) } }),
  })

  await app.register(underPressure, {
    maxEventLoopDelay: config.OVERLOAD_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.OVERLOAD_HEAP_BYTES,
    retryAfter: OVERLOAD_RETRY_SECONDS,
    pressureHandler: async (_request, _reply, type, value) => {
      throw new HttpProblem('overloaded', `the instance is overloaded (${type}: ${String(value)}); retry shortly`,
        { headers: { 'retry-after': String(OVERLOAD_RETRY_SECONDS) } })
    },
  })

  // Requests queueing for a database connection beyond a bound wait longer than callers would;
  // they are turned away at once instead.
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v2/')) return
    const waiting = database.stats().waiting
    if (waiting > config.OVERLOAD_DATABASE_QUEUE) {
      throw new HttpProblem('overloaded', `${waiting} requests are waiting for a database connection; retry shortly`,
        { headers: { 'retry-after': String(OVERLOAD_RETRY_SECONDS) } })
    }
  })
}
