import type { FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { App } from '../app.js'
import { exemptFromPressure } from '../http/limits.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The instance's Prometheus registry; modules add their own metrics to it. */
    metrics: Registry
  }
}

const route = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched'

/** Prometheus metrics at /metrics: requests, latency, problems, database pool, process. */
export function registerMetrics(app: App): void {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ttn_' })
  const requests = new Counter({ name: 'ttn_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] })
  const duration = new Histogram({
    name: 'ttn_http_request_duration_seconds', help: 'Time to answer, by route and method', labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  })
  const problems = new Counter({ name: 'ttn_problems_total', help: 'Problem documents answered, by problem code', labelNames: ['code'], registers: [registry] })
  const { database } = app.deps
  new Gauge({
    name: 'ttn_database_pool_connections', help: 'Database connections of this instance, by state', labelNames: ['state'], registers: [registry],
    collect() {
      const stats = database.stats()
      this.set({ state: 'total' }, stats.total)
      this.set({ state: 'idle' }, stats.idle)
      this.set({ state: 'waiting' }, stats.waiting)
    },
  })

  app.decorate('metrics', registry)
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const labels = { route: route(request), method: request.method }
    requests.inc({ ...labels, status: String(reply.statusCode) })
    duration.observe(labels, reply.elapsedTime / 1000)
    if (reply.problemCode) problems.inc({ code: reply.problemCode })
  })
  app.get('/metrics', { schema: { hide: true }, config: exemptFromPressure }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}
