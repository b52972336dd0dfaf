import { Strict, ref } from '../../../schemas/common.js'
import { ReceiptId, ReceiptRecord, ServiceJwks } from '../../../schemas/trust.js'
import type { App } from '../../app-type.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { problemResponses } from '../../http/responses.js'
import { ServiceKeyHistory, type PublishedServiceKey } from './key-history.js'
import { ReceiptStore } from './store.js'
import { notFoundExample } from '../../http/problem-examples.js'

const JWKS_REFRESH_MS = 60_000

export async function receiptsRoutes(app: App) {
  const store = new ReceiptStore(app.deps.database.db)
  const history = new ServiceKeyHistory(app.deps.database.db)
  const { serviceKeys } = app.deps
  // Computed once a minute at most: another instance may have started signing with a newer key.
  let published: { keys: PublishedServiceKey[], at: number } | undefined
  const jwks = async () => {
    if (!published || Date.now() - published.at > JWKS_REFRESH_MS) published = { ...await history.published(serviceKeys), at: Date.now() }
    return { keys: published.keys }
  }

  app.get('/.well-known/jwks.json', {
    config: { policy: 'public' },
    schema: {
      tags: ['trust'],
      operationId: 'getServiceKeys',
      summary: 'The service\'s public keys',
      description: 'Verifies receipts, checkpoints of the transparency log and the webhook calls the service makes. Lists the key it signs with first, ' +
        'then every key it signed with before (`retired`, with its validity period): a rotation never makes an old signature unverifiable.',
      response: { 200: ref(ServiceJwks) },
    },
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return jwks()
  })

  app.get('/v2/receipts/:id', {
    config: { problems: notFoundExample('receipt mV3pQ8sLr2tXc9ZbN4kWyB'), policy: 'system' },
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
