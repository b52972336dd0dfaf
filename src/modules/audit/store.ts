import { createHash } from 'node:crypto'
import { sql, type Selectable } from 'kysely'
import type { Db } from '../../db/database.js'
import type { AuditLogTable, AuditSealsTable } from '../../db/tables.js'

export interface AuditEntryInput {
  at: Date
  caller: string | null
  verified: boolean
  jti: string | null
  method: string
  path: string
  bodySha256: string
  status: number
  problemCode: string | null
  receiptId: string | null
  requestId: string
}

export type AuditRow = Selectable<AuditLogTable>
export type SealRow = Selectable<AuditSealsTable>

/** The hash of an entry's content; what a seal chains and what verification recomputes. */
export function entryHash(entry: AuditEntryInput): string {
  return createHash('sha256').update(JSON.stringify([
    entry.at.toISOString(), entry.caller, entry.verified, entry.jti, entry.method, entry.path,
    entry.bodySha256, entry.status, entry.problemCode, entry.receiptId, entry.requestId,
  ])).digest('base64url')
}

export const rowToEntry = (row: AuditRow): AuditEntryInput => ({
  at: row.at, caller: row.caller, verified: row.verified, jti: row.jti, method: row.method, path: row.path,
  bodySha256: row.body_sha256, status: row.status, problemCode: row.problem_code, receiptId: row.receipt_id, requestId: row.request_id,
})

/** A seal's hash: the previous seal's hash chained with the entry hashes, in id order. */
export function sealHash(previousHash: string, rowHashes: string[]): string {
  const hash = createHash('sha256').update(previousHash)
  for (const rowHash of rowHashes) hash.update('\n').update(rowHash)
  return hash.digest('base64url')
}

export const GENESIS_HASH = 'ttn-interop audit log'
const SEAL_LOCK = 0x7474_6e01

export interface SealContent {
  id: number
  sealedAt: string
  entries: number
  firstId: number
  lastId: number
  previousHash: string
  hash: string
}

export class AuditStore {
  constructor(private readonly db: Db) {}

  async insert(entries: AuditEntryInput[]): Promise<void> {
    if (entries.length === 0) return
    await this.db.insertInto('audit_log').values(entries.map((e) => ({
      at: e.at, caller: e.caller, verified: e.verified, jti: e.jti, method: e.method, path: e.path,
      body_sha256: e.bodySha256, status: e.status, problem_code: e.problemCode, receipt_id: e.receiptId,
      request_id: e.requestId, row_hash: entryHash(e),
    }))).execute()
  }

  async list(filter: { caller?: string | undefined, from?: string | undefined, to?: string | undefined, afterId?: number | undefined, limit: number }): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id').limit(filter.limit + 1)
    if (filter.caller) query = query.where('caller', '=', filter.caller)
    if (filter.from) query = query.where('at', '>=', new Date(filter.from))
    if (filter.to) query = query.where('at', '<', new Date(filter.to))
    if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
    return query.execute()
  }

  /**
   * Seals the oldest unsealed entries (at most `max`) into the next signed batch. Entries are
   * written freely by every instance; only sealing is serialised, by an advisory lock, and
   * an entry that commits late simply joins a later seal.
   */
  async sealNext(sign: (content: SealContent) => Promise<string>, max = 10_000): Promise<SealContent | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const { rows: [lock] } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as locked`.execute(trx)
      if (!lock?.locked) return undefined
      const rows = await trx.selectFrom('audit_log').select(['id', 'row_hash'])
        .where('seal_id', 'is', null).orderBy('id').limit(max).execute()
      if (rows.length === 0) return undefined
      const previous = await trx.selectFrom('audit_seals').select(['id', 'hash']).orderBy('id', 'desc').limit(1).executeTakeFirst()
      const content: SealContent = {
        id: (previous?.id ?? 0) + 1,
        sealedAt: new Date().toISOString(),
        entries: rows.length,
        firstId: rows[0]!.id,
        lastId: rows[rows.length - 1]!.id,
        previousHash: previous?.hash ?? GENESIS_HASH,
        hash: sealHash(previous?.hash ?? GENESIS_HASH, rows.map((r) => r.row_hash)),
      }
      await trx.insertInto('audit_seals').values({
        id: content.id, sealed_at: content.sealedAt, entries: content.entries,
        previous_hash: content.previousHash, hash: content.hash, jws: await sign(content),
      }).execute()
      await trx.updateTable('audit_log').set({ seal_id: content.id }).where('id', 'in', rows.map((r) => r.id)).execute()
      return content
    })
  }

  async seals(afterId: number, limit: number): Promise<SealRow[]> {
    return this.db.selectFrom('audit_seals').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute()
  }

  async sealedEntries(sealId: number): Promise<AuditRow[]> {
    return this.db.selectFrom('audit_log').selectAll().where('seal_id', '=', sealId).orderBy('id').execute()
  }

  async unsealedEntries(afterId: number, limit: number): Promise<AuditRow[]> {
    return this.db.selectFrom('audit_log').selectAll().where('seal_id', 'is', null).where('id', '>', afterId).orderBy('id').limit(limit).execute()
  }
}
