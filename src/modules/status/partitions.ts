import { sql } from 'kysely'
import type { Db } from '../../db/database.js'

const PARENT = 'device_status_history'
const PREFIX = `${PARENT}_`
/** Any fixed number: it names the advisory lock every instance takes to create partitions. */
const PARTITION_LOCK = 740_009

/** The calendar month (UTC) of an instant, as `YYYYMM`. */
export const monthOf = (instant: Date): string =>
  `${instant.getUTCFullYear()}${String(instant.getUTCMonth() + 1).padStart(2, '0')}`

const monthStart = (month: string, offset = 0) =>
  new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4, 6)) - 1 + offset, 1))

/**
 * Monthly partitions of the status history. Each instance remembers the months it has made
 * sure of, so a batch costs a lookup in a set; creating one takes an advisory lock so that
 * instances racing for the same new month do not fail on each other.
 */
export class HistoryPartitions {
  private readonly ready = new Set<string>()

  constructor(private readonly db: Db) {}

  async ensure(months: Iterable<string>): Promise<void> {
    const missing = [...new Set(months)].filter((m) => !this.ready.has(m)).sort()
    if (missing.length === 0) return
    await this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${PARTITION_LOCK})`.execute(trx)
      for (const month of missing) {
        await sql`create table if not exists ${sql.table(PREFIX + month)} partition of ${sql.table(PARENT)}
          for values from (${sql.lit(monthStart(month).toISOString())}) to (${sql.lit(monthStart(month, 1).toISOString())})`.execute(trx)
      }
    })
    for (const month of missing) this.ready.add(month)
  }

  /** Forgets what this instance knows, after finding a partition missing (dropped by `ttn prune` elsewhere). */
  forget(): void {
    this.ready.clear()
  }

  /** The current month and the next, so the first events of a month find their partition waiting. */
  ensureAhead(now = new Date()): Promise<void> {
    return this.ensure([monthOf(now), monthOf(monthStart(monthOf(now), 1))])
  }

  /**
   * Removes history observed before `cutoff`: months that end by then are dropped whole,
   * the rest of the month the cutoff falls in is deleted row by row.
   */
  async prune(cutoff: Date): Promise<{ droppedPartitions: string[], deletedRows: number }> {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${PARENT}::regclass order by c.relname`.execute(this.db)
    const droppedPartitions: string[] = []
    for (const { name } of rows) {
      const month = name.slice(PREFIX.length)
      if (!/^\d{6}$/.test(month) || monthStart(month, 1) > cutoff) continue
      await sql`drop table if exists ${sql.table(name)}`.execute(this.db)
      this.ready.delete(month)
      droppedPartitions.push(name)
    }
    const deleted = await sql`delete from ${sql.table(PARENT)} where observed_at < ${cutoff}`.execute(this.db)
    return { droppedPartitions, deletedRows: Number(deleted.numAffectedRows ?? 0) }
  }
}

/** PostgreSQL's answer to a row whose month has no partition (23514, "no partition of relation ... found for row"). */
export const isMissingPartition = (error: unknown): boolean =>
  (error as { code?: string }).code === '23514' && /no partition of relation/.test((error as Error).message)
