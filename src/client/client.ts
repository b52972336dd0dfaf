import type { Static } from 'typebox'
import type { System, SystemPage, SystemRegistration, SystemUpdate, SystemWriteResult } from '../../schemas/systems.js'
import type { Jwks, PublicJwk, ReceiptRecord } from '../../schemas/trust.js'
import { SignedHttp, type ClientOptions } from './http.js'

const query = (params: Record<string, string | number | boolean | undefined>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string])
  return entries.length ? '?' + new URLSearchParams(entries).toString() : ''
}
const path = (strings: TemplateStringsArray, ...values: string[]) =>
  strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]!) : ''), '')

/** A typed client of the ttn-interop API; every call is signed with the caller's key. */
export class TtnClient {
  readonly http: SignedHttp

  constructor(options: ClientOptions) {
    this.http = new SignedHttp(options)
  }

  serviceKeys(): Promise<Static<typeof Jwks>> {
    return this.http.call('GET', '/.well-known/jwks.json')
  }

  registerSystem(registration: Static<typeof SystemRegistration>): Promise<Static<typeof SystemWriteResult>> {
    return this.http.call('POST', '/v2/systems', registration)
  }

  listSystems(filter: { role?: 'province' | 'central', status?: 'active' | 'suspended', limit?: number, cursor?: string } = {}): Promise<Static<typeof SystemPage>> {
    return this.http.call('GET', '/v2/systems' + query(filter))
  }

  getSystem(id: string): Promise<Static<typeof System>> {
    return this.http.call('GET', path`/v2/systems/${id}`)
  }

  updateSystem(id: string, update: Static<typeof SystemUpdate>): Promise<Static<typeof SystemWriteResult>> {
    return this.http.call('PATCH', path`/v2/systems/${id}`, update)
  }

  addSystemKey(id: string, jwk: Static<typeof PublicJwk>): Promise<Static<typeof SystemWriteResult>> {
    return this.http.call('POST', path`/v2/systems/${id}/keys`, jwk)
  }

  retireSystemKey(id: string, kid: string): Promise<Static<typeof SystemWriteResult>> {
    return this.http.call('DELETE', path`/v2/systems/${id}/keys/${kid}`)
  }

  getReceipt(id: string): Promise<Static<typeof ReceiptRecord>> {
    return this.http.call('GET', path`/v2/receipts/${id}`)
  }
}
