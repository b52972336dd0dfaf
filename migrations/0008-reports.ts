import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table report_periods (
      id text primary key,
      kind text not null check (kind in ('six_month', 'annual', 'radio_appendices', 'extra')),
      year integer not null,
      title text not null,
      as_of date,
      due_on date not null,
      forms text[] not null,
      created_at timestamptz not null default now()
    )`.execute(db)
  await sql`create index report_periods_year on report_periods (year, due_on)`.execute(db)

  // Every submission is kept as a version; the latest of a (province, period, form) counts.
  await sql`
    create table report_submissions (
      province_code text not null references admin_units (code),
      period_id text not null references report_periods (id),
      form text not null check (form in ('indicators', 'appendix-02', 'appendix-03')),
      version integer not null,
      data jsonb not null,
      submitted_at timestamptz not null,
      on_time boolean not null,
      state text not null default 'submitted' check (state in ('submitted', 'accepted', 'returned')),
      review_comment text,
      reviewed_at timestamptz,
      reviewed_by text,
      receipt_id text not null,
      warnings jsonb not null,
      primary key (province_code, period_id, form, version)
    )`.execute(db)
  await sql`create index report_submissions_period on report_submissions (period_id, form, province_code, version desc)`.execute(db)
}
