import { sql, type Kysely } from 'kysely'

/**
 * The audit log becomes a transparency log (RFC 9162 style): entry n is leaf n - 1 of an
 * append-only Merkle tree whose perfect subtrees are kept, with signed checkpoints and the
 * cosignatures of witnesses. The batch seals of 0003 are superseded: the tree covers every
 * entry from the first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index audit_log_unsealed`.execute(db)
  await sql`drop index audit_log_seal`.execute(db)
  await sql`drop table audit_seals`.execute(db)
  await sql`alter table audit_log drop column row_hash, drop column seal_id`.execute(db)
  await sql`
    alter table audit_log
      add column kind text not null default 'call' check (kind in ('call', 'refusals', 'void')),
      add column operation text,
      add column kid text,
      add column call_token text,
      add column refusals integer,
      add column until timestamptz,
      add column leaf_hash bytea check (length(leaf_hash) = 32),
      alter column at drop not null,
      alter column verified drop not null,
      alter column method drop not null,
      alter column path drop not null,
      alter column body_sha256 drop not null,
      alter column status drop not null,
      alter column request_id drop not null`.execute(db)
  // An entry takes its id only once its transaction has an id of its own (the CASE evaluates
  // pg_current_xact_id() first). The sealer relies on it: once every transaction that was
  // running when the sequence stood at H has ended, no entry with an id up to H can still appear.
  await sql`alter table audit_log alter column id set default (case when pg_current_xact_id() is not null then nextval('audit_log_id_seq') end)`.execute(db)
  // leaf_hash is written with each entry, so a verifier can name the entry edited afterwards;
  // entries older than this migration get theirs when the sealer first appends them.
  await sql`create index audit_log_receipt on audit_log (receipt_id) where receipt_id is not null`.execute(db)

  // Hashes of perfect subtrees above the leaves: (level, index) covers leaves index·2^level to (index+1)·2^level - 1.
  await sql`
    create table audit_tree_nodes (
      level smallint not null check (level between 1 and 62),
      index bigint not null check (index >= 0),
      hash bytea not null check (length(hash) = 32),
      primary key (level, index)
    )`.execute(db)

  await sql`
    create table audit_checkpoints (
      tree_size bigint primary key check (tree_size > 0),
      root_hash bytea not null check (length(root_hash) = 32),
      signed_at timestamptz not null,
      kid text not null,
      jws text not null
    )`.execute(db)

  await sql`
    create table audit_cosignatures (
      tree_size bigint not null references audit_checkpoints (tree_size),
      witness text not null,
      kid text not null,
      cosigned_at timestamptz not null,
      jws text not null,
      received_at timestamptz not null default now(),
      primary key (tree_size, witness)
    )`.execute(db)
  await sql`create index audit_cosignatures_witness on audit_cosignatures (witness, tree_size desc)`.execute(db)

  // The sealer's position: the tree size, and the id and transaction horizon it waits on before sealing further.
  await sql`
    create table audit_tree_state (
      singleton boolean primary key default true check (singleton),
      tree_size bigint not null default 0,
      pending_upto bigint,
      pending_xmax xid8
    )`.execute(db)
  await sql`insert into audit_tree_state default values`.execute(db)

  // Every key the service ever signed with, so that a rotation never makes an old signature unverifiable.
  await sql`
    create table service_keys (
      kid text primary key,
      alg text not null check (alg in ('ES256', 'EdDSA')),
      jwk jsonb not null,
      first_used_at timestamptz not null default now()
    )`.execute(db)
}
