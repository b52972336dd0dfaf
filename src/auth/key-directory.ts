import { importJWK, type CryptoKey } from 'jose'
import { request } from 'undici'
import type { PublicJwk } from '../../schemas/trust.js'
import { Jwks } from '../../schemas/trust.js'
import { compileValidator } from '../http/validation.js'
import type { IssuerRecord, SystemsStore } from '../modules/systems/store.js'

export type KeyLookup =
  | { found: true, key: CryptoKey, alg: 'ES256' | 'EdDSA' }
  | { found: false, reason: 'key-unknown' | 'key-retired' }

interface CachedIssuer { record: IssuerRecord | undefined, until: number }
interface RemoteKeys { keys: PublicJwk[], fetchedAt: number }

const isJwks = compileValidator(Jwks)
const MAX_JWKS_BYTES = 64 * 1024
/** An unknown kid may make the service fetch a jwksUri again, but not more often than this. */
const REFETCH_INTERVAL_MS = 30_000

export interface KeyDirectoryOptions {
  cacheMs: number
  jwksRefreshSeconds: number
  now?: () => number
}

/**
 * Finds the public key a call token names: among the issuer's inline keys, or in the JWKS
 * its `jwksUri` publishes (fetched with undici, cached, refetched on an unknown kid at a
 * bounded rate). A key retired in the registry stays refused even if still published.
 */
export class KeyDirectory {
  private readonly issuers = new Map<string, CachedIssuer>()
  private readonly remote = new Map<string, RemoteKeys>()
  private readonly imported = new Map<string, Promise<CryptoKey>>()
  private readonly now: () => number

  constructor(private readonly store: SystemsStore, private readonly options: KeyDirectoryOptions) {
    this.now = options.now ?? Date.now
  }

  async issuer(id: string): Promise<IssuerRecord | undefined> {
    const cached = this.issuers.get(id)
    if (cached && cached.until > this.now()) return cached.record
    const record = await this.store.issuer(id)
    this.issuers.set(id, { record, until: this.now() + this.options.cacheMs })
    return record
  }

  /** Forgets what this instance cached of a system, after it changed here. */
  invalidate(id: string): void {
    this.issuers.delete(id)
    this.remote.delete(id)
  }

  async key(issuer: IssuerRecord, kid: string): Promise<KeyLookup> {
    const registered = issuer.keys.find((k) => k.kid === kid)
    if (registered?.status === 'retired') return { found: false, reason: 'key-retired' }
    let jwk = registered?.jwk
    if (!jwk && issuer.jwksUri) jwk = await this.remoteKey(issuer, kid)
    if (!jwk) return { found: false, reason: 'key-unknown' }
    const alg = jwk.kty === 'EC' ? 'ES256' as const : 'EdDSA' as const
    const cacheKey = JSON.stringify(jwk)
    let key = this.imported.get(cacheKey)
    if (!key) {
      key = importJWK(jwk, alg) as Promise<CryptoKey>
      this.imported.set(cacheKey, key)
    }
    return { found: true, key: await key, alg }
  }

  private async remoteKey(issuer: IssuerRecord, kid: string): Promise<PublicJwk | undefined> {
    const uri = issuer.jwksUri!
    let cached = this.remote.get(issuer.id)
    const stale = !cached || this.now() - cached.fetchedAt > this.options.jwksRefreshSeconds * 1000
    const missing = cached && !cached.keys.some((k) => k.kid === kid) && this.now() - cached.fetchedAt > REFETCH_INTERVAL_MS
    if (stale || missing) {
      const keys = await fetchJwks(uri).catch(() => cached?.keys ?? [])
      cached = { keys, fetchedAt: this.now() }
      this.remote.set(issuer.id, cached)
    }
    return cached!.keys.find((k) => k.kid === kid)
  }
}

async function fetchJwks(uri: string): Promise<PublicJwk[]> {
  const response = await request(uri, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`${uri} answered ${response.statusCode}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.length
    if (size > MAX_JWKS_BYTES) throw new Error(`${uri} is larger than ${MAX_JWKS_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  if (!isJwks(body)) throw new Error(`${uri} is not a JWKS of ES256 or EdDSA public keys`)
  return (body as { keys: PublicJwk[] }).keys
}
