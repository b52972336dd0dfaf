import type { App } from '../app.js'
import type { IdempotencyRecorder } from '../http/idempotency.js'
import { registerJsonBody } from '../http/json-body.js'
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

/** The trust model: call-token verification on every non-public route, receipts, and the shared replay guard. */
export function registerTrust(app: App, idempotency: IdempotencyRecorder): void {
  const { config, database, serviceKeys } = app.deps
  const keyDirectory = new KeyDirectory(new SystemsStore(database.db), {
    cacheMs: config.SYSTEMS_CACHE_MS,
    jwksRefreshSeconds: config.JWKS_REFRESH_SECONDS,
  })
  const replays = new ReplayStore(database.db)
  const verifier = new CallTokenVerifier({ serviceId: config.SERVICE_ID, skewSeconds: config.CLOCK_SKEW_SECONDS, keys: keyDirectory, replays })

  app.decorate('keyDirectory', keyDirectory)
  app.decorate('receipts', new ReceiptIssuer(serviceKeys, config.SERVICE_ID, new ReceiptStore(database.db), new AuditStore(database.db), idempotency))
  registerAuthentication(app, verifier)
  registerJsonBody(app, (request) => checkSignedBody(verifier, request))

  const pruner = every(REPLAY_PRUNE_INTERVAL_MS, 'replay-prune', app.log, () => replays.prune(config.CLOCK_SKEW_SECONDS + 60))
  app.addHook('onClose', () => pruner.stop())
}
