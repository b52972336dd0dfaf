import type { App } from '../app-type.js'
import type { IdempotencyRecorder } from '../http/idempotency.js'
import { registerSignedBodies } from '../http/signed-body.js'
import { registerTokenInQueryRefusal } from '../http/token-in-query.js'
import { MAX_CALL_TOKEN_LIFETIME_SECONDS } from '../client/sign.js'
import { OutboundClient, outboundPolicy } from '../http/outbound.js'
import { every } from '../jobs.js'
import { ReceiptIssuer } from '../modules/receipts/issuer.js'
import { ReceiptStore } from '../modules/receipts/store.js'
import { AuditStore } from '../modules/audit/store.js'
import { SystemsStore } from '../modules/systems/store.js'
import { CallTokenVerifier } from './call-token.js'
import { KeyDirectory } from './key-directory.js'
import { checkSignedBody, registerAuthentication } from './policy.js'
import { ReplayStore } from './replay-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    keyDirectory: KeyDirectory
    receipts: ReceiptIssuer
  }
}

const REPLAY_PRUNE_INTERVAL_MS = 60_000
/** A JWKS is small and its host answers at once, or not at all. */
const JWKS_FETCH_LIMITS = { connectMs: 3_000, headersMs: 3_000, totalMs: 5_000, maxBytes: 64 * 1024 }

/** The trust model: call-token verification on every non-public route, receipts, and the shared replay guard. */
export function registerTrust(app: App, idempotency: IdempotencyRecorder): void {
  const { config, database, serviceKeys } = app.deps
  const outbound = new OutboundClient(outboundPolicy(config.OUTBOUND_ALLOWED_HOSTS), JWKS_FETCH_LIMITS)
  app.addHook('onClose', () => outbound.close())
  const keyDirectory = new KeyDirectory(new SystemsStore(database.db), {
    cacheMs: config.SYSTEMS_CACHE_MS,
    jwksRefreshSeconds: config.JWKS_REFRESH_SECONDS,
    outbound,
  })
  const replays = new ReplayStore(database.db)
  const verifier = new CallTokenVerifier({ serviceId: config.SERVICE_ID, skewSeconds: config.CLOCK_SKEW_SECONDS, keys: keyDirectory, replays, basePath: config.PUBLIC_BASE_PATH })

  app.decorate('keyDirectory', keyDirectory)
  app.decorate('receipts', new ReceiptIssuer(serviceKeys, config.SERVICE_ID, new ReceiptStore(database.db), new AuditStore(database.db), idempotency))
  registerTokenInQueryRefusal(app, replays, MAX_CALL_TOKEN_LIFETIME_SECONDS + config.CLOCK_SKEW_SECONDS)
  registerAuthentication(app, verifier)
  registerSignedBodies(app, (request) => checkSignedBody(verifier, request))

  const pruner = every(REPLAY_PRUNE_INTERVAL_MS, 'replay-prune', app.log, () => replays.prune(new Date(Date.now() - (config.CLOCK_SKEW_SECONDS + 60) * 1000)))
  app.addHook('onClose', () => pruner.stop())
}
