import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from '../../../generated/contract.js'
import type { SigningKey } from '../../../src/client/keys.js'
import { signCall } from '../../../src/client/sign.js'

export interface ContractClientOptions {
  baseUrl: string
  systemId: string
  key: SigningKey
  audience: string
}

/**
 * A client compiled from the contract alone: the types come from `openapi/openapi.json`
 * through openapi-typescript, the calls from openapi-fetch, and a middleware signs each one.
 */
export function contractClient(options: ContractClientOptions) {
  const signing: Middleware = {
    async onRequest({ request }) {
      const url = new URL(request.url)
      const body = request.body ? new Uint8Array(await request.clone().arrayBuffer()) : undefined
      const token = await signCall({
        issuer: options.systemId, audience: options.audience, key: options.key, method: request.method, pathAndQuery: url.pathname + url.search, body,
      })
      request.headers.set('authorization', `Bearer ${token}`)
      return request
    },
  }
  const client = createClient<paths>({ baseUrl: options.baseUrl })
  client.use(signing)
  return client
}

/** Calls that only type-check if the contract declares these operations, parameters and fields. */
export async function pushAndReadBack(client: ReturnType<typeof contractClient>, province: string, systemId: string) {
  const pushed = await client.PUT('/v2/provinces/{code}/stations', {
    params: { path: { code: province } },
    body: { items: [{ id: 'st-contract-1', communeCode: '26740', name: 'Đài phường Bến Nghé', kind: 'ip', status: 'operating' }] },
  })
  const listed = await client.GET('/v2/provinces/{code}/stations', { params: { path: { code: province }, query: { limit: 10 } } })
  const one = await client.GET('/v2/provinces/{code}/stations/{id}', { params: { path: { code: province, id: 'st-contract-1' } } })
  const self = await client.GET('/v2/systems/{id}', { params: { path: { id: systemId } } })
  const refused = await client.GET('/v2/provinces/{code}/stations', { params: { path: { code: province }, query: { limit: 5000 } } })
  return {
    receipt: pushed.data?.receipt.jws,
    stationIds: listed.data?.items.map((station) => station.id),
    stationName: one.data?.name,
    systemRole: self.data?.role,
    refusal: { status: refused.response.status, code: refused.error?.code },
  }
}
