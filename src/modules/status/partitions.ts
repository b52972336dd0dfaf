import { sql } from 'kysely'
import type { Db } from '../../db/database.js'

/** Any fixed number: it names the advisory lock every instance takes to create partitions. */
const PARTITION_LOCK = 740_009

/** The calendar month (UTC) of an instant, as `YYYYMM`. */
export const monthOf = (instant: Date): string =>
  `${instant.getUTCFullYear()}${String(instant.getUTCMonth() + 1).padStart(2, '0')}`

const monthStart = (month: string, offset = 0) =>
  new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4, 6)) - 1 + offset, 1))

interface PartitionedTable {
  parent: 'device_status_history' | 'device_status_days'
  /** The column the table is partitioned by: an instant, or a day. */
  column: 'observed_at' | 'day'
}

/** The status history, by the month its periods began. */
const HISTORY: PartitionedTable = { parent: 'device_status_history', column: 'observed_at' }
/** The daily availability of devices, by the month of the day. */
const DAYS: PartitionedTable = { parent: 'device_status_days', column: 'day' }

/** Thrown inside a transaction that needs a month not yet made, so that it is made outside and the transaction run again. */
export class PartitionsNeeded extends Error {
  constructor(readonly months: { history: string[], days: string[] }) {
    super(`partitions needed: ${[...months.history, ...months.days].join(', ')}`)
  }
}

/**
 * Monthly partitions of one table. Each instance remembers the months it has made sure of, so
 * a batch costs a lookup in a set; creating one takes an advisory lock so that instances racing
 * for the same new month do not fail on each other.
 */
export class MonthlyPartitions {
  private readonly ready = new Set<string>()

  private constructor(private readonly db: Db, private readonly table: PartitionedTable) {}

  static history(db: Db): MonthlyPartitions {
    return new MonthlyPartitions(db, HISTORY)
  }

  static days(db: Db): MonthlyPartitions {
    return new MonthlyPartitions(db, DAYS)
  }

  /** Of these months, those this instance has not made sure of, oldest first. */
  missing(months: Iterable<string>): string[] {
    return [...new Set(months)].filter((m) => !this.ready.has(m)).sort()
  }

  async ensure(months: Iterable<string>): Promise<void> {
    const missing = this.missing(months)
    if (missing.length === 0) return
    const bound = (date: Date) => sql.lit(this.table.column === 'day' ? date.toISOString().slice(0, 10) : date.toISOString())
    await this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${PARTITION_LOCK})`.execute(trx)
      for (const month of missing) {
        await sql`create table if not exists ${sql.table(`${this.table.parent}_${month}`)} partition of ${sql.table(this.table.parent)}
          for values from (${bound(monthStart(month))}) to (${bound(monthStart(month, 1))})`.execute(trx)
      }
    })
    for (const month of missing) this.ready.add(month)
  }

  /** Forgets what this instance knows, after finding a partition missing (dropped by `ttn prune` elsewhere). */
  forget(): void {
    this.ready.clear()
  }

  /** The current month and the next, so the first rows of a month find their partition waiting. */
  ensureAhead(now = new Date()): Promise<void> {
    return this.ensure([monthOf(now), monthOf(monthStart(monthOf(now), 1))])
  }

  /**
   * Removes rows before `cutoff`: months that end by then are dropped whole, the rest of the
   * month the cutoff falls in is deleted row by row.
   */
  async prune(cutoff: Date): Promise<{ droppedPartitions: string[], deletedRows: number }> {
    const prefix = `${this.table.parent}_`
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${this.table.parent}::regclass order by c.relname`.execute(this.db)
    const droppedPartitions: string[] = []
    for (const { name } of rows) {
      const month = name.slice(prefix.length)
      if (!/^\d{6}$/.test(month) || monthStart(month, 1) > cutoff) continue
      await sql`drop table if exists ${sql.table(name)}`.execute(this.db)
      this.ready.delete(month)
      droppedPartitions.push(name)
    }
    const limit = this.table.column === 'day' ? sql`${cutoff.toISOString().slice(0, 10)}::date` : sql`${cutoff}::timestamptz`
    const deleted = await sql`delete from ${sql.table(this.table.parent)} where ${sql.ref(this.table.column)} < ${limit}`.execute(this.db)
    return { droppedPartitions, deletedRows: Number(deleted.numAffectedRows ?? 0) }
  }
}

/** PostgreSQL's answer to a row whose month has no partition (23514, "no partition of relation ... found for row"). */
export const isMissingPartition = (error: unknown): boolean =>
  (error as { code?: string }).code === '23514' && /no partition of relation/.test((error as Error).message)
