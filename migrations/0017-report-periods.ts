import { sql, type Kysely } from 'kysely'

/**
 * Report periods as data: central corrects a period, extends one province's deadline with a
 * reason, and opens a period with forms it defines itself as JSON Schemas, checked like the
 * built-in ones. Calls may name the official who acted (the `act` claim): submissions record who
 * drafted and who approved them, and every audit entry who acted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table report_periods add column custom_forms jsonb not null default '[]'`.execute(db)
  await sql`alter table report_periods add column corrected_at timestamptz, add column correction_reason text`.execute(db)
  await sql`
    create table report_deadline_extensions (
      period_id text not null references report_periods (id),
      province_code text not null references admin_units (code),
      due_on date not null,
      reason text not null check (length(reason) between 10 and 1000),
      granted_by text not null,
      granted_at timestamptz not null default now(),
      primary key (period_id, province_code)
    )`.execute(db)
  await sql`alter table report_submissions drop constraint report_submissions_form_check`.execute(db)
  await sql`alter table report_submissions add constraint report_submissions_form_check check (form ~ '^[a-z0-9][a-z0-9-]{0,39}$')`.execute(db)
  await sql`alter table report_submissions add column drafted_by jsonb, add column approved_by jsonb, add column reviewed_by_person jsonb`.execute(db)
  // What the service derives from a form: the province totals of an appendix, from its lines.
  await sql`alter table report_submissions add column derived jsonb`.execute(db)
  await sql`alter table audit_log add column actor jsonb`.execute(db)
}
