import { sql, type Kysely } from 'kysely'

const KEY = 'text collate "C" not null'
const TYPE = `check (device_type in ('station', 'cluster', 'board'))`
const DURATIONS = ['online', 'offline', 'playing', 'idle', 'fault', 'silent'].map((state) => `${state}_ms bigint not null default 0`).join(',\n      ')

/**
 * History keeps periods, not heartbeats: a row is a period in which a device kept reporting
 * one state, from its first report (`observed_at`) to its last (`last_seen_at`). Rows written
 * before this migration were single events: each becomes a period of one instant.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table device_status add column run_started_at timestamptz`.execute(db)
  await sql`update device_status set run_started_at = observed_at`.execute(db)
  await sql`alter table device_status alter column run_started_at set not null`.execute(db)

  await sql`alter table device_status_history add column last_seen_at timestamptz`.execute(db)
  await sql`update device_status_history set last_seen_at = observed_at`.execute(db)
  await sql`alter table device_status_history alter column last_seen_at set not null`.execute(db)
  // A late report kept on its own: it lies within the time of other periods and counts none of it.
  await sql`alter table device_status_history add column late boolean not null default false`.execute(db)

  // Time in each state per device and day (Vietnam time), added to as periods close; the
  // period still open is added when read. Monthly partitions like the history, kept longer.
  await sql`
    create table device_status_days (
      province_code ${sql.raw(KEY)},
      device_type ${sql.raw(KEY)} ${sql.raw(TYPE)},
      device_id ${sql.raw(KEY)},
      day date not null,
      ${sql.raw(DURATIONS)},
      faults integer not null default 0,
      last_seen_at timestamptz,
      primary key (province_code, device_type, device_id, day)
    ) partition by range (day)`.execute(db)
  // The same per province and day, so that a province or the nation over a month is a few rows a day.
  await sql`
    create table province_status_days (
      province_code ${sql.raw(KEY)},
      day date not null,
      ${sql.raw(DURATIONS)},
      faults integer not null default 0,
      last_seen_at timestamptz,
      primary key (province_code, day)
    )`.execute(db)
}
