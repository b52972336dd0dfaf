import type { App } from '../../app-type.js'
import { every } from '../../jobs.js'
import { callEntry } from './entry.js'
import { AuditRecorder, RefusalSampler } from './recorder.js'
import { AuditSealer, signCheckpoint } from './sealer.js'
import { AuditStore } from './store.js'

declare module 'fastify' {
  interface FastifyReply {
    /** The problem code answered, recorded in the audit log. */
    problemCode?: string
  }
  interface FastifyInstance {
    audit: {
      /** Writes the entries still waiting, the counts of unverified calls included. */
      flush(): Promise<void>
      /** Appends to the tree every entry written so far and signs a checkpoint, now rather than at the next interval. */
      sealNow(): Promise<void>
    }
  }
}

const REFUSAL_WINDOW_MS = 60_000

/**
 * Records every /v2 call in the transparency log. A write's entry commits in the write's own
 * transaction (the receipt issuer appends it); every other call is recorded once answered, those
 * with no verified caller sampled and counted. Every AUDIT_SEAL_INTERVAL_MS the settled entries
 * are appended to the Merkle tree and a signed checkpoint is published.
 */
export function registerAudit(app: App): void {
  const { config, database, serviceKeys } = app.deps
  const recorder = new AuditRecorder(new AuditStore(database.db), app.log)
  const sampler = new RefusalSampler(recorder, config.AUDIT_UNVERIFIED_SAMPLE, REFUSAL_WINDOW_MS)
  const sealer = new AuditSealer(database.db, config.SERVICE_ID, signCheckpoint(serviceKeys.current), serviceKeys.current.kid)
  const job = every(config.AUDIT_SEAL_INTERVAL_MS, 'audit-seal', app.log, async () => {
    await recorder.flush()
    await sealer.tick()
  })
  const flush = () => {
    sampler.closeWindow()
    return recorder.flush()
  }

  app.decorateReply('problemCode', undefined)
  app.decorateRequest('auditEntryId', undefined)
  app.decorate('audit', {
    flush,
    sealNow: async () => {
      await flush()
      await sealer.catchUp()
    },
  })

  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/v2/')) return
    if (request.auditEntryId !== undefined && reply.statusCode < 400) return
    const entry = callEntry(request, { status: reply.statusCode, problemCode: reply.problemCode ?? null, receiptId: null, callToken: null })
    if (request.caller) recorder.record(entry)
    else sampler.record(entry)
  })
  app.addHook('onClose', async () => {
    await job.stop()
    sampler.stop()
    await recorder.flush()
  })
}
