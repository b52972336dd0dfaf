import type { App } from '../../app.js'
import { every } from '../../jobs.js'
import { AuditRecorder } from './recorder.js'
import { signSeal } from './seal.js'
import { AuditStore } from './store.js'

declare module 'fastify' {
  interface FastifyReply {
    /** The problem code answered, recorded in the audit log. */
    problemCode?: string
  }
  interface FastifyInstance {
    audit: {
      /** Writes the entries still waiting. */
      flush(): Promise<void>
      /** Seals what is written and not yet sealed, now rather than at the next interval. */
      sealNow(): Promise<void>
    }
  }
}

/**
 * Records every /v2 call, accepted or refused, once it is answered; seals the entries in
 * signed batches every AUDIT_SEAL_INTERVAL_MS.
 */
export function registerAudit(app: App): void {
  const { config, database, serviceKeys } = app.deps
  const store = new AuditStore(database.db)
  const recorder = new AuditRecorder(store, app.log)
  const sign = signSeal(serviceKeys.current)
  const sealer = every(config.AUDIT_SEAL_INTERVAL_MS, 'audit-seal', app.log, async () => {
    await recorder.flush()
    while (await store.sealNext(sign)) { /* until nothing is left unsealed */ }
  })

  app.decorateReply('problemCode', undefined)
  app.decorate('audit', { flush: () => recorder.flush(), sealNow: () => sealer.runNow() })

  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/v2/')) return
    recorder.record({
      at: new Date(),
      caller: request.caller?.systemId ?? request.tokenAttempt?.issuer ?? null,
      verified: request.caller !== undefined,
      jti: request.tokenAttempt?.jti ?? null,
      method: request.method,
      path: request.url.slice(0, 2000),
      bodySha256: request.bodySha256,
      status: reply.statusCode,
      problemCode: reply.problemCode ?? null,
      receiptId: request.receiptId ?? null,
      requestId: request.id,
    })
  })
  app.addHook('onClose', async () => {
    await sealer.stop()
    await recorder.flush()
  })
}
