import { setTimeout as delay } from 'node:timers/promises'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyRequest } from 'fastify'
import type { App } from '../app-type.js'
import { LRUCache } from 'lru-cache'
import { BodyBudget } from './body-budget.js'
import { CallerBulkhead } from './concurrency.js'
import { HttpProblem } from './problem.js'

const OVERLOAD_RETRY_SECONDS = 5
const PRESSURE_SAMPLE_MS = 1000
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
export function registerAddressLimit(app: App, shares: CallerShares): void {
  const { config } = app.deps
  const counts = new WindowCounts()
  const verifiedFrom = new LRUCache<string, true>({ max: MAX_COUNTED_CALLERS, ttl: 10 * RATE_WINDOW_MS })
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v2/')) return
    // Counted as it arrives, so a burst in flight cannot overrun the allowance; a verified caller gives it back.
    const claimed = claimedIssuer(request.headers.authorization)
    await shares.refusedSlowly(() => {
      shares.bulkhead.refuseIfFull(claimed)
      const budget = budgetOf(shares, request)
      budget.refuseIfShort(claimed, budget.cost(request.headers))
    })
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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes media upload chunks, whose bytes count against their own budget. */
    mediaChunks?: true
  }
}

/** What each calling system may take of one instance: requests at once, and request-body bytes a second. */
export interface CallerShares {
  bulkhead: CallerBulkhead
  budget: BodyBudget
  /** Media upload bytes, in chunks far larger than other bodies, at a rate of their own. */
  mediaBudget: BodyBudget
  /** Runs a check of a caller's share; a refusal is sent only after CALLER_REFUSAL_DELAY_MS. */
  refusedSlowly: <T>(check: () => T | Promise<T>) => Promise<T>
}

export function callerShares(config: App['deps']['config']): CallerShares {
  return {
    bulkhead: new CallerBulkhead(config.CALLER_CONCURRENCY, config.CALLER_QUEUE, config.CALLER_QUEUE_TIMEOUT_MS),
    budget: new BodyBudget(config.CALLER_BODY_BYTES_PER_SECOND, config.CALLER_BODY_BURST_BYTES, config.BODY_LIMIT_BYTES),
    mediaBudget: new BodyBudget(config.MEDIA_UPLOAD_BYTES_PER_SECOND, config.MEDIA_CHUNK_BYTES, config.MEDIA_CHUNK_BYTES),
    // A caller that ignores Retry-After would keep the instance busy refusing it as fast as it
    // can send. Held back, each of its connections gets one refusal a delay, its body unread
    // (the connection closes after), so the refusals it causes are bounded by its connections.
    refusedSlowly: async (check) => {
      try {
        return await check()
      } catch (error) {
        if (config.CALLER_REFUSAL_DELAY_MS > 0) await delay(config.CALLER_REFUSAL_DELAY_MS)
        throw error
      }
    },
  }
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
const budgetOf = (shares: CallerShares, request: FastifyRequest) => (request.routeOptions.config.mediaChunks ? shares.mediaBudget : shares.budget)

export async function registerLimits(app: App, shares: CallerShares): Promise<void> {
  const { bulkhead, refusedSlowly } = shares
  const { config, database } = app.deps

  // A caller's share of the instance, taken once its signature is checked and before its body
  // is read: its body's bytes from its budget, then a slot. The slot goes back when the response
  // closes: sent, or its connection gone. A client that went away while waiting for its turn
  // gets no work done and its slot back at once.
  app.addHook('onRequest', async (request, reply) => {
    const caller = request.signedCall?.issuer.id
    if (!caller) return
    const budget = budgetOf(shares, request)
    const bytes = budget.cost(request.headers)
    await refusedSlowly(() => budget.take(caller, bytes))
    const release = await refusedSlowly(() => bulkhead.acquire(caller)).catch((error: unknown) => {
      budget.refund(caller, bytes)
      throw error
    })
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

  // The event-loop delay is a mean over each sample interval. The intervals until the app is
  // ready measure the start's own work (loading modules, registering routes), not callers'
  // load: a probe answered 503 for it would take a healthy instance out as it comes up.
  let delayMeasuresServing = false
  app.addHook('onReady', async () => {
    setTimeout(() => { delayMeasuresServing = true }, 2 * PRESSURE_SAMPLE_MS).unref()
  })
  await app.register(underPressure, {
    maxEventLoopDelay: config.OVERLOAD_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.OVERLOAD_HEAP_BYTES,
    sampleInterval: PRESSURE_SAMPLE_MS,
    retryAfter: OVERLOAD_RETRY_SECONDS,
    pressureHandler: async (_request, _reply, type, value) => {
      if (type === 'eventLoopDelay' && !delayMeasuresServing) return
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
