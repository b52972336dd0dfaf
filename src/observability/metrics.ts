import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { App } from '../app-type.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The instance's Prometheus registry; modules add their own metrics to it. */
    metrics: Registry
  }
}

const route = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched'

/** Prometheus metrics: requests, latency, problems, database pool, process; served apart from the API by serveMetrics(). */
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
}

/**
 * Serves GET /metrics on a listener of its own (METRICS_HOST:METRICS_PORT), never on the API
 * port: what the service measures about itself is for the operator's monitoring, not for callers.
 */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ address: string, close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') return res.writeHead(404).end()
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    )
  })
  server.headersTimeout = 5_000
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve))
  const { port: bound } = server.address() as AddressInfo
  return { address: `http://${host}:${bound}/metrics`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
