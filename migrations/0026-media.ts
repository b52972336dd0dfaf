import { sql, type Kysely } from 'kysely'

/**
 * Media files the service holds or has verified: content-addressed by SHA-256, with the type and
 * playing time read from their bytes. A removed file keeps its row, so a download of it answers
 * when and why it went rather than an unexplained 404.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table media (
      sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
      -- CAP 1.2 names a resource by its SHA-1 digest.
      sha1 text not null check (sha1 ~ '^[0-9a-f]{40}$'),
      source text not null check (source in ('stored', 'external')),
      url text,
      kind text not null check (kind in ('audio', 'video', 'image')),
      mime_type text not null,
      bytes bigint not null check (bytes > 0),
      duration_seconds float8,
      codec text,
      container text,
      created_by text not null,
      created_at timestamptz not null default now(),
      removed_at timestamptz,
      removal_reason text,
      check ((source = 'external') = (url is not null))
    )`.execute(db)

  // Resumable uploads: the bytes so far sit in a file of their own until the last chunk is checked.
  await sql`
    create table media_uploads (
      id uuid primary key,
      created_by text not null,
      bytes bigint not null check (bytes > 0),
      sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
      file_name text,
      declared_type text,
      received bigint not null default 0 check (received between 0 and bytes),
      state text not null default 'open' check (state in ('open', 'complete', 'rejected', 'cancelled', 'expired')),
      failure text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      ended_at timestamptz
    )`.execute(db)
  await sql`create index media_uploads_open on media_uploads (expires_at) where state = 'open'`.execute(db)

  // The media each item's current version uses: what keeps a file from the retention job.
  await sql`
    create table content_media (
      content_id uuid not null references contents (id),
      sha256 text not null references media (sha256),
      primary key (content_id, sha256)
    )`.execute(db)
  await sql`create index content_media_by_file on content_media (sha256)`.execute(db)
  await sql`alter table contents add column valid_until timestamptz`.execute(db)
  await sql`update contents set valid_until = (item->>'validUntil')::timestamptz`.execute(db)
}
