import { ref } from '../../../schemas/common.js'
import { AuditPage, AuditQuery } from '../../../schemas/trust.js'
import type { App } from '../../app.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { AuditStore, type AuditRow } from './store.js'

const toEntry = (row: AuditRow) => ({
  id: row.id, at: row.at.toISOString(), caller: row.caller, verified: row.verified, jti: row.jti, method: row.method, path: row.path,
  bodySha256: row.body_sha256, status: row.status, problemCode: row.problem_code, receiptId: row.receipt_id,
  requestId: row.request_id, sealId: row.seal_id,
})

export async function auditRoutes(app: App) {
  const store = new AuditStore(app.deps.database.db)

  app.get('/v2/audit', {
    config: { policy: 'central' },
    schema: {
      tags: ['trust'],
      operationId: 'listAuditEntries',
      summary: 'Page through the audit log',
      description: 'Every /v2 call, accepted or refused, oldest first. Entries are sealed in signed batches; `ttn audit verify` checks the whole log.',
      querystring: AuditQuery,
      response: { 200: ref(AuditPage) },
    },
  }, async (request) => {
    const { limit = 100, cursor, caller, from, to } = request.query
    const [afterId] = decodeCursor(cursor, ['number'] as const) ?? []
    return toPage(await store.list({ caller, from, to, afterId, limit }), limit, (row) => [row.id], toEntry)
  })
}
