import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { signCall } from '../../src/client/sign.js'
import { Contract } from '../../src/conformance/contract.js'
import { ApiConformance } from '../../src/conformance/runner.js'
import { projectPath } from '../../src/paths.js'
import type { App } from '../../src/app-type.js'
import { CENTRAL, listen, serviceWithCallers, type ServiceWithCallers } from '../helpers/conformance.js'

/** Every variant must fail with each of these, not only with a lucky one. */
const SEEDS = [7, 20261201, 424242]

/** Runs the kit in-process on a few operations of a variant, once per seed, and returns each summary. */
async function summaries(url: string, service: ServiceWithCallers, operations: string[]): Promise<string[]> {
  const contract = await Contract.read(projectPath('openapi', 'openapi.json'))
  const found: string[] = []
  for (const seed of SEEDS) {
    const kit = new ApiConformance({
      target: url, contract, province: service.province, central: service.central, audience: service.config.SERVICE_ID, seed, runs: 1, operations,
    })
    found.push((await kit.run()).summary(`variant, seed ${seed}`))
  }
  return found
}

type Change = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => unknown

/** A variant of the real app that changes the answers of one route (all when `route` is undefined). */
const answering = (method: string, route: string | undefined, change: Change) => (app: App) => app.addHook('onSend', async (request, reply, payload) =>
  request.method === method && (route === undefined || request.routeOptions.url === route) ? change(request, reply, payload) : payload)

const jsonChanged = (edit: (body: Record<string, unknown>) => void): Change => (_request, reply, payload) => {
  if (reply.statusCode >= 300 || typeof payload !== 'string') return payload
  const body = JSON.parse(payload) as Record<string, unknown>
  edit(body)
  return JSON.stringify(body)
}

const variants: { name: string, operations: string[], broken: (app: App) => void, failure: RegExp }[] = [
  {
    name: 'an undeclared field in a response body',
    operations: ['getStation'],
    broken: answering('GET', '/v2/provinces/:code/stations/:id', jsonChanged((body) => { body.internalNote = 'not in the contract' })),
    failure: /FAIL success getStation: status 200 body does not match the declared schema: \/ must NOT have additional properties/,
  },
  {
    name: 'a write answered without its receipt',
    operations: ['publishContent'],
    broken: answering('POST', '/v2/contents', jsonChanged((body) => { delete body.receipt })),
    failure: /FAIL receipt publishContent: a 201 answer to a write has no receipt/,
  },
  {
    name: 'a record answered without its ETag',
    operations: ['getStation'],
    broken: answering('GET', '/v2/provinces/:code/stations/:id', (_request, reply, payload) => { reply.removeHeader('etag'); return payload }),
    failure: /FAIL headers getStation: status 200: ETag is required but missing/,
  },
  {
    name: 'a 500 on an unknown field',
    operations: ['pushStations'],
    broken: answering('PUT', undefined, (request, reply, payload) => {
      if (reply.statusCode === 400 && JSON.stringify(request.body ?? null).includes('conformanceUnknownField')) reply.code(500)
      return payload
    }),
    failure: /FAIL invalid-body:unknown-field pushStations: expected a 4xx problem document, got 500/,
  },
  {
    name: 'a problem code the operation does not declare',
    operations: ['getStation'],
    broken: answering('GET', '/v2/provinces/:code/stations/:id', (_request, reply, payload) =>
      reply.statusCode === 401 && typeof payload === 'string' ? payload.replace(/"code":"[a-z-]+"/, '"code":"upload-not-open"') : payload),
    failure: /FAIL token:[a-z-]+ getStation: .*problem code upload-not-open is not one the operation declares for 401/,
  },
  {
    name: 'a wrong status code on success',
    operations: ['publishContent'],
    broken: answering('POST', '/v2/contents', (_request, reply, payload) => { if (reply.statusCode === 201) reply.code(200); return payload }),
    failure: /FAIL success publishContent: status 200 is not declared/,
  },
]

for (const variant of variants) {
  t.test(`the kit fails with every seed, naming the check, against ${variant.name}`, async (t) => {
    const service = await serviceWithCallers(t, { broken: variant.broken })
    for (const [i, summary] of (await summaries(await listen(service.app), service, variant.operations)).entries()) {
      t.match(summary, variant.failure, `seed ${SEEDS[i]}`)
      t.notMatch(summary, /\n0 failed;/)
    }
  })
}

t.test('the kit fails with every seed, naming the check, against a route that needs no token', async (t) => {
  const service = await serviceWithCallers(t)
  // In front of the real app: whatever token a call to GET /v2/systems carries, it is swapped for a valid one.
  const front = http.createServer((request, response) => {
    void (async () => {
      if (request.method === 'GET' && (request.url === '/v2/systems' || request.url?.startsWith('/v2/systems?'))) {
        request.headers.authorization = `Bearer ${await signCall({
          issuer: CENTRAL, audience: service.config.SERVICE_ID, key: service.central.key, method: 'GET', pathAndQuery: request.url!,
        })}`
      }
      service.app.routing(request, response)
    })()
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => front.close(resolve)))
  const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
  for (const [i, summary] of (await summaries(url, service, ['listSystems'])).entries()) {
    for (const attack of ['token-missing', 'alg-none', 'expired', 'wrong-audience', 'replayed']) {
      t.match(summary, new RegExp(`FAIL token:${attack} listSystems: .*expected 401 or 403, got 200`), `seed ${SEEDS[i]}: ${attack}`)
    }
    t.notMatch(summary, /FAIL token:\S+ (?!listSystems)\w+:/, 'only the broken operation fails')
  }
})
