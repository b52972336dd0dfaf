import { sql, type Kysely } from 'kysely'

/** The six-month and annual periods already made also take the citizen feedback form (Nghị định 49/2024). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update report_periods set forms = forms || array['feedback']
    where kind in ('six_month', 'annual') and not ('feedback' = any(forms))`.execute(db)
}
