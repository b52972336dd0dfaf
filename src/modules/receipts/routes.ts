import { Strict, ref } from '../../../schemas/common.js'
import { Jwks, ReceiptId, ReceiptRecord } from '../../../schemas/trust.js'
import type { App } from '../../app.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { ReceiptStore } from './store.js'

export async function receiptsRoutes(app: App) {
  const store = new ReceiptStore(app.deps.database.db)
  const { serviceKeys } = app.deps

  app.get('/.well-known/jwks.json', {
    config: { policy: 'public' },
    schema: {
      tags: ['trust'],
      operationId: 'getServiceKeys',
      summary: 'The service\'s public keys',
      description: 'Verifies receipts, audit seals and the webhook calls the service makes. During a rotation it lists the new key first and the older ones after it.',
      response: { 200: ref(Jwks) },
    },
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return serviceKeys.jwks
  })

  app.get('/v2/receipts/:id', {
    config: { policy: 'system' },
    schema: {
      tags: ['trust'],
      operationId: 'getReceipt',
      summary: 'Get a receipt again',
      description: 'Returns a receipt to the system it was issued to, or to central.',
      params: Strict({ id: ReceiptId }),
      response: { 200: ref(ReceiptRecord), ...problemResponses([404]) },
    },
  }, async (request) => {
    const receipt = await store.get(request.params.id)
    if (!receipt) throw notFound(`receipt ${request.params.id}`)
    const caller = request.caller!
    if (caller.role !== 'central' && receipt.caller !== caller.systemId) {
      throw new HttpProblem('scope-forbidden', `receipt ${receipt.id} was issued to another system`)
    }
    return { id: receipt.id, issuedAt: receipt.issuedAt.toISOString(), caller: receipt.caller, jws: receipt.jws }
  })
}
