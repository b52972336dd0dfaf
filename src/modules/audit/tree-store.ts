import { sql, type Selectable } from 'kysely'
import { rangeHash, rangeSubtrees, type Hash, type ProofRanges, type Subtree } from '../../client/merkle.js'
import { auditLeafHash } from '../../client/transparency.js'
import type { Db } from '../../db/database.js'
import type { AuditCheckpointsTable, AuditCosignaturesTable } from '../../db/tables.js'
import { AuditStore, rowToEntry } from './store.js'

export type CheckpointRow = Selectable<AuditCheckpointsTable>
export type CosignatureRow = Selectable<AuditCosignaturesTable>

export interface TreeState {
  treeSize: number
  /** Ids up to this one are final once every transaction older than `pendingXmax` has ended. */
  pendingUpto: number | null
  pendingReady: boolean
}

const key = (subtree: Subtree) => `${subtree.level}/${subtree.index}`

/**
 * The Merkle tree over the audit log: hashes of every perfect subtree above the leaves (a leaf's
 * hash is computed from its entry), the checkpoints the service signed and the cosignatures
 * witnesses sent.
 */
export class TreeStore {
  private readonly entries: AuditStore

  constructor(private readonly db: Db) {
    this.entries = new AuditStore(db)
  }

  async state(db: Db): Promise<TreeState> {
    const { rows: [row] } = await sql<{ tree_size: number, pending_upto: number | null, ready: boolean | null }>`
      select tree_size, pending_upto, pending_xmax <= pg_snapshot_xmin(pg_current_snapshot()) as ready
      from audit_tree_state for update`.execute(db)
    return { treeSize: Number(row!.tree_size), pendingUpto: row!.pending_upto === null ? null : Number(row!.pending_upto), pendingReady: row!.ready === true }
  }

  /** Remembers the ids handed out so far and the transaction horizon after which they are final. */
  async saveState(db: Db, treeSize: number, pending: 'keep' | 'take-new' | 'none'): Promise<void> {
    if (pending === 'keep') {
      await db.updateTable('audit_tree_state').set({ tree_size: treeSize }).execute()
      return
    }
    if (pending === 'none') {
      await db.updateTable('audit_tree_state').set({ tree_size: treeSize, pending_upto: null, pending_xmax: null }).execute()
      return
    }
    // Two statements in this order: every id handed out before the first was handed out to a
    // transaction that already had its id, so that id is below the horizon the second reads.
    const upto = await this.entries.lastIdTaken(db)
    await sql`update audit_tree_state set tree_size = ${treeSize},
      pending_upto = case when ${upto}::bigint > ${treeSize}::bigint then ${upto}::bigint end,
      pending_xmax = case when ${upto}::bigint > ${treeSize}::bigint then pg_snapshot_xmax(pg_current_snapshot()) end`.execute(db)
  }

  /** Hashes of perfect subtrees; leaves are hashed from their entries. Missing ones are absent from the map. */
  async subtreeHashes(subtrees: Subtree[], db: Db = this.db): Promise<Map<string, Hash>> {
    const found = new Map<string, Hash>()
    const leaves = subtrees.filter((s) => s.level === 0)
    const nodes = subtrees.filter((s) => s.level > 0)
    for (const row of await this.entries.byIds(leaves.map((s) => s.index + 1), db)) found.set(`0/${row.id - 1}`, auditLeafHash(rowToEntry(row)))
    if (nodes.length > 0) {
      const rows = await db.selectFrom('audit_tree_nodes').select(['level', 'index', 'hash'])
        .where(sql<boolean>`(level, index) in (${sql.join(nodes.map((n) => sql`(${n.level}::smallint, ${n.index}::bigint)`))})`)
        .execute()
      for (const row of rows) found.set(`${row.level}/${Number(row.index)}`, row.hash)
    }
    return found
  }

  /** The hashes of proof ranges (inclusion or consistency), read in one pass. */
  async rangeHashes(ranges: ProofRanges, db: Db = this.db): Promise<Hash[]> {
    const perRange = ranges.map(([start, end]) => rangeSubtrees(start, end))
    const hashes = await this.subtreeHashes(perRange.flat(), db)
    return perRange.map((subtrees) => rangeHash(subtrees.map((s) => {
      const hash = hashes.get(key(s))
      if (!hash) throw new Error(`the audit tree has no subtree ${key(s)}`)
      return hash
    })))
  }

  async insertNodes(db: Db, nodes: { subtree: Subtree, hash: Hash }[]): Promise<void> {
    for (let i = 0; i < nodes.length; i += 5000) {
      await db.insertInto('audit_tree_nodes')
        .values(nodes.slice(i, i + 5000).map(({ subtree, hash }) => ({ level: subtree.level, index: subtree.index, hash })))
        .execute()
    }
  }

  async insertCheckpoint(db: Db, checkpoint: CheckpointRow): Promise<void> {
    await db.insertInto('audit_checkpoints').values(checkpoint).execute()
  }

  async latestCheckpoint(db: Db = this.db): Promise<CheckpointRow | undefined> {
    return db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst()
  }

  async checkpoint(treeSize: number, db: Db = this.db): Promise<CheckpointRow | undefined> {
    return db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '=', treeSize).executeTakeFirst()
  }

  /** The first checkpoint that covers a leaf: the smallest tree holding it. */
  async firstCheckpointCovering(leafIndex: number): Promise<CheckpointRow | undefined> {
    return this.db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '>', leafIndex).orderBy('tree_size').limit(1).executeTakeFirst()
  }

  async checkpoints(afterSize: number, limit: number): Promise<CheckpointRow[]> {
    return this.db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '>', afterSize).orderBy('tree_size').limit(limit).execute()
  }

  async cosignatures(treeSizes: number[]): Promise<CosignatureRow[]> {
    if (treeSizes.length === 0) return []
    return this.db.selectFrom('audit_cosignatures').selectAll().where('tree_size', 'in', treeSizes).orderBy('tree_size').orderBy('witness').execute()
  }

  async allCosignatures(afterSize: number, limit: number): Promise<CosignatureRow[]> {
    return this.db.selectFrom('audit_cosignatures').selectAll().where('tree_size', '>', afterSize)
      .orderBy('tree_size').orderBy('witness').limit(limit).execute()
  }

  /** Stores a witness's cosignature; a witness cosigns a checkpoint once, and sending the same again changes nothing. */
  async saveCosignature(row: Omit<CosignatureRow, 'received_at'>, db: Db = this.db): Promise<'stored' | 'already'> {
    const inserted = await db.insertInto('audit_cosignatures').values(row)
      .onConflict((oc) => oc.columns(['tree_size', 'witness']).doNothing()).returning('tree_size').executeTakeFirst()
    return inserted ? 'stored' : 'already'
  }
}
