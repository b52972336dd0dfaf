import { sql, type Kysely } from 'kysely'

const STATUS = `check (status in ('operating', 'degraded', 'out_of_service', 'decommissioned'))`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table stations (
      province_code text not null references admin_units (code),
      id text not null,
      commune_code text not null,
      commune_verified boolean not null,
      name text not null,
      kind text not null check (kind in ('wired', 'fm', 'wired_fm', 'ip')),
      status text not null ${sql.raw(STATUS)},
      established_on date,
      has_integration_device boolean not null,
      address text,
      latitude double precision,
      longitude double precision,
      programme text check (programme in ('new_station', 'replacement', 'extension')),
      funding_source text check (funding_source in ('new_rural_development', 'sustainable_poverty_reduction', 'local_budget', 'other')),
      operator jsonb,
      content_hash text not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      primary key (province_code, id)
    )`.execute(db)
  await sql`create index stations_commune on stations (commune_code)`.execute(db)
  await sql`create index stations_updated on stations (province_code, updated_at)`.execute(db)

  await sql`
    create table clusters (
      province_code text not null,
      id text not null,
      station_id text not null,
      village text,
      kind text not null check (kind in ('ip', 'fm', 'wired')),
      installed_on date,
      status text not null ${sql.raw(STATUS)},
      latitude double precision,
      longitude double precision,
      vendor text,
      model text,
      content_hash text not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      primary key (province_code, id),
      foreign key (province_code, station_id) references stations (province_code, id)
    )`.execute(db)
  await sql`create index clusters_station on clusters (province_code, station_id)`.execute(db)
  await sql`create index clusters_updated on clusters (province_code, updated_at)`.execute(db)

  await sql`
    create table boards (
      province_code text not null references admin_units (code),
      id text not null,
      commune_code text not null,
      commune_verified boolean not null,
      placement text not null check (placement in ('indoor', 'outdoor')),
      screen_size_inches double precision,
      status text not null ${sql.raw(STATUS)},
      address text,
      latitude double precision,
      longitude double precision,
      content_hash text not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      primary key (province_code, id)
    )`.execute(db)
  await sql`create index boards_updated on boards (province_code, updated_at)`.execute(db)

  // The changes feed. xid is the writing transaction: readers see only rows of transactions
  // older than every transaction still running, so a change that commits late can never be
  // passed over by a cursor (see src/db/feed.ts).
  await sql`
    create table registry_changes (
      seq bigserial primary key,
      xid xid8 not null default pg_current_xact_id(),
      province_code text not null,
      entity text not null check (entity in ('station', 'cluster', 'board')),
      record_id text not null,
      operation text not null check (operation in ('upsert', 'delete')),
      version integer not null,
      record jsonb not null,
      changed_at timestamptz not null default now()
    )`.execute(db)
  await sql`create index registry_changes_feed on registry_changes (xid, seq)`.execute(db)
  await sql`create index registry_changes_province_feed on registry_changes (province_code, xid, seq)`.execute(db)
}
