import { sql, type Kysely } from 'kysely'

/** The alerts feed reads the priority and emergency items of central, newest first. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index contents_alerts on contents (updated_at desc, id) where origin = 'central' and priority <> 'normal'`.execute(db)
}
