import { sql, type Kysely } from 'kysely'

/** A province's broadcast logs read latest start first, as the list of its logs pages through them. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index broadcast_logs_by_start on broadcast_logs (province_code, started_at, station_id)`.execute(db)
}
