import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  // The first answer to a write sent with an Idempotency-Key, replayed to its retries.
  await sql`
    create table idempotency_keys (
      caller text not null,
      key text not null,
      request_hash text not null,
      state text not null check (state in ('in_flight', 'done')),
      locked_until timestamptz not null,
      receipt_id text,
      response_status integer,
      response_type text,
      response_body text,
      expires_at timestamptz not null,
      primary key (caller, key)
    )`.execute(db)
  await sql`create index idempotency_keys_expiry on idempotency_keys (expires_at)`.execute(db)
}
