import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { App } from '../app.js'
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
    const timeWindow = RATE_WINDOW_MS
    const now = Date.now()
    let window = this.windows.get(key)
    if (!window || window.startedAt + timeWindow <= now) {
      if (!window && this.windows.size >= MAX_COUNTED_CALLERS) this.forgetExpired(now, timeWindow)
      window = { count: 0, startedAt: now }
      this.windows.set(key, window)
    }
    window.count++
    callback(null, { current: window.count, ttl: window.startedAt + timeWindow - now })
  }

  child(): WindowCounts {
    return new WindowCounts()
  }

  private forgetExpired(now: number, timeWindow: number) {
    for (const [key, window] of this.windows) if (window.startedAt + timeWindow <= now) this.windows.delete(key)
  }
}

/** Route config for what must answer even under pressure: liveness and metrics. */
export const exemptFromPressure = { pressureHandler: () => undefined }

/**
 * Overload is answered, not suffered: a system over its rate gets 429, an instance whose
 * event loop, memory or database pool is saturated gets 503, both with Retry-After.
 */
export async function registerLimits(app: App): Promise<void> {
  const { config, database } = app.deps

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
