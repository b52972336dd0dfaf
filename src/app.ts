import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { App, AppDeps } from './app-type.js'
import { publicPath } from './config.js'
import { components } from '../schemas/index.js'
import { registerTrust } from './auth/plugin.js'
import { registerErrorHandling, sendProblem } from './http/errors.js'
import { HttpProblem } from './http/problem.js'
import { registerIdempotency } from './http/idempotency.js'
import { callerShares, registerAddressLimit, registerLimits } from './http/limits.js'
import { registerMetrics } from './observability/metrics.js'
import { problemRoutes } from './http/problem-routes.js'
import { redactTokenInQuery } from './http/token-in-query.js'
import { registerDeprecation } from './http/deprecation.js'
import { completeRouteSchema } from './http/responses.js'
import { registerProblemCodeCheck } from './http/problem-codes.js'
import { sharedSerializers } from './http/serialization.js'
import { createValidatorCompiler } from './http/validation.js'
import { registerAudit } from './modules/audit/plugin.js'
import { auditRoutes } from './modules/audit/routes.js'
import { availabilityRoutes } from './modules/availability/routes.js'
import { broadcastsRoutes } from './modules/broadcasts/routes.js'
import { catalogueRoutes } from './modules/catalogue/routes.js'
import { changesRoutes } from './modules/changes/routes.js'
import { contentRoutes } from './modules/content/routes.js'
import { healthRoutes } from './modules/health/routes.js'
import { mediaRoutes } from './modules/media/routes.js'
import { receiptsRoutes } from './modules/receipts/routes.js'
import { registryRoutes } from './modules/registry/routes.js'
import { reportsRoutes } from './modules/reports/routes.js'
import { schedulesRoutes } from './modules/schedules/routes.js'
import { statusRoutes } from './modules/status/routes.js'
import { summariesRoutes } from './modules/summaries/routes.js'
import { systemsRoutes } from './modules/systems/routes.js'
import { trendsRoutes } from './modules/trends/routes.js'
import { openApiDocument } from './openapi.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The HTTP application: shared machinery first, then one plugin per area. Nothing listens here. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    // A caller's request id is kept when it is safe to log; otherwise the service makes one.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    requestTimeout: deps.config.REQUEST_TIMEOUT_MS,
    // A client that dribbles its headers is cut off once HEADERS_TIMEOUT_MS has passed, checked every second.
    http: { headersTimeout: deps.config.HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    // request.ip is the connection's address unless it comes from a load balancer the operator names.
    trustProxy: deps.config.TRUST_PROXY ? deps.config.TRUST_PROXY.split(',').map((a) => a.trim()).filter(Boolean) : false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    rewriteUrl: redactTokenInQuery,
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    // A URL the router cannot even read (bad percent-encoding, an over-long segment) is a problem document too.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(request, reply, new HttpProblem('bad-request', error.message, { status: error.statusCode ?? 400 }))
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.server.maxConnections = deps.config.MAX_CONNECTIONS
  app.decorate('deps', deps)
  for (const component of components) app.addSchema(component)
  app.setValidatorCompiler(createValidatorCompiler())
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide) return
    if (!route.config?.policy) throw new Error(`route ${route.method} ${route.url} declares no policy`)
    completeRouteSchema(route)
  })
  // While stopping, answers in flight also close their connection, so draining ends with them.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
  })
  registerDeprecation(app)
  registerErrorHandling(app)
  registerProblemCodeCheck(app)
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('%00')) throw new HttpProblem('bad-request', 'the path or query holds a NUL character (%00), which no parameter accepts')
  })
  registerMetrics(app)
  const idempotency = registerIdempotency(app)
  const shares = callerShares(deps.config)
  registerAddressLimit(app, shares)
  registerTrust(app, idempotency)
  registerAudit(app)
  await registerLimits(app, shares)

  await app.register(swagger, openApiDocument(deps.config.PUBLIC_BASE_PATH))
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  // A person who opens the service's address lands on its documentation.
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(publicPath(deps.config, '/docs'), 302))

  await app.register(healthRoutes)
  await app.register(problemRoutes)
  await app.register(catalogueRoutes)
  await app.register(systemsRoutes)
  await app.register(receiptsRoutes)
  await app.register(auditRoutes)
  await app.register(registryRoutes)
  await app.register(changesRoutes)
  await app.register(reportsRoutes)
  await app.register(statusRoutes)
  await app.register(availabilityRoutes)
  await app.register(trendsRoutes)
  await app.register(summariesRoutes)
  await app.register(mediaRoutes)
  await app.register(contentRoutes)
  await app.register(broadcastsRoutes)
  await app.register(schedulesRoutes)
  return app
}
