import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { sql, type Kysely } from 'kysely'
import { projectPath } from '../src/paths.js'

interface TopicRow { id: string, kind: string, title: string, basis: string }

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table content_topics (
      id text primary key,
      kind text not null check (kind in ('essential_category', 'propaganda_task', 'custom')),
      title text not null,
      basis text,
      position serial,
      created_at timestamptz not null default now()
    )`.execute(db)
  // The categories of Decree 49/2024 Art. 6 and the 2024 propaganda tasks of the seed guidance.
  const topics = parse(readFileSync(projectPath('reference', 'content-topics.csv')), { columns: true, skip_empty_lines: true, trim: true }) as TopicRow[]
  for (const topic of topics) {
    await sql`insert into content_topics (id, kind, title, basis) values (${topic.id}, ${topic.kind}, ${topic.title}, ${topic.basis || null})`.execute(db)
  }

  // The current version of every item; earlier versions live in content_events.
  await sql`
    create table contents (
      id uuid primary key,
      origin text not null check (origin in ('central', 'province')),
      province_code text references admin_units (code),
      version integer not null,
      status text not null check (status in ('active', 'withdrawn')),
      topic_id text not null references content_topics (id),
      priority text not null check (priority in ('normal', 'priority', 'emergency')),
      targets text[],
      item jsonb not null,
      published_by text not null,
      published_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db)
  await sql`create index contents_library on contents (published_at desc, id)`.execute(db)

  // The content feed: one row per publication, version and withdrawal. audience is null for
  // every province. xid makes the feed never skip (see src/db/feed.ts).
  await sql`
    create table content_events (
      seq bigserial primary key,
      xid xid8 not null default pg_current_xact_id(),
      id uuid not null unique,
      content_id uuid not null references contents (id),
      version integer not null,
      type text not null check (type in ('content.published', 'content.updated', 'content.withdrawn')),
      audience text[],
      item jsonb not null,
      occurred_at timestamptz not null
    )`.execute(db)
  await sql`create index content_events_feed on content_events (xid, seq)`.execute(db)
  await sql`create index content_events_content on content_events (content_id, version)`.execute(db)

  // Webhook outbox: one row per (notification, province). A province's rows form a lane sent
  // in order of priority then age by whichever instance holds the lane's lease.
  await sql`
    create table webhook_outbox (
      notification_id uuid not null references content_events (id),
      province_code text not null,
      system_id text not null,
      content_id uuid not null,
      rank smallint not null,
      state text not null default 'pending' check (state in ('pending', 'delivered')),
      attempts integer not null default 0,
      last_attempt_at timestamptz,
      last_status integer,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default clock_timestamp(),
      primary key (notification_id, province_code)
    )`.execute(db)
  await sql`create index webhook_outbox_lane on webhook_outbox (province_code, rank, created_at) where state = 'pending'`.execute(db)
  await sql`create index webhook_outbox_content on webhook_outbox (content_id)`.execute(db)

  await sql`
    create table webhook_lanes (
      province_code text primary key,
      failures integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      lease_owner text,
      lease_expires_at timestamptz
    )`.execute(db)

  await sql`
    create table content_acks (
      content_id uuid not null references contents (id),
      province_code text not null references admin_units (code),
      version integer not null,
      received_at timestamptz not null,
      scheduled_at timestamptz,
      stations integer,
      acknowledged_at timestamptz not null default now(),
      primary key (content_id, province_code)
    )`.execute(db)

  // Append-only history; a (station, start) is played once, so a re-sent entry is stored once.
  await sql`
    create table broadcast_logs (
      province_code text not null,
      station_id text not null,
      started_at timestamptz not null,
      ended_at timestamptz not null,
      content_id uuid references contents (id),
      local_ref text,
      clusters_reached integer,
      source text not null check (source in ('central', 'province', 'commune', 'relay')),
      received_at timestamptz not null default now(),
      primary key (province_code, station_id, started_at),
      foreign key (province_code, station_id) references stations (province_code, id),
      check (ended_at > started_at)
    )`.execute(db)
  await sql`create index broadcast_logs_content on broadcast_logs (content_id) where content_id is not null`.execute(db)
}
