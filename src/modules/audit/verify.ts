import type { JSONWebKeySet } from 'jose'
import { TreeFrontier, type Hash } from '../../client/merkle.js'
import { auditLeafHash, encodeHash, verifyCheckpoint, verifyCosignature, type CheckpointClaims } from '../../client/transparency.js'
import type { WitnessState } from '../../client/witness.js'
import type { Db } from '../../db/database.js'
import { AuditStore, rowToEntry } from './store.js'
import { TreeStore, type CheckpointRow } from './tree-store.js'


export interface AuditVerification {
  ok: boolean
  /** Leaves recomputed from the entries and found in order. */
  entries: number
  checkpoints: number
  cosignatures: number
  witnessStates: number
  /** Entries written after the latest checkpoint, not yet covered by one. */
  unsealedEntries: number
  /** Everything found wrong, most specific first within each check; at most 50. */
  problems: string[]
}

const MAX_PROBLEMS = 50
const PAGE = 5000

/**
 * Checks the audit log in a database against public material only: the service's public keys
 * and, for what the database alone cannot prove, checkpoints kept outside it by witnesses.
 *
 * - every entry id from 1 is present (a gap is a deleted entry) and each entry's content still
 *   gives the leaf hash written with it (an edited entry);
 * - the tree rebuilt from the entries gives, at every checkpoint's size, the root that
 *   checkpoint states (an entry changed, inserted or deleted together with its hash), and the
 *   stored tree nodes that proofs are built from;
 * - every checkpoint verifies with the service keys, states what its row says, and names the
 *   one before it (a rewritten or deleted checkpoint);
 * - every cosignature in the database verifies with its witness's registered key and matches
 *   the checkpoint of its size;
 * - every witness state given: its checkpoint, signed by the service, has the root the entries
 *   give at its size (a history rewritten and re-sealed), and the log is not shorter (a truncated tail).
 */
export async function verifyAuditLog(db: Db, serviceJwks: JSONWebKeySet, witnessStates: WitnessState[] = []): Promise<AuditVerification> {
  const entries = new AuditStore(db)
  const tree = new TreeStore(db)
  const result: AuditVerification = { ok: true, entries: 0, checkpoints: 0, cosignatures: 0, witnessStates: 0, unsealedEntries: 0, problems: [] }
  const problem = (text: string) => {
    result.ok = false
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(text)
  }

  // Checkpoints, in size order, checked one by one as the rebuilt tree reaches each size.
  const signed = new Map<number, CheckpointClaims>()
  let previous: CheckpointRow | undefined
  for (let after = 0; ;) {
    const rows = await tree.checkpoints(after, 1000)
    if (rows.length === 0) break
    for (const row of rows) {
      try {
        const claims = await verifyCheckpoint(row.jws, serviceJwks)
        if (claims.treeSize !== row.tree_size || claims.rootHash !== encodeHash(row.root_hash)) problem(`checkpoint ${row.tree_size} was rewritten: its row differs from what the service signed`)
        const expected = previous ? { treeSize: previous.tree_size, rootHash: encodeHash(previous.root_hash) } : null
        if (JSON.stringify(claims.previous) !== JSON.stringify(expected)) {
          problem(claims.previous
            ? `checkpoint ${claims.previous.treeSize}, named by checkpoint ${row.tree_size} as the one before it, is missing or was rewritten`
            : `checkpoint ${row.tree_size} was signed as the first, but checkpoint ${previous!.tree_size} comes before it`)
        }
        signed.set(row.tree_size, claims)
        result.checkpoints++
      } catch {
        problem(`checkpoint ${row.tree_size} does not verify with the service keys`)
      }
      previous = row
    }
    after = rows.at(-1)!.tree_size
  }

  // Outside evidence: what each witness saw, signed by the service.
  const witnessed: { witness: string, claims: CheckpointClaims }[] = []
  for (const state of witnessStates) {
    try {
      witnessed.push({ witness: state.witness, claims: await verifyCheckpoint(state.checkpoint, serviceJwks) })
      result.witnessStates++
    } catch {
      problem(`the checkpoint kept by witness ${state.witness} does not verify with the service keys`)
    }
  }

  const rootsAt = new Map<number, Hash>()
  const wanted = new Set<number>([...signed.keys(), ...witnessed.map((w) => w.claims.treeSize)])
  const frontier = TreeFrontier.empty()
  const latestSize = previous?.tree_size ?? 0
  for (let nextId = 1; ;) {
    const rows = await entries.from(nextId, PAGE, db)
    if (rows.length === 0) break
    const completed: { level: number, index: number, hash: Hash }[] = []
    for (const row of rows) {
      while (nextId < row.id) {
        problem(`entry ${nextId} was deleted`)
        frontier.append(Buffer.alloc(32))
        nextId++
      }
      const hash = auditLeafHash(rowToEntry(row))
      if (row.leaf_hash && !row.leaf_hash.equals(hash)) problem(`entry ${row.id} was altered after it was written`)
      for (const node of frontier.append(hash)) if (frontier.treeSize <= latestSize) completed.push({ ...node.subtree, hash: node.hash })
      if (wanted.has(frontier.treeSize)) rootsAt.set(frontier.treeSize, frontier.root())
      if (frontier.treeSize > latestSize) result.unsealedEntries++
      else result.entries++
      nextId++
    }
    const stored = await tree.subtreeHashes(completed, db)
    for (const node of completed) {
      if (!stored.get(`${node.level}/${node.index}`)?.equals(node.hash)) problem(`the tree node ${node.level}/${node.index} that proofs are built from does not match the entries`)
    }
    if (rows.length < PAGE) break
  }

  for (const [size, claims] of signed) {
    const root = rootsAt.get(size)
    if (!root) problem(`checkpoint ${size} covers ${size} entries but the log holds ${frontier.treeSize}: its tail was removed`)
    else if (encodeHash(root) !== claims.rootHash) problem(`the entries up to ${size} do not give the root checkpoint ${size} signed: an entry up to ${size} was changed, inserted or deleted`)
  }

  for (let after = 0; ;) {
    const rows = await tree.allCosignatures(after, 1000)
    if (rows.length === 0) break
    for (const row of rows) {
      const claims = signed.get(row.tree_size)
      const keys = await witnessKeys(db, row.witness)
      try {
        const cosigned = await verifyCosignature(row.jws, keys)
        if (cosigned.iss !== row.witness || cosigned.treeSize !== row.tree_size) problem(`the cosignature of ${row.witness} at ${row.tree_size} was rewritten`)
        else if (!claims) problem(`checkpoint ${row.tree_size}, cosigned by ${row.witness}, is missing`)
        else if (cosigned.rootHash !== claims.rootHash) problem(`${row.witness} cosigned another root at ${row.tree_size} than the checkpoint there: the log was re-sealed`)
        else result.cosignatures++
      } catch {
        problem(`the cosignature of ${row.witness} at ${row.tree_size} does not verify with its registered keys`)
      }
    }
    after = rows.at(-1)!.tree_size
    if (rows.length < 1000) break
  }

  for (const { witness, claims } of witnessed) {
    const root = rootsAt.get(claims.treeSize)
    if (!root) problem(`witness ${witness} saw ${claims.treeSize} entries but the log holds ${frontier.treeSize}: its tail was removed`)
    else if (encodeHash(root) !== claims.rootHash) problem(`witness ${witness} saw another root at ${claims.treeSize} than the entries give: the log was rewritten after it saw it`)
    const own = signed.get(claims.treeSize)
    if (root && !own && claims.treeSize <= latestSize) problem(`checkpoint ${claims.treeSize}, seen by witness ${witness}, is missing`)
  }
  return result
}

async function witnessKeys(db: Db, witness: string): Promise<JSONWebKeySet> {
  const rows = await db.selectFrom('system_keys').select('jwk').where('system_id', '=', witness).execute()
  return { keys: rows.map((r) => r.jwk as JSONWebKeySet['keys'][number]) }
}

