import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  // A write sent with an Idempotency-Key: the row is written by the write's own transaction,
  // so it exists exactly when the write committed; the answer is added once it is sent.
  await sql`
    create table idempotency_keys (
      caller text not null,
      key text not null,
      request_hash text not null,
      receipt_id text not null,
      response_status integer,
      response_type text,
      response_body text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      primary key (caller, key)
    )`.execute(db)
  await sql`create index idempotency_keys_expiry on idempotency_keys (expires_at)`.execute(db)
}
