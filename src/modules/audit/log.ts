import type { Static } from 'typebox'
import type { Checkpoint, ConsistencyProof, InclusionProof } from '../../../schemas/transparency.js'
import { consistencyRanges, inclusionRanges } from '../../client/merkle.js'
import { COSIGNATURE_TYPE, decodeHash, encodeHash } from '../../client/transparency.js'
import type { Caller } from '../../auth/call-token.js'
import type { Db } from '../../db/database.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import { AuditStore, rowToEntry, type AuditRow } from './store.js'
import { TreeStore, type CheckpointRow, type CosignatureRow } from './tree-store.js'

type CheckpointView = Static<typeof Checkpoint>

const toCosignature = (row: CosignatureRow) => ({ witness: row.witness, kid: row.kid, cosignedAt: row.cosigned_at.toISOString(), jws: row.jws })

const toCheckpoint = (row: CheckpointRow, cosignatures: CosignatureRow[]): CheckpointView => ({
  treeSize: row.tree_size, rootHash: encodeHash(row.root_hash), signedAt: row.signed_at.toISOString(), kid: row.kid, jws: row.jws,
  cosignatures: cosignatures.filter((c) => c.tree_size === row.tree_size).map(toCosignature),
})

/** What a witness's cosignature must say to be kept. */
export interface CosignatureClaimsSeen {
  iss: unknown
  aud: unknown
  origin: unknown
  treeSize: unknown
  rootHash: unknown
  iat: unknown
}

/** The read side of the transparency log, and the rules for what a witness may add to it. */
export class TransparencyLog {
  private readonly tree: TreeStore
  private readonly entries: AuditStore

  constructor(db: Db, private readonly serviceId: string, private readonly origin: string) {
    this.tree = new TreeStore(db)
    this.entries = new AuditStore(db)
  }

  async latest(): Promise<CheckpointView> {
    const row = await this.tree.latestCheckpoint()
    if (!row) throw new HttpProblem('log-entry-pending', 'the log has no checkpoint yet; the first is signed once the first calls are sealed', { headers: { 'retry-after': '10' } })
    return toCheckpoint(row, await this.tree.cosignatures([row.tree_size]))
  }

  async page(after: number, limit: number): Promise<{ items: CheckpointView[], nextCursor: string | null }> {
    const rows = await this.tree.checkpoints(after, limit + 1)
    const page = rows.slice(0, limit)
    const cosignatures = await this.tree.cosignatures(page.map((r) => r.tree_size))
    return { items: page.map((r) => toCheckpoint(r, cosignatures)), nextCursor: rows.length > limit ? String(page.at(-1)!.tree_size) : null }
  }

  async consistency(from: number, to: number): Promise<Static<typeof ConsistencyProof>> {
    const latest = await this.tree.latestCheckpoint()
    if (from > to) throw new HttpProblem('rule-violated', `from (${from}) must not exceed to (${to})`)
    if (!latest || to > latest.tree_size) throw notFound(`a checkpoint of ${to} leaves (the latest has ${latest?.tree_size ?? 0})`)
    const proof = await this.tree.rangeHashes(consistencyRanges(from, to))
    return { from, to, proof: proof.map(encodeHash) }
  }

  /** The proof that an entry is in the tree of a checkpoint: the given size, or the latest. */
  async inclusion(row: AuditRow, treeSize?: number): Promise<Static<typeof InclusionProof>> {
    const leafIndex = row.id - 1
    const checkpoint = treeSize !== undefined ? await this.tree.checkpoint(treeSize) : await this.tree.latestCheckpoint()
    if (treeSize !== undefined && !checkpoint) throw notFound(`a checkpoint of ${treeSize} leaves`)
    if (!checkpoint || checkpoint.tree_size <= leafIndex) {
      throw new HttpProblem('log-entry-pending', `entry ${row.id} is not in a signed checkpoint yet; retry after the next one`, { headers: { 'retry-after': '10' } })
    }
    const proof = await this.tree.rangeHashes(inclusionRanges(leafIndex, checkpoint.tree_size))
    return {
      leafIndex, treeSize: checkpoint.tree_size, proof: proof.map(encodeHash), entry: rowToEntry(row),
      checkpoint: toCheckpoint(checkpoint, await this.tree.cosignatures([checkpoint.tree_size])),
    }
  }

  /** The proof for a caller who may see the entry: central sees every entry, another system those of its own verified calls. */
  async inclusionFor(caller: Caller, row: AuditRow, treeSize: number | undefined, refusal: string): Promise<Static<typeof InclusionProof>> {
    if (caller.role !== 'central' && !(row.verified && row.caller === caller.systemId)) throw new HttpProblem('scope-forbidden', refusal)
    return this.inclusion(row, treeSize)
  }

  async entry(leafIndex: number): Promise<AuditRow> {
    const [row] = await this.entries.byIds([leafIndex + 1])
    if (!row) throw notFound(`leaf ${leafIndex} of the audit log`)
    return row
  }

  async entryOfReceipt(receiptId: string): Promise<AuditRow | undefined> {
    return this.entries.byReceipt(receiptId)
  }

  /**
   * Keeps a witness's cosignature once its signature verified: it must name the caller, this
   * service and log, and a checkpoint the service signed, with the same root. A different root
   * means the witness saw another history at that size: refused loudly, never stored.
   */
  async acceptCosignature(db: Db, caller: string, claims: CosignatureClaimsSeen, kid: string, jws: string, typ: string | undefined): Promise<{ cosignature: ReturnType<typeof toCosignature>, stored: boolean }> {
    const wrong = (detail: string) => new HttpProblem('cosignature-invalid', detail, { errors: [{ in: 'body', pointer: '/cosignature', message: detail }] })
    if (typ !== COSIGNATURE_TYPE) throw wrong(`the cosignature's typ must be ${COSIGNATURE_TYPE}`)
    if (claims.iss !== caller) throw wrong(`the cosignature is by ${String(claims.iss)}, not by the caller ${caller}`)
    if (claims.aud !== this.serviceId) throw wrong(`the cosignature's aud must be ${this.serviceId}`)
    if (claims.origin !== this.origin) throw wrong(`the cosignature is of log ${String(claims.origin)}, not ${this.origin}`)
    if (!Number.isSafeInteger(claims.treeSize) || !Number.isSafeInteger(claims.iat) || typeof claims.rootHash !== 'string') {
      throw wrong('the cosignature needs treeSize, rootHash and iat')
    }
    const treeSize = claims.treeSize as number
    const checkpoint = await this.tree.checkpoint(treeSize, db)
    if (!checkpoint) throw notFound(`a checkpoint of ${treeSize} leaves`)
    let root: Buffer
    try {
      root = decodeHash(claims.rootHash)
    } catch {
      throw wrong('rootHash is not a base64url SHA-256 hash')
    }
    if (!root.equals(checkpoint.root_hash)) {
      throw new HttpProblem('checkpoint-mismatch', `${caller} cosigned a root for ${treeSize} leaves that is not the one this service signed: ` +
        'the witness saw another history of the log')
    }
    const row = { tree_size: treeSize, witness: caller, kid, cosigned_at: new Date((claims.iat as number) * 1000), jws }
    const stored = await this.tree.saveCosignature(row, db) === 'stored'
    return { cosignature: toCosignature({ ...row, received_at: new Date() }), stored }
  }
}
