import type { JWK } from 'jose'
import type { Static } from 'typebox'
import type { ServiceKey } from '../../../schemas/trust.js'
import type { ServiceKeys } from '../../auth/service-keys.js'
import type { SigningKey } from '../../client/keys.js'
import type { Db } from '../../db/database.js'

/** A published service key, with what it is for now and when it signed. */
export type PublishedServiceKey = Static<typeof ServiceKey>

const publicMembers = (jwk: JWK) => ({
  kty: jwk.kty as 'EC' | 'OKP', crv: jwk.crv as 'P-256' | 'Ed25519', x: jwk.x!, ...(jwk.y ? { y: jwk.y } : {}), kid: jwk.kid!,
  alg: (jwk.kty === 'EC' ? 'ES256' : 'EdDSA') as 'ES256' | 'EdDSA', use: 'sig' as const,
})

/**
 * Every key the service ever signed with, recorded when an instance starts signing with it:
 * the JWKS keeps publishing it after it leaves every key file, so nothing it signed (receipts,
 * checkpoints, webhook calls) becomes unverifiable.
 */
export class ServiceKeyHistory {
  constructor(private readonly db: Db) {}

  async record(key: SigningKey): Promise<void> {
    await this.db.insertInto('service_keys').values({ kid: key.kid, alg: key.alg, jwk: JSON.stringify(key.publicJwk) })
      .onConflict((oc) => oc.column('kid').doNothing()).execute()
  }

  /**
   * The published set: the key this instance signs with first, then every other key newest
   * first, each retired key valid until the next one started signing.
   */
  async published(keys: ServiceKeys): Promise<{ keys: PublishedServiceKey[] }> {
    const rows = await this.db.selectFrom('service_keys').select(['kid', 'jwk', 'first_used_at']).orderBy('first_used_at').orderBy('kid').execute()
    const since = new Map(rows.map((row, i) => [row.kid, { from: row.first_used_at.toISOString(), until: rows[i + 1]?.first_used_at.toISOString() ?? null }]))
    const known = new Map<string, JWK>(keys.jwks.keys.map((jwk) => [jwk.kid!, jwk]))
    for (const row of rows) if (!known.has(row.kid)) known.set(row.kid, row.jwk as JWK)
    const published = [...known.values()].map((jwk): PublishedServiceKey => {
      const current = jwk.kid === keys.current.kid
      const period = since.get(jwk.kid!)
      return { ...publicMembers(jwk), status: current ? 'active' : 'retired', validFrom: period?.from ?? null, validUntil: current ? null : period?.until ?? null }
    })
    const rank = (key: PublishedServiceKey) => (key.status === 'active' ? 'z' : key.validFrom ?? '')
    return { keys: published.sort((a, b) => (rank(a) < rank(b) ? 1 : rank(a) > rank(b) ? -1 : 0)) }
  }
}
