import { sql, type Kysely } from 'kysely'

/**
 * Province-days by day: the summaries and the national availability read every province's last
 * 7 and 30 days, which the primary key (province first) reaches only by reading every day kept.
 * A year holds 34 × 365 rows and the read wants 1,020 of them; every year kept would add its
 * rows to the scan, the index keeps it to the days asked for.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index province_status_days_day on province_status_days (day)`.execute(db)
}
