import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table systems (
      id text primary key check (id ~ '^[a-z0-9][a-z0-9-]*[a-z0-9]$' and length(id) <= 64),
      role text not null check (role in ('province', 'central')),
      province_code text references admin_units (code),
      name text not null,
      jwks_uri text,
      webhook_url text,
      status text not null default 'active' check (status in ('active', 'suspended')),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (role = 'central' or (province_code is not null and id = 'province-' || province_code))
    )`.execute(db)

  await sql`
    create table system_keys (
      system_id text not null references systems (id),
      kid text not null,
      alg text not null check (alg in ('ES256', 'EdDSA')),
      jwk jsonb not null,
      status text not null default 'active' check (status in ('active', 'retired')),
      added_at timestamptz not null default now(),
      retired_at timestamptz,
      primary key (system_id, kid)
    )`.execute(db)

  // One row per call token ever accepted, until it expires: the replay guard every instance shares.
  await sql`
    create table call_tokens_seen (
      issuer text not null,
      jti text not null,
      expires_at timestamptz not null,
      primary key (issuer, jti)
    )`.execute(db)
  await sql`create index call_tokens_seen_expiry on call_tokens_seen (expires_at)`.execute(db)

  await sql`
    create table receipts (
      id text primary key,
      issued_at timestamptz not null,
      caller text not null,
      province_code text,
      jws text not null
    )`.execute(db)

  // Append-only; rows are written freely and sealed afterwards in signed batches.
  await sql`
    create table audit_log (
      id bigserial primary key,
      at timestamptz not null,
      caller text,
      verified boolean not null,
      jti text,
      method text not null,
      path text not null,
      body_sha256 text not null,
      status integer not null,
      problem_code text,
      receipt_id text,
      request_id text not null,
      row_hash text not null,
      seal_id bigint
    )`.execute(db)
  await sql`create index audit_log_unsealed on audit_log (id) where seal_id is null`.execute(db)
  await sql`create index audit_log_seal on audit_log (seal_id, id)`.execute(db)
  await sql`create index audit_log_caller on audit_log (caller, id)`.execute(db)

  await sql`
    create table audit_seals (
      id bigint primary key,
      sealed_at timestamptz not null,
      entries integer not null,
      previous_hash text not null,
      hash text not null,
      jws text not null
    )`.execute(db)
}
