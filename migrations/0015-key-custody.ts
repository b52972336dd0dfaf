import { sql, type Kysely } from 'kysely'

/**
 * Key custody: a system's keys change only by calls it signs itself, or by an explicit
 * recovery of a central system the operator allows to (SYSTEMS_FILE); the province hears of
 * a recovery on its webhook, so the outbox carries system notifications as well as content.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table systems add column key_recovery boolean not null default false`.execute(db)
  await sql`alter table systems add constraint systems_key_recovery_central check (not key_recovery or role = 'central')`.execute(db)

  await sql`
    create table system_events (
      id uuid primary key,
      type text not null check (type in ('system.keys-recovered')),
      system_id text not null references systems (id),
      payload jsonb not null,
      occurred_at timestamptz not null default now()
    )`.execute(db)

  await sql`alter table webhook_outbox drop constraint webhook_outbox_notification_id_fkey`.execute(db)
  await sql`alter table webhook_outbox alter column content_id drop not null`.execute(db)
}
