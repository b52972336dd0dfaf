import { sql, type Kysely } from 'kysely'
import { statementTriggers } from './statement-triggers.js'

/**
 * `device_state_totals`: the sums of `device_state_seconds` by province, place and state, kept
 * by the database as buckets change (a statement trigger on the buckets themselves, so every
 * writer of buckets keeps them). A bucket matters one by one only below the highest limit a
 * read draws (the stale limit, a window's start); the devices heard since then, most of them on
 * a national day (every device reports each minute), count as the totals less the few buckets
 * below, so a summary reads a row per province and state for them instead of a row per second.
 * The index on the buckets' second finds those below a limit without reading the rest.
 *
 * Every change to the buckets happens under its province's status lock (reports, and devices
 * leaving or returning to their place), so a province's totals change one statement at a time,
 * and a province's totals are rows of their own: no province waits for another's.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table device_state_totals (
      province_code text collate "C" not null,
      in_place boolean not null,
      state text collate "C" not null,
      devices integer not null,
      started_ms bigint not null,
      seen_ms bigint not null,
      primary key (province_code, in_place, state)
    )`.execute(db)
  await sql`create index device_state_seconds_second on device_state_seconds (seen_second)`.execute(db)
  // A few thousand rows read whole by every summary, under churn: never worth starting parallel workers for, however their
  // dead rows make them look before a vacuum.
  for (const table of ['device_state_seconds', 'device_state_totals']) await sql`alter table ${sql.table(table)} set (parallel_workers = 0)`.execute(db)
  await statementTriggers(db, 'device_state_seconds', 'device_state_total', (rows) => `
    insert into device_state_totals as t
    select province_code, in_place, state, sum(n * devices)::int, sum(n * started_ms)::bigint, sum(n * seen_ms)::bigint
    from (${rows((from, n) => `select province_code, in_place, state, devices, started_ms, seen_ms, ${n} from ${from}`)})
      as changed(province_code, in_place, state, devices, started_ms, seen_ms, n)
    group by 1, 2, 3 having sum(n * devices) <> 0 or sum(n * started_ms) <> 0 or sum(n * seen_ms) <> 0 order by 1, 2, 3
    on conflict (province_code, in_place, state) do update set devices = t.devices + excluded.devices,
      started_ms = t.started_ms + excluded.started_ms, seen_ms = t.seen_ms + excluded.seen_ms`, 'device_state_seconds_totalled')
  await sql`
    insert into device_state_totals
    select province_code, in_place, state, sum(devices)::int, sum(started_ms)::bigint, sum(seen_ms)::bigint from device_state_seconds group by 1, 2, 3`.execute(db)
}
