import { sql, type Kysely } from 'kysely'

const STATE = `check (state in ('online', 'offline', 'playing', 'idle', 'fault'))`
const TYPE = `check (device_type in ('station', 'cluster', 'board'))`
const EVENT_COLUMNS = `
  fault_code text,
  fault_message text,
  volume_percent smallint,
  signal_dbm real,
  supply_voltage real,
  temperature_c real,
  received_at timestamptz not null`

// Keys compare byte by byte: ids are ASCII, and the C collation keeps the history's wide
// primary key cheap to maintain at tens of thousands of rows a second.
const KEY = 'text collate "C" not null'

export async function up(db: Kysely<unknown>): Promise<void> {
  // The newest event of each device; older events arriving late never replace it.
  await sql`
    create table device_status (
      province_code ${sql.raw(KEY)},
      device_type ${sql.raw(KEY)} ${sql.raw(TYPE)},
      device_id ${sql.raw(KEY)},
      state ${sql.raw(KEY)} ${sql.raw(STATE)},
      observed_at timestamptz not null,
      ${sql.raw(EVENT_COLUMNS)},
      primary key (province_code, device_type, device_id)
    ) with (fillfactor = 70)`.execute(db)
  // No index beyond the key: each report rewrites its device's row, and with no indexed column
  // changing and room left in the page, PostgreSQL updates it in place (a HOT update) without
  // touching any index. Reads filter a province's rows, at most ~100,000, by time as they go.

  // Append-only history, one partition per calendar month (UTC) created as events need them
  // (src/modules/status/partitions.ts); retention drops whole months. The key makes a repeated
  // event (same device, instant and state) a duplicate stored once.
  await sql`
    create table device_status_history (
      province_code ${sql.raw(KEY)},
      device_type ${sql.raw(KEY)} ${sql.raw(TYPE)},
      device_id ${sql.raw(KEY)},
      observed_at timestamptz not null,
      state ${sql.raw(KEY)} ${sql.raw(STATE)},
      ${sql.raw(EVENT_COLUMNS)},
      primary key (province_code, device_type, device_id, observed_at, state)
    ) partition by range (observed_at)`.execute(db)
}
