import { SignJWT, compactVerify, createLocalJWKSet, type JWK } from 'jose'
import type { SigningKey } from '../../client/keys.js'
import { GENESIS_HASH, entryHash, rowToEntry, sealHash, type AuditStore, type SealContent } from './store.js'

export const SEAL_TYPE = 'ttn-audit-seal+jwt'

export const signSeal = (key: SigningKey) => (content: SealContent) =>
  new SignJWT({ ...content })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SEAL_TYPE })
    .sign(key.key)

export interface AuditVerification {
  ok: boolean
  seals: number
  sealedEntries: number
  unsealedEntries: number
  /** The first thing found wrong: the entry when one can be named, else the seal. */
  problem?: { entryId?: number, sealId?: number, reason: string }
}

/**
 * Checks the whole audit log: every entry against its own hash, every seal's chain of
 * entry hashes, the chain from seal to seal, and every seal's signature by the service.
 */
export async function verifyAuditLog(store: AuditStore, serviceJwks: { keys: JWK[] }): Promise<AuditVerification> {
  const keys = createLocalJWKSet(serviceJwks)
  const result: AuditVerification = { ok: true, seals: 0, sealedEntries: 0, unsealedEntries: 0 }
  const fail = (problem: NonNullable<AuditVerification['problem']>) => ({ ...result, ok: false, problem })
  let previousHash = GENESIS_HASH
  let previousId = 0
  for (;;) {
    const seals = await store.seals(previousId, 100)
    if (seals.length === 0) break
    for (const seal of seals) {
      if (seal.id !== previousId + 1) return fail({ sealId: previousId + 1, reason: `seal ${previousId + 1} is missing` })
      if (seal.previous_hash !== previousHash) return fail({ sealId: seal.id, reason: `seal ${seal.id} does not chain to seal ${previousId}` })
      const rows = await store.sealedEntries(seal.id)
      for (const row of rows) {
        if (entryHash(rowToEntry(row)) !== row.row_hash) return fail({ entryId: row.id, sealId: seal.id, reason: `entry ${row.id} was altered after it was written` })
      }
      if (rows.length !== seal.entries) return fail({ sealId: seal.id, reason: `seal ${seal.id} covers ${seal.entries} entries but ${rows.length} are there` })
      if (sealHash(seal.previous_hash, rows.map((r) => r.row_hash)) !== seal.hash) {
        return fail({ sealId: seal.id, reason: `the entries of seal ${seal.id} are not the ones it sealed` })
      }
      try {
        const { payload } = await compactVerify(seal.jws, keys)
        const signed = JSON.parse(new TextDecoder().decode(payload)) as SealContent
        if (signed.id !== seal.id || signed.hash !== seal.hash || signed.previousHash !== seal.previous_hash || signed.entries !== seal.entries) {
          return fail({ sealId: seal.id, reason: `seal ${seal.id} differs from what the service signed` })
        }
      } catch {
        return fail({ sealId: seal.id, reason: `the signature of seal ${seal.id} does not verify with the service keys` })
      }
      result.seals++
      result.sealedEntries += rows.length
      previousHash = seal.hash
      previousId = seal.id
    }
  }
  let afterId = 0
  for (;;) {
    const rows = await store.unsealedEntries(afterId, 1000)
    if (rows.length === 0) break
    for (const row of rows) {
      if (entryHash(rowToEntry(row)) !== row.row_hash) return fail({ entryId: row.id, reason: `entry ${row.id} was altered after it was written` })
    }
    result.unsealedEntries += rows.length
    afterId = rows[rows.length - 1]!.id
  }
  return result
}
