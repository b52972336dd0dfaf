import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import { Strict, ref } from '../../../schemas/common.js'
import {
  KeyRecovery, SystemId, SystemListQuery, SystemPage, SystemRegistration, SystemUpdate, SystemWriteResult, System as SystemSchema,
} from '../../../schemas/systems.js'
import { PublicJwk } from '../../../schemas/trust.js'
import type { App } from '../../app-type.js'
import { decodeCursor, toPage } from '../../http/pagination.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { OutboxStore } from '../content/outbox.js'
import { outboundPolicy } from '../../http/outbound.js'
import { checkKeyRetirement, checkOutboundUrls, checkRecovery, checkUpdate, opensNotifications } from './service.js'
import { registrationProblem, SystemsStore } from './store.js'
import { notFoundExample, outboundUrlProblems, routeProblems } from '../../http/problem-examples.js'

const IdParams = Strict({ id: SystemId() })
const MAX_ACTIVE_KEYS = 10

export const updateSystemSchema = {
  tags: ['systems'],
  operationId: 'updateSystem',
  summary: 'Change a system',
  description: 'A system changes its own name, webhook URL and JWKS URL; central suspends or reactivates another system. Role and province never change. ' +
    'A province system given a webhook URL, or reactivated, is then sent the latest version of every item still in force for its province that it was not sent.',
  params: IdParams,
  body: ref(SystemUpdate),
  response: { 200: ref(SystemWriteResult), ...problemResponses([404, 422]) },
}

/** The refusals of PATCH /v2/systems/:id beyond the common ones. */
export const updateSystemProblems = routeProblems(notFoundExample('system province-01'), {
  403: [{ code: 'scope-forbidden', detail: 'only the central system changes a system\'s status' }],
  422: [{ code: 'rule-violated', detail: 'removing jwksUri would leave the system without an active key' }],
}, outboundUrlProblems)

type UpdateSystemRequest = FastifyRequest<{ Params: { id: string }, Body: Static<typeof SystemUpdate> }>

/** The handler of PATCH /v2/systems/:id; the trust benchmark mounts it unguarded to measure what verification costs. */
export function updateSystemHandler(app: App) {
  const { db } = app.deps.database
  const store = new SystemsStore(db)
  const policy = outboundPolicy(app.deps.config.OUTBOUND_ALLOWED_HOSTS)
  return async (request: UpdateSystemRequest) => {
    const { id } = request.params
    const update = request.body
    checkOutboundUrls(update, policy)
    const result = await db.transaction().execute(async (trx) => {
      const existing = await store.get(id, trx)
      if (!existing) throw notFound(`system ${id}`)
      checkUpdate(request.caller!, existing, update)
      const system = (await store.update(id, update, trx))!
      if (opensNotifications(update)) await OutboxStore.queueMissed(trx, id)
      const receipt = await app.receipts.issue(request, { status: 200, records: [{ entity: 'system', id, version: system.version }] }, trx)
      return { system, receipt }
    })
    app.keyDirectory.invalidate(id)
    return result
  }
}

export async function systemsRoutes(app: App) {
  const { db } = app.deps.database
  const store = new SystemsStore(db)
  const { receipts, keyDirectory } = app

  app.post('/v2/systems', {
    config: {
      problems: routeProblems({
        409: [{ code: 'conflict', detail: 'system province-79 is already registered' }],
        422: [{ code: 'rule-violated', detail: '02 is not a province since 1 July 2025' }],
      }, outboundUrlProblems),
      policy: 'central',
    },
    schema: {
      tags: ['systems'],
      operationId: 'registerSystem',
      summary: 'Register a system',
      description: 'Registers a provincial or central system with its public keys, inline or by `jwksUri`. The service calls `jwksUri` and `webhookUrl`: ' +
        'they must be https to a public address (`outbound-url-insecure`, `outbound-address-forbidden` otherwise). ' +
        'A province system registered with a webhook URL is sent the latest version of every item still in force for its province.',
      body: ref(SystemRegistration),
      response: { 201: ref(SystemWriteResult), ...problemResponses([409, 422]) },
    },
  }, async (request, reply) => {
    const registration = request.body
    const problem = registrationProblem(registration)
    if (problem) throw new HttpProblem('rule-violated', problem)
    checkOutboundUrls(registration, outboundPolicy(app.deps.config.OUTBOUND_ALLOWED_HOSTS))
    if (registration.provinceCode && !await store.isActiveProvince(registration.provinceCode)) {
      throw new HttpProblem('rule-violated', `${registration.provinceCode} is not a province since 1 July 2025`)
    }
    const result = await db.transaction().execute(async (trx) => {
      const system = await store.register(registration, trx)
      await OutboxStore.queueMissed(trx, system.id)
      const receipt = await receipts.issue(request, { status: 201, records: [{ entity: 'system', id: system.id, version: system.version }] }, trx)
      return { system, receipt }
    })
    return reply.code(201).send(result)
  })

  app.get('/v2/systems', {
    config: { policy: 'central' },
    schema: {
      tags: ['systems'],
      operationId: 'listSystems',
      summary: 'List registered systems',
      querystring: SystemListQuery,
      response: { 200: ref(SystemPage) },
    },
  }, async (request) => {
    const { limit = 100, cursor, role, status } = request.query
    const [afterId] = decodeCursor(cursor, ['string'] as const) ?? []
    return toPage(await store.list({ role, status, afterId, limit }), limit, (s) => [s.id], (s) => s)
  })

  app.get('/v2/systems/:id', {
    config: { problems: notFoundExample('system province-01'), policy: 'self-or-central' },
    schema: {
      tags: ['systems'],
      operationId: 'getSystem',
      summary: 'Get one system',
      params: IdParams,
      response: { 200: ref(SystemSchema), ...problemResponses([404]) },
    },
  }, async (request) => {
    const system = await store.get(request.params.id)
    if (!system) throw notFound(`system ${request.params.id}`)
    return system
  })

  app.patch('/v2/systems/:id', { config: { problems: updateSystemProblems, policy: 'self-or-central' }, schema: updateSystemSchema }, updateSystemHandler(app))

  app.post('/v2/systems/:id/keys', {
    config: {
      problems: routeProblems(notFoundExample('system province-01'), {
        409: [{ code: 'conflict', detail: 'system province-79 already has a key province-79-2026' }],
        422: [{ code: 'rule-violated', detail: `province-79 has ${MAX_ACTIVE_KEYS} active keys; retire one before adding another` }],
      }),
      policy: 'self',
    },
    schema: {
      tags: ['systems'],
      operationId: 'addSystemKey',
      summary: 'Add a public key',
      description: 'Adds a key the system may sign with at once; the way to rotate is add, use, then retire the old one. ' +
        'The call must be signed by a current key of the same system, so a new key is always introduced by the system itself. ' +
        `At most ${MAX_ACTIVE_KEYS} keys are active at once.`,
      params: IdParams,
      body: ref(PublicJwk),
      response: { 201: ref(SystemWriteResult), ...problemResponses([404, 409]) },
    },
  }, async (request, reply) => {
    const { id } = request.params
    const result = await db.transaction().execute(async (trx) => {
      const existing = await store.get(id, trx)
      if (!existing) throw notFound(`system ${id}`)
      if (existing.keys.filter((k) => k.status === 'active').length >= MAX_ACTIVE_KEYS) {
        throw new HttpProblem('rule-violated', `${id} has ${MAX_ACTIVE_KEYS} active keys; retire one before adding another`)
      }
      await store.addKey(id, request.body, trx)
      const system = (await store.get(id, trx))!
      const receipt = await receipts.issue(request, { status: 201, records: [{ entity: 'system-key', id: `${id}/${request.body.kid}`, version: system.version }] }, trx)
      return { system, receipt }
    })
    keyDirectory.invalidate(id)
    return reply.code(201).send(result)
  })

  app.delete('/v2/systems/:id/keys/:kid', {
    config: {
      problems: routeProblems(notFoundExample('key province-79-2025 of system province-79'), {
        422: [{ code: 'rule-violated', detail: 'province-79-2026 is the last active key of province-79; add its successor first' }],
      }),
      policy: 'self',
    },
    schema: {
      tags: ['systems'],
      operationId: 'retireSystemKey',
      summary: 'Retire a public key',
      description: 'A retired key verifies no call token from then on, on every instance within `SYSTEMS_CACHE_MS`; it stays listed so that ' +
        'what it signed can still be verified. A key published at the system\'s `jwksUri` is retired the same way: recorded, and refused while still published. ' +
        'A system cannot retire its last active inline key unless it has a jwksUri. To stop a system that lost its keys, central suspends it.',
      params: Strict({ id: SystemId(), kid: Type.String({ minLength: 1, maxLength: 128, description: 'The key id.' }) }),
      response: { 200: ref(SystemWriteResult), ...problemResponses([404, 422]) },
    },
  }, async (request) => {
    const { id, kid } = request.params
    // A key published only at the system's jwksUri is retired by recording it, so it stays refused even while still published there.
    const issuer = await keyDirectory.issuer(id)
    const published = issuer?.jwksUri && !issuer.keys.some((k) => k.kid === kid)
      ? (await keyDirectory.publishedKeys(issuer)).find((k) => k.kid === kid)
      : undefined
    const result = await db.transaction().execute(async (trx) => {
      const existing = await store.get(id, trx)
      if (!existing) throw notFound(`system ${id}`)
      checkKeyRetirement(existing, kid)
      const outcome = await store.retireKey(id, kid, trx, published)
      if (outcome === 'not-found') throw notFound(`key ${kid} of system ${id}`)
      const system = (await store.get(id, trx))!
      const receipt = await receipts.issue(request, { status: 200, records: [{ entity: 'system-key', id: `${id}/${kid}`, version: system.version }] }, trx)
      return { system, receipt }
    })
    keyDirectory.invalidate(id)
    return result
  })

  app.post('/v2/systems/:id/key-recovery', {
    config: {
      problems: routeProblems(notFoundExample('system province-01'), {
        403: [{ code: 'role-forbidden', detail: 'central-portal may not recover keys: the operator grants it to a central system in SYSTEMS_FILE (keyRecovery)' }],
        409: [{ code: 'conflict', detail: 'key province-79-2024 of province-79 was retired; a recovery brings new keys' }],
        422: [{ code: 'rule-violated', detail: 'two keys have the same kid' }],
      }),
      policy: 'central',
    },
    schema: {
      tags: ['systems'],
      operationId: 'recoverSystemKeys',
      summary: 'Replace the keys of a system that lost them',
      description: 'The one way a system\'s keys change without a call it signs itself: a central system the operator allowed to ' +
        '(`keyRecovery` in SYSTEMS_FILE) replaces every active key and the JWKS URL with the keys given. The call is recorded as ' +
        '`recoverSystemKeys` in the audit log with central\'s signed token and the reason, and the system is told on its webhook ' +
        '(`system.keys-recovered`). Receipts always name the key that signed the call they attest.',
      params: IdParams,
      body: ref(KeyRecovery),
      response: { 200: ref(SystemWriteResult), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { id } = request.params
    const caller = request.caller!
    const { jwks, reason } = request.body
    const result = await db.transaction().execute(async (trx) => {
      const [target, recoverer] = await Promise.all([store.get(id, trx), store.get(caller.systemId, trx)])
      if (!target) throw notFound(`system ${id}`)
      checkRecovery(recoverer, target, jwks.keys)
      const retired = await store.recoverKeys(id, jwks.keys, trx)
      const system = (await store.get(id, trx))!
      const receipt = await receipts.issue(request, {
        status: 200, records: [{ entity: 'system-key-recovery', id, version: system.version, reason, keys: jwks.keys.map((k) => k.kid), retired }],
      }, trx)
      const event = { id: randomUUID(), systemId: id }
      await store.recordEvent(trx, { ...event, type: 'system.keys-recovered', payload: { id, recoveredBy: caller.systemId, reason, keys: jwks.keys.map((k) => k.kid), retired, receiptId: receipt.id } })
      if (target.provinceCode && target.webhookUrl) await OutboxStore.enqueueSystemEvent(trx, { ...event, provinceCode: target.provinceCode })
      return { system, receipt }
    })
    keyDirectory.invalidate(id)
    request.log.warn({ system: id, recoveredBy: caller.systemId, reason }, 'keys of a system replaced by recovery')
    return result
  })
}
