import { importJWK, type CryptoKey } from 'jose'
import { LRUCache } from 'lru-cache'
import type { PublicJwk } from '../../schemas/trust.js'
import { Jwks } from '../../schemas/trust.js'
import type { OutboundClient } from '../http/outbound.js'
import { compileValidator } from '../http/validation.js'
import type { IssuerRecord, SystemsStore } from '../modules/systems/store.js'

export type KeyLookup =
  | { found: true, key: CryptoKey, alg: 'ES256' | 'EdDSA' }
  | { found: false, reason: 'key-unknown' | 'key-retired' }

interface RemoteKeys { keys: PublicJwk[], fetchedAt: number, failed: boolean }

const isJwks = compileValidator(Jwks)
/** An unknown kid may make the service fetch a jwksUri again, but not more often than this; a failed fetch waits as long. */
export const JWKS_REFETCH_INTERVAL_MS = 30_000
/** Bounds on what an instance remembers, whatever names and keys callers send. */
const MAX_ISSUERS = 2_000
const MAX_IMPORTED_KEYS = 5_000

export interface KeyDirectoryOptions {
  cacheMs: number
  jwksRefreshSeconds: number
  outbound: OutboundClient
  now?: () => number
}

/**
 * Finds the public key a call token names: among the issuer's inline keys, or in the JWKS
 * its `jwksUri` publishes. A jwksUri is fetched only for a registered issuer, through the
 * outbound client (public addresses only, timeouts, size cap), at most one fetch in flight per
 * issuer, refetched on an unknown kid at most every 30 s, and a failure is remembered as long:
 * forged tokens cannot make the service call out. A key retired in the registry stays refused
 * even if still published. Every cache is bounded.
 */
export class KeyDirectory {
  private readonly issuers: LRUCache<string, { record: IssuerRecord | null }>
  private readonly remote = new LRUCache<string, RemoteKeys>({ max: MAX_ISSUERS })
  private readonly fetching = new Map<string, Promise<RemoteKeys>>()
  private readonly imported = new LRUCache<string, Promise<CryptoKey>>({ max: MAX_IMPORTED_KEYS })
  private readonly now: () => number

  constructor(private readonly store: SystemsStore, private readonly options: KeyDirectoryOptions) {
    this.now = options.now ?? Date.now
    // Unknown names are remembered too (as null), so a flood of random issuers costs one query each per cacheMs at most, in bounded memory.
    this.issuers = new LRUCache({ max: MAX_ISSUERS, ttl: Math.max(1, options.cacheMs), ttlAutopurge: false, perf: { now: () => this.now() } })
  }

  async issuer(id: string): Promise<IssuerRecord | undefined> {
    const cached = this.options.cacheMs > 0 ? this.issuers.get(id) : undefined
    if (cached) return cached.record ?? undefined
    const record = await this.store.issuer(id)
    if (this.options.cacheMs > 0) this.issuers.set(id, { record: record ?? null })
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

  /** The keys a system publishes at its jwksUri now, fetched through the same rules. */
  async publishedKeys(issuer: IssuerRecord): Promise<PublicJwk[]> {
    return (await this.refresh(issuer, true)).keys
  }

  private async remoteKey(issuer: IssuerRecord, kid: string): Promise<PublicJwk | undefined> {
    const cached = this.remote.get(issuer.id)
    const age = cached ? this.now() - cached.fetchedAt : Infinity
    const stale = age > this.options.jwksRefreshSeconds * 1000
    const missing = cached !== undefined && !cached.keys.some((k) => k.kid === kid)
    const due = !cached || (cached.failed || missing ? age > JWKS_REFETCH_INTERVAL_MS : stale)
    const keys = due ? await this.refresh(issuer, false) : cached!
    return keys.keys.find((k) => k.kid === kid)
  }

  private refresh(issuer: IssuerRecord, force: boolean): Promise<RemoteKeys> {
    const inFlight = this.fetching.get(issuer.id)
    if (inFlight) return inFlight
    const previous = this.remote.get(issuer.id)
    if (!force && previous && this.now() - previous.fetchedAt <= JWKS_REFETCH_INTERVAL_MS && previous.failed) return Promise.resolve(previous)
    const fetched = this.fetchJwks(issuer.jwksUri!)
      .then((keys): RemoteKeys => ({ keys, fetchedAt: this.now(), failed: false }))
      .catch((): RemoteKeys => ({ keys: previous?.keys ?? [], fetchedAt: this.now(), failed: true }))
      .then((result) => {
        this.remote.set(issuer.id, result)
        return result
      })
      .finally(() => this.fetching.delete(issuer.id))
    this.fetching.set(issuer.id, fetched)
    return fetched
  }

  private async fetchJwks(uri: string): Promise<PublicJwk[]> {
    const answer = await this.options.outbound.call(uri, { method: 'GET', headers: { accept: 'application/jwk-set+json, application/json' } })
    if (answer.status !== 200) throw new Error(`${uri} answered ${answer.status}`)
    const body: unknown = JSON.parse(answer.body.toString('utf8'))
    if (!isJwks(body)) throw new Error(`${uri} is not a JWKS of ES256 or EdDSA public keys`)
    return (body as { keys: PublicJwk[] }).keys
  }
}
