import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type, type TObject, type TProperties } from 'typebox'
import type { App } from '../app-type.js'
import type { Db } from '../db/database.js'
import { every } from '../jobs.js'
import { IdempotencyKeyTaken, IdempotencyStore } from './idempotency-store.js'
import { sha256 } from './signed-body.js'
import { HttpProblem } from './problem.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The Idempotency-Key this write was sent with, and the hash of the request it names. */
    idempotency?: { key: string, requestHash: string }
  }
}

export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY_PATTERN = '^[\\x21-\\x7E]{1,255}$'
const KEY = new RegExp(KEY_PATTERN)
/** A write commits a few milliseconds before its answer is kept; a key older than this without one lost it. */
const ANSWER_GRACE_SECONDS = 5

export const IdempotencyKeyHeader = Type.String({
  pattern: KEY_PATTERN,
  description: 'Makes a retried write safe: the first answer is stored and replayed to every retry with the same key for 24 hours ' +
    '(with `Idempotency-Replayed: true`); the same key with another request is 422; while the first is still running, 409.',
})

/** Adds the Idempotency-Key header to a route's header schema, for the contract. */
export function withIdempotencyKey(headers: TObject<TProperties> | undefined): TObject<TProperties> {
  return Type.Object({ ...(headers?.properties ?? {}), 'idempotency-key': Type.Optional(IdempotencyKeyHeader) })
}

export interface IdempotencyRecorder {
  /** Called by the receipt issuer, in the write's transaction. */
  record(request: FastifyRequest, receiptId: string, trx: Db): Promise<void>
}

/**
 * Idempotency-Key on every signed write. The key is written by the write's own transaction
 * (with its receipt), so it exists exactly when the write committed: a crash loses no key and
 * leaves none half-taken. The answer is kept once sent and replayed to retries.
 */
export function registerIdempotency(app: App): IdempotencyRecorder {
  const { config, database } = app.deps
  const store = new IdempotencyStore(database.db)
  app.decorateRequest('idempotency', undefined)

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key']
    if (key === undefined || !request.caller || !WRITE_METHODS.has(request.method)) return
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new HttpProblem('validation-failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters',
        { errors: [{ in: 'header', pointer: '/idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }] })
    }
    const requestHash = sha256(`${request.method} ${request.url} ${request.bodySha256}`)
    const first = await store.find(request.caller.systemId, key)
    if (!first) {
      request.idempotency = { key, requestHash }
      return
    }
    if (first.requestHash !== requestHash) {
      throw new HttpProblem('idempotency-key-reused', `Idempotency-Key ${key} was used for another request; use a new key for a new request`)
    }
    if (!first.response && first.ageSeconds < ANSWER_GRACE_SECONDS) {
      throw new HttpProblem('idempotency-key-in-flight', `the request with Idempotency-Key ${key} was just applied (receipt ${first.receiptId}); retry to get its answer`,
        { headers: { 'retry-after': '1' }, receiptId: first.receiptId })
    }
    if (!first.response) {
      // The instance that applied it stopped before keeping its answer: the write is done, its receipt proves it.
      throw new HttpProblem('idempotency-answer-lost', `the request with Idempotency-Key ${key} was applied; its answer was lost ` +
        `but its receipt is kept: GET /v2/receipts/${first.receiptId}`, { receiptId: first.receiptId })
    }
    reply.code(first.response.status).header('idempotency-replayed', 'true')
    if (first.response.type) reply.type(first.response.type)
    return reply.send(first.response.body)
  })

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.idempotency && request.receiptId && request.caller && reply.statusCode < 300) {
      await store.saveAnswer(request.caller.systemId, request.idempotency.key, request.receiptId, {
        status: reply.statusCode, type: String(reply.getHeader('content-type') ?? ''), body: String(payload),
      })
    }
    return payload
  })

  const pruner = every(3_600_000, 'idempotency-prune', app.log, () => store.prune())
  app.addHook('onClose', () => pruner.stop())

  return {
    async record(request, receiptId, trx) {
      if (!request.idempotency || !request.caller) return
      try {
        await store.record(trx, { caller: request.caller.systemId, key: request.idempotency.key, requestHash: request.idempotency.requestHash, receiptId, ttlHours: config.IDEMPOTENCY_TTL_HOURS })
      } catch (error) {
        if (!(error instanceof IdempotencyKeyTaken)) throw error
        throw new HttpProblem('idempotency-key-in-flight', `another request with Idempotency-Key ${request.idempotency.key} was applied first; retry to get its answer`,
          { headers: { 'retry-after': '1' } })
      }
    },
  }
}
