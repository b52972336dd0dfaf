import { sql, type Insertable, type Selectable } from 'kysely'
import type { AuditEntry } from '../../../schemas/transparency.js'
import { auditLeafHash, type AuditLeafFields } from '../../client/transparency.js'
import type { Db } from '../../db/database.js'
import type { AuditLogTable } from '../../db/tables.js'

export type AuditRow = Selectable<AuditLogTable>

const iso = (value: Date | null) => value?.toISOString() ?? null

/** A stored entry as the API shows it; entry n is leaf n - 1 of the transparency log. */
export const rowToEntry = (row: AuditRow): AuditEntry => ({
  id: row.id, leafIndex: row.id - 1, kind: row.kind, at: iso(row.at), caller: row.caller, verified: row.verified, kid: row.kid, jti: row.jti,
  method: row.method, path: row.path, operation: row.operation, bodySha256: row.body_sha256, status: row.status, problemCode: row.problem_code,
  receiptId: row.receipt_id, requestId: row.request_id, callToken: row.call_token, refusals: row.refusals, until: iso(row.until),
  actor: actorOf(row.actor),
})

/** The actor as stored (jsonb keeps no key order), in the one shape the leaf is built from. */
function actorOf(value: unknown): AuditEntry['actor'] {
  if (!value) return null
  const { id, name, draftedBy } = value as { id: string, name: string | null, draftedBy: { id: string, name: string | null } | null }
  return { id, name, draftedBy: draftedBy ? { id: draftedBy.id, name: draftedBy.name } : null }
}

const toRow = (entry: AuditLeafFields): Insertable<AuditLogTable> => ({
  kind: entry.kind, at: entry.at, caller: entry.caller, verified: entry.verified, kid: entry.kid, jti: entry.jti, method: entry.method,
  path: entry.path, operation: entry.operation, body_sha256: entry.bodySha256, status: entry.status, problem_code: entry.problemCode,
  receipt_id: entry.receiptId, request_id: entry.requestId, call_token: entry.callToken, refusals: entry.refusals, until: entry.until,
  actor: entry.actor ? JSON.stringify(entry.actor) : null,
  leaf_hash: auditLeafHash(entry),
})

export const VOID_ENTRY: AuditLeafFields = {
  kind: 'void', at: null, caller: null, verified: null, kid: null, jti: null, method: null, path: null, operation: null, bodySha256: null,
  status: null, problemCode: null, receiptId: null, requestId: null, callToken: null, refusals: null, until: null, actor: null,
}

export interface AuditListFilter {
  caller?: string | undefined
  from?: string | undefined
  to?: string | undefined
  afterId?: number | undefined
  limit: number
}

/** The entries of the audit log. Writers only append; ids come from a sequence, so no writer waits on another. */
export class AuditStore {
  constructor(private readonly db: Db) {}

  /** Appends one entry in the caller's transaction and answers its id. */
  async append(db: Db, entry: AuditLeafFields): Promise<number> {
    const row = await db.insertInto('audit_log').values(toRow(entry)).returning('id').executeTakeFirstOrThrow()
    return row.id
  }

  /**
   * Appends entries gathered off the request path. The batch travels as one JSON parameter
   * that PostgreSQL unpacks into rows: one statement text, prepared once, whatever the count.
   */
  async insert(entries: AuditLeafFields[]): Promise<void> {
    if (entries.length === 0) return
    const rows = entries.map((entry) => {
      const row = toRow(entry)
      return { ...row, actor: entry.actor, leaf_hash: `\\x${(row.leaf_hash as Buffer).toString('hex')}` }
    })
    const columns = sql.join(Object.keys(rows[0]!).map((column) => sql.ref(column)))
    await sql`insert into audit_log (${columns}) select ${columns} from json_populate_recordset(null::audit_log, ${JSON.stringify(rows)}::json)`.execute(this.db)
  }

  async list(filter: AuditListFilter): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id').limit(filter.limit + 1)
    if (filter.caller) query = query.where('caller', '=', filter.caller)
    if (filter.from) query = query.where('at', '>=', new Date(filter.from))
    if (filter.to) query = query.where('at', '<', new Date(filter.to))
    if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
    return query.execute()
  }

  /** Entries with ids from `firstId` to `lastId`, in id order. */
  async range(firstId: number, lastId: number, db: Db = this.db): Promise<AuditRow[]> {
    return db.selectFrom('audit_log').selectAll().where('id', '>=', firstId).where('id', '<=', lastId).orderBy('id').execute()
  }

  /** Up to `limit` entries from id `firstId` on, in id order. */
  async from(firstId: number, limit: number, db: Db = this.db): Promise<AuditRow[]> {
    return db.selectFrom('audit_log').selectAll().where('id', '>=', firstId).orderBy('id').limit(limit).execute()
  }

  async byIds(ids: number[], db: Db = this.db): Promise<AuditRow[]> {
    if (ids.length === 0) return []
    return db.selectFrom('audit_log').selectAll().where('id', 'in', ids).execute()
  }

  async byReceipt(receiptId: string): Promise<AuditRow | undefined> {
    return this.db.selectFrom('audit_log').selectAll().where('receipt_id', '=', receiptId).where('kind', '=', 'call')
      .where('status', '<', 400).orderBy('id').limit(1).executeTakeFirst()
  }

  /** Marks ids that no committed transaction holds as void, so the tree has a leaf for every id. */
  async fillVoids(ids: number[], db: Db): Promise<void> {
    if (ids.length === 0) return
    await db.insertInto('audit_log').values(ids.map((id) => ({ ...toRow(VOID_ENTRY), id }))).execute()
  }

  /** Writes the leaf hash of entries stored before entries carried one. */
  async backfillLeafHashes(rows: { id: number, hash: Buffer }[], db: Db): Promise<void> {
    if (rows.length === 0) return
    await sql`update audit_log set leaf_hash = v.hash from (values ${sql.join(rows.map((r) => sql`(${r.id}::bigint, ${r.hash}::bytea)`))}) as v(id, hash)
      where audit_log.id = v.id and audit_log.leaf_hash is null`.execute(db)
  }

  /** The last id the sequence handed out, to any transaction; 0 before the first. */
  async lastIdTaken(db: Db): Promise<number> {
    const { rows } = await sql<{ last: number }>`select case when is_called then last_value else 0 end as last from audit_log_id_seq`.execute(db)
    return Number(rows[0]!.last)
  }
}
