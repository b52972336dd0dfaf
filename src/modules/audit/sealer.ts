import { SignJWT } from 'jose'
import { sql } from 'kysely'
import { TreeFrontier, rangeSubtrees } from '../../client/merkle.js'
import type { SigningKey } from '../../client/keys.js'
import { CHECKPOINT_TYPE, auditLeafHash, encodeHash, type CheckpointClaims } from '../../client/transparency.js'
import type { Db } from '../../db/database.js'
import { AuditStore, rowToEntry } from './store.js'
import { TreeStore } from './tree-store.js'

const SEAL_LOCK = 0x7474_6e01

export const logOrigin = (serviceId: string) => `${serviceId}/audit`

export const signCheckpoint = (key: SigningKey) => (claims: CheckpointClaims) =>
  new SignJWT({ ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHECKPOINT_TYPE }).sign(key.key)

export interface SealOutcome {
  treeSize: number
  appended: number
  voids: number
}

/**
 * Appends settled audit entries to the Merkle tree and signs a checkpoint of the new size.
 *
 * Writers never wait for this: an entry takes its id from a sequence in its own transaction.
 * A round remembers the last id handed out and the transaction horizon of that moment; a later
 * round, once every transaction older than the horizon has ended, appends the entries up to
 * that id in id order. An id no committed transaction holds (a rolled-back write) becomes a
 * void leaf, so entry n is always leaf n - 1. Only one instance seals at a time (advisory lock).
 */
export class AuditSealer {
  private readonly entries: AuditStore
  private readonly tree: TreeStore

  constructor(
    private readonly db: Db,
    private readonly serviceId: string,
    private readonly sign: (claims: CheckpointClaims) => Promise<string>,
    private readonly kid: string,
    private readonly maxLeavesPerRound = 20_000,
  ) {
    this.entries = new AuditStore(db)
    this.tree = new TreeStore(db)
  }

  /** One round; undefined when another instance holds the sealing lock. */
  async round(): Promise<SealOutcome | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const { rows: [lock] } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as locked`.execute(trx)
      if (!lock?.locked) return undefined
      const state = await this.tree.state(trx)
      let { treeSize } = state
      let appended = 0
      let voids = 0
      if (state.pendingUpto !== null && state.pendingReady && state.pendingUpto > treeSize) {
        const upto = Math.min(state.pendingUpto, treeSize + this.maxLeavesPerRound)
        ;({ voids } = await this.append(trx, treeSize, upto))
        appended = upto - treeSize
        treeSize = upto
      }
      const more = state.pendingUpto !== null && state.pendingUpto > treeSize
      await this.tree.saveState(trx, treeSize, more ? 'keep' : 'take-new')
      return { treeSize, appended, voids }
    })
  }

  /** What the sealing job does each interval: one round, and more while a backlog remains. */
  async tick(): Promise<void> {
    for (let rounds = 0; rounds < 100; rounds++) {
      const outcome = await this.round()
      if (!outcome || outcome.appended < this.maxLeavesPerRound) return
    }
  }

  /** Rounds until the tree holds every entry that had an id when it was called (or another instance seals). */
  async catchUp(): Promise<SealOutcome | undefined> {
    const target = await this.entries.lastIdTaken(this.db)
    let outcome: SealOutcome | undefined
    for (let rounds = 0; rounds < 200; rounds++) {
      outcome = await this.round()
      if (!outcome || outcome.treeSize >= target) return outcome
      // A transaction that holds ids is still open; it ends within the statement timeout.
      if (outcome.appended === 0 && rounds > 1) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return outcome
  }

  private async append(trx: Db, from: number, upto: number): Promise<{ voids: number }> {
    const rows = await this.entries.range(from + 1, upto, trx)
    const present = new Set(rows.map((r) => r.id))
    const missing: number[] = []
    for (let id = from + 1; id <= upto; id++) if (!present.has(id)) missing.push(id)
    await this.entries.fillVoids(missing, trx)
    const all = missing.length > 0 ? await this.entries.range(from + 1, upto, trx) : rows

    const edge = rangeSubtrees(0, from)
    const known = await this.tree.subtreeHashes(edge, trx)
    const frontier = TreeFrontier.of(from, edge.map((s) => known.get(`${s.level}/${s.index}`)!))
    const leaves = all.map((row) => ({ id: row.id, stored: row.leaf_hash, hash: auditLeafHash(rowToEntry(row)) }))
    await this.tree.insertNodes(trx, leaves.flatMap((leaf) => frontier.append(leaf.hash)))
    await this.entries.backfillLeafHashes(leaves.filter((leaf) => leaf.stored === null), trx)

    const previous = await this.tree.latestCheckpoint(trx)
    const claims: CheckpointClaims = {
      iss: this.serviceId,
      origin: logOrigin(this.serviceId),
      treeSize: upto,
      rootHash: encodeHash(frontier.root()),
      signedAt: new Date().toISOString(),
      previous: previous ? { treeSize: previous.tree_size, rootHash: encodeHash(previous.root_hash) } : null,
    }
    await this.tree.insertCheckpoint(trx, {
      tree_size: upto, root_hash: frontier.root(), signed_at: new Date(claims.signedAt), kid: this.kid, jws: await this.sign(claims),
    })
    return { voids: missing.length }
  }
}
