import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type, type TObject, type TProperties } from 'typebox'
import type { App } from '../app.js'
import { every } from '../jobs.js'
import { IdempotencyStore } from './idempotency-store.js'
import { sha256 } from './json-body.js'
import { HttpProblem } from './problem.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The Idempotency-Key this request claimed; its answer is kept for retries. */
    idempotencyKey?: string
  }
}

export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY_PATTERN = '^[\\x21-\\x7E]{1,255}$'
const KEY = new RegExp(KEY_PATTERN)
/** How long a request holds its key before a retry may take over a claim it left behind. */
const LEASE_MS = 120_000

export const IdempotencyKeyHeader = Type.String({
  pattern: KEY_PATTERN,
  description: 'Makes a retried write safe: the first answer is stored and replayed to every retry with the same key for 24 hours ' +
    '(with `Idempotency-Replayed: true`); the same key with another request is 422; while the first is still running, 409.',
})

/** Adds the Idempotency-Key header to a route's header schema, for the contract. */
export function withIdempotencyKey(headers: TObject<TProperties> | undefined): TObject<TProperties> {
  return Type.Object({ ...(headers?.properties ?? {}), 'idempotency-key': Type.Optional(IdempotencyKeyHeader) })
}

/**
 * Idempotency-Key on every signed write. A claim is one insert; the answer is stored once
 * sent and replayed afterwards. The write's own transaction notes its receipt on the key,
 * so a claim left behind by a crash after commit is never run a second time.
 */
export function registerIdempotency(app: App): IdempotencyStore {
  const { config, database } = app.deps
  const store = new IdempotencyStore(database.db)
  const ttl = config.IDEMPOTENCY_TTL_HOURS
  app.decorateRequest('idempotencyKey', undefined)

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key']
    if (key === undefined || !request.caller || !WRITE_METHODS.has(request.method)) return
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new HttpProblem('validation-failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters',
        { errors: [{ in: 'header', pointer: '/idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }] })
    }
    const caller = request.caller.systemId
    const requestHash = sha256(`${request.method} ${request.url} ${request.bodySha256}`)
    if (await store.claim(caller, key, requestHash, LEASE_MS, ttl) || await store.reclaim(caller, key, requestHash, LEASE_MS, ttl)) {
      request.idempotencyKey = key
      return
    }
    const first = await store.find(caller, key)
    if (!first) throw new HttpProblem('idempotency-key-in-flight', `Idempotency-Key ${key} changed hands; retry`, { headers: { 'retry-after': '1' } })
    if (first.requestHash !== requestHash) {
      throw new HttpProblem('idempotency-key-reused', `Idempotency-Key ${key} was used for another request; use a new key for a new request`)
    }
    if (first.state === 'done' && first.response) {
      reply.code(first.response.status).header('idempotency-replayed', 'true')
      if (first.response.type) reply.type(first.response.type)
      return reply.send(first.response.body)
    }
    throw new HttpProblem('idempotency-key-in-flight', first.receiptId
      ? `the request with Idempotency-Key ${key} was applied (receipt ${first.receiptId}) but its answer was lost; GET /v2/receipts/${first.receiptId}`
      : `the request with Idempotency-Key ${key} is still running; retry shortly`, { headers: { 'retry-after': '1' } })
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey
    if (!key || !request.caller) return payload
    if (reply.statusCode >= 500) await store.release(request.caller.systemId, key)
    else await store.complete(request.caller.systemId, key, { status: reply.statusCode, type: String(reply.getHeader('content-type') ?? ''), body: String(payload) })
    return payload
  })

  const pruner = every(3_600_000, 'idempotency-prune', app.log, () => store.prune())
  app.addHook('onClose', () => pruner.stop())
  return store
}
