import { Type } from 'typebox'
import { decodeProtectedHeader, compactVerify } from 'jose'
import { Strict, ref } from '../../../schemas/common.js'
import {
  AuditPage, AuditQuery, Checkpoint, CheckpointPage, CheckpointQuery, ConsistencyProof, ConsistencyQuery, CosignatureSubmission,
  CosignatureWriteResult, InclusionProof, InclusionQuery,
} from '../../../schemas/transparency.js'
import { ReceiptId } from '../../../schemas/trust.js'
import type { App } from '../../app-type.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { TransparencyLog, type CosignatureClaimsSeen } from './log.js'
import { logOrigin } from './sealer.js'
import { AuditStore, rowToEntry } from './store.js'
import { notFoundExample, routeProblems, type RouteProblems } from '../../http/problem-examples.js'


/** An entry or a log not yet covered by a signed checkpoint. */
const pending: RouteProblems = { 409: [{ code: 'log-entry-pending', detail: 'entry 48215 is not in a signed checkpoint yet; retry after the next one' }] }

export async function auditRoutes(app: App) {
  const { db } = app.deps.database
  const store = new AuditStore(db)
  const log = new TransparencyLog(db, app.deps.config.SERVICE_ID, logOrigin(app.deps.config.SERVICE_ID))

  app.get('/v2/audit', {
    config: { policy: 'central' },
    schema: {
      tags: ['trust'],
      operationId: 'listAuditEntries',
      summary: 'Page through the audit log',
      description: 'Every /v2 call, accepted or refused, oldest first: accepted writes with their signed call tokens, other calls of verified callers one by one, ' +
        'calls without a verified caller sampled (the first `AUDIT_UNVERIFIED_SAMPLE` a minute per instance) and counted. Each entry is a leaf of the transparency log.',
      querystring: AuditQuery,
      response: { 200: ref(AuditPage) },
    },
  }, async (request) => {
    const { limit = 100, cursor, caller, from, to } = request.query
    const [afterId] = decodeCursor(cursor, ['number'] as const) ?? []
    return toPage(await store.list({ caller, from, to, afterId, limit }), limit, (row) => [row.id], rowToEntry)
  })

  app.get('/v2/audit/checkpoint', {
    config: { problems: { 409: [{ code: 'log-entry-pending', detail: 'the log has no checkpoint yet; the first is signed once the first calls are sealed' }] }, policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'getLatestCheckpoint',
      summary: 'The latest signed checkpoint of the transparency log',
      description: 'What a witness fetches, checks against the last checkpoint it saw (`GET /v2/audit/consistency`) and cosigns. ' +
        'A new checkpoint is signed every `AUDIT_SEAL_INTERVAL_MS` while calls arrive.',
      response: { 200: ref(Checkpoint), ...problemResponses([409]) },
    },
  }, async () => log.latest())

  app.get('/v2/audit/checkpoints', {
    config: { policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'listCheckpoints',
      summary: 'Every signed checkpoint, oldest first',
      description: 'Continue with `after` set to the `nextCursor` of a page.',
      querystring: CheckpointQuery,
      response: { 200: ref(CheckpointPage) },
    },
  }, async (request) => log.page(request.query.after ?? 0, request.query.limit ?? 100))

  app.get('/v2/audit/consistency', {
    config: { problems: routeProblems(notFoundExample('a checkpoint of 50000 leaves (the latest has 48214)'), { 422: [{ code: 'rule-violated', detail: 'from (48214) must not exceed to (40000)' }] }), policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'getConsistencyProof',
      summary: 'Prove that the log only grew between two tree sizes',
      querystring: ConsistencyQuery,
      response: { 200: ref(ConsistencyProof), ...problemResponses([404, 422]) },
    },
  }, async (request) => log.consistency(request.query.from, request.query.to))

  app.get('/v2/audit/entries/:leafIndex/proof', {
    config: { problems: routeProblems(notFoundExample('leaf 99999 of the audit log'), pending), policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'getEntryInclusionProof',
      summary: 'Prove that an audit entry is in a signed checkpoint',
      description: 'Central reads any entry; another system only entries of its own verified calls.',
      params: Strict({ leafIndex: Type.Integer({ format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER - 1, description: 'The leaf index.' }) }),
      querystring: InclusionQuery,
      response: { 200: ref(InclusionProof), ...problemResponses([404, 409]) },
    },
  }, async (request) => {
    const row = await log.entry(request.params.leafIndex)
    return log.inclusionFor(request.caller!, row, request.query.treeSize, `leaf ${request.params.leafIndex} records a call of another system`)
  })

  app.get('/v2/receipts/:id/proof', {
    config: { problems: routeProblems(notFoundExample('receipt mV3pQ8sLr2tXc9ZbN4kWyB'), pending), policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'getReceiptInclusionProof',
      summary: 'Prove that a receipt\'s write is in the transparency log',
      description: 'The audit entry of the write the receipt attests, and the proof that it is the leaf the receipt names in a signed checkpoint. ' +
        '409 `log-entry-pending` until the next checkpoint covers it. For the system the receipt was issued to, or central.',
      params: Strict({ id: ReceiptId }),
      querystring: InclusionQuery,
      response: { 200: ref(InclusionProof), ...problemResponses([404, 409]) },
    },
  }, async (request) => {
    const row = await log.entryOfReceipt(request.params.id)
    if (!row) throw notFound(`receipt ${request.params.id}`)
    return log.inclusionFor(request.caller!, row, request.query.treeSize, `receipt ${request.params.id} was issued to another system`)
  })

  app.post('/v2/audit/cosignatures', {
    config: {
      problems: routeProblems(notFoundExample('a checkpoint of 50000 leaves'), {
        409: [{ code: 'checkpoint-mismatch', detail: 'witness-vnnic cosigned a root for 48214 leaves that is not the one this service signed: the witness saw another history of the log' }],
        422: [{
          code: 'cosignature-invalid', detail: 'the cosignature\'s signature does not verify with the caller\'s key',
          errors: [{ in: 'body', pointer: '/cosignature', message: 'does not verify' }],
        }],
      }),
      policy: 'system',
    },
    schema: {
      tags: ['trust'],
      operationId: 'cosignCheckpoint',
      summary: 'Cosign a checkpoint as a witness',
      description: 'A witness (any registered system) that has checked a checkpoint against the last one it saw sends its cosignature, ' +
        'signed with one of its registered keys. The service keeps and publishes it with the checkpoint. A root that differs from the ' +
        'one the service signed at that size is refused with `checkpoint-mismatch`: the witness saw another history.',
      body: ref(CosignatureSubmission),
      response: { 201: ref(CosignatureWriteResult), 200: ref(CosignatureWriteResult), ...problemResponses([404, 409, 422]) },
    },
  }, async (request, reply) => {
    const caller = request.caller!
    const jws = request.body.cosignature
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      header = decodeProtectedHeader(jws)
    } catch {
      throw new HttpProblem('cosignature-invalid', 'the cosignature is not a compact JWS', { errors: [{ in: 'body', pointer: '/cosignature', message: 'is not a compact JWS' }] })
    }
    const issuer = await app.keyDirectory.issuer(caller.systemId)
    const key = issuer && typeof header.kid === 'string' ? await app.keyDirectory.key(issuer, header.kid) : { found: false as const }
    if (!key.found) throw new HttpProblem('cosignature-invalid', `the cosignature names no active key of ${caller.systemId}`, { errors: [{ in: 'body', pointer: '/cosignature', message: 'names no active key of the caller' }] })
    let claims: CosignatureClaimsSeen
    try {
      const verified = await compactVerify(jws, key.key, { algorithms: [key.alg] })
      claims = JSON.parse(new TextDecoder().decode(verified.payload)) as CosignatureClaimsSeen
    } catch {
      throw new HttpProblem('cosignature-invalid', 'the cosignature\'s signature does not verify with the caller\'s key', { errors: [{ in: 'body', pointer: '/cosignature', message: 'does not verify' }] })
    }
    const result = await db.transaction().execute(async (trx) => {
      const accepted = await log.acceptCosignature(trx, caller.systemId, claims, header.kid!, jws, header.typ)
      const receipt = await app.receipts.issue(request, {
        status: accepted.stored ? 201 : 200, records: [{ entity: 'cosignature', id: `${accepted.cosignature.witness}@${claims.treeSize as number}` }],
      }, trx)
      return { ...accepted, receipt }
    })
    return reply.code(result.stored ? 201 : 200).send({ cosignature: result.cosignature, receipt: result.receipt })
  })
}
