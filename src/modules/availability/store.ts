import { sql, type RawBuilder } from 'kysely'
import type { DeviceState, DeviceType } from '../../../schemas/status.js'
import type { Db } from '../../db/database.js'
import { part, type JsonRow, type Part } from '../../db/parts.js'
import { ACCOUNTED_STATES, UP_STATES, addTally, emptyTally, type AccountedState, type DayTally } from '../status/periods.js'

/** Devices in place with a status report, by what their newest report says now. */
export interface ReportedDevices { reported: number, online: number, offline: number, stale: number }

/** Summed days of one scope (a device, or a province): time by state, faults, newest report. */
export type SummedDays = DayTally

export interface OpenPeriodRow {
  province: string
  deviceType: DeviceType
  deviceId: string
  state: DeviceState
  startedAt: number
  lastSeenAt: number
}

// Summed in float8, far cheaper than bigint's numeric sums, and exact while a sum stays below 2^53 ms, as the figures must for
// JavaScript anyway: a window is at most MAX_WINDOW_DAYS, and 100,000 devices over 400 days are 3.5 * 10^15 ms.
const sums = sql.join(ACCOUNTED_STATES.map((state) => sql`sum(${sql.ref(`${state}_ms`)}::float8) as ${sql.ref(state)}`))

/** Sums from a row of the driver (a Date for the newest report) or of JSON (its text). */
function summed(row: Record<string, unknown>): SummedDays {
  return {
    ms: Object.fromEntries(ACCOUNTED_STATES.map((state) => [state, Number(row[state] ?? 0)])) as Record<AccountedState, number>,
    faults: Number(row.faults ?? 0),
    lastSeenAt: row.last_seen_at === null || row.last_seen_at === undefined ? undefined : new Date(row.last_seen_at as Date | string).getTime(),
  }
}

/** Each window's time by state per province (and newest report, where a row has one), from columns `state_i`, `silent_i`, `seen_i`. */
function perWindow(rows: JsonRow[], windows: number): Map<string, SummedDays>[] {
  return Array.from({ length: windows }, (_, i) => {
    const sums = new Map<string, SummedDays>()
    for (const row of rows) {
      let found = sums.get(row.province_code)
      if (!found) sums.set(row.province_code, found = emptyTally())
      found.ms[row.state as DeviceState] += Number(row[`state_${i}`])
      found.ms.silent += Number(row[`silent_${i}`])
      const seen = row[`seen_${i}`]
      if (seen !== null && seen !== undefined) found.lastSeenAt = Math.max(found.lastSeenAt ?? Number(seen), Number(seen))
    }
    return sums
  })
}

/**
 * The stored side of availability: the days periods have closed into, summed over a window in
 * the database, and the open periods, whose time up to now is added by the caller.
 */
export class AvailabilityStore {
  constructor(readonly db: Db) {}

  /** One province's days from `from` to `to` (dates, included), per device. */
  async deviceDays(province: string, from: string, to: string): Promise<Map<string, SummedDays & { deviceType: DeviceType, deviceId: string }>> {
    const { rows } = await sql<Record<string, unknown> & { device_type: DeviceType, device_id: string }>`
      select device_type, device_id, ${sums}, sum(faults)::int as faults, max(last_seen_at) as last_seen_at
      from device_status_days where province_code = ${province} and day between ${from}::date and ${to}::date
      group by device_type, device_id`.execute(this.db)
    return new Map(rows.map((row) => [`${row.device_type}/${row.device_id}`, { deviceType: row.device_type, deviceId: row.device_id, ...summed(row) }]))
  }

  /**
   * Every province's days (or one's) in each window (`from` to `to`, dates included), per
   * province: one read for all the windows, the days grouped by the windows they are in.
   */
  provinceDays(windows: { from: string, to: string }[], only?: string): Part<Map<string, SummedDays>[]> {
    const within = sql.join(windows.map(({ from, to }, i) => sql`day between ${from}::date and ${to}::date as ${sql.ref(`in_${i}`)}`))
    const flags = sql.join(windows.map((_, i) => sql.ref(`in_${i}`)))
    return part(sql`
      select province_code, ${flags}, ${sums}, sum(faults)::int as faults, max(last_seen_at) as last_seen_at
      from province_status_days, lateral (select ${within}) w
      where day between ${windows.map((w) => w.from).sort()[0]}::date and ${windows.map((w) => w.to).sort().at(-1)}::date
      ${only ? sql`and province_code = ${only}` : sql``} group by province_code, ${flags}`, (rows) => windows.map((_, i) => {
      const provinces = new Map<string, SummedDays>()
      for (const row of rows) {
        if (!row[`in_${i}`]) continue
        let found = provinces.get(row.province_code)
        if (!found) provinces.set(row.province_code, found = emptyTally())
        addTally(found, summed(row))
      }
      return provinces
    }))
  }

  /** The days of every province (or of one) from `from` to `to`, summed per day. */
  async daysSummed(from: string, to: string, only?: string): Promise<Map<string, SummedDays>> {
    const { rows } = await sql<Record<string, unknown> & { day: string }>`
      select day::text as day, ${sums}, sum(faults)::int as faults, max(last_seen_at) as last_seen_at from province_status_days
      where day between ${from}::date and ${to}::date ${only ? sql`and province_code = ${only}` : sql``} group by day`.execute(this.db)
    return new Map(rows.map((row) => [row.day, summed(row)]))
  }

  /** The open period of every device of a province (or of all), with the device's newest report. */
  async openPeriods(only?: string): Promise<OpenPeriodRow[]> {
    const { rows } = await sql<{ province_code: string, device_type: DeviceType, device_id: string, state: DeviceState, run_started_at: Date, observed_at: Date }>`
      select province_code, device_type, device_id, state, run_started_at, observed_at from device_status
      ${only ? sql`where province_code = ${only}` : sql``}`.execute(this.db)
    return rows.map((row) => ({
      province: row.province_code, deviceType: row.device_type, deviceId: row.device_id, state: row.state,
      startedAt: row.run_started_at.getTime(), lastSeenAt: row.observed_at.getTime(),
    }))
  }

  /**
   * What the open periods of every province (or of one) hold within each window up to `now`, as
   * `addOpenPeriod` adds one period (its state until silence, then silence), summed in the
   * database per province: a province or the nation is a few rows, not one per device.
   */
  openSums(windows: { start: number, end: number }[], now: number, staleAfterMs: number, only?: string): Part<Map<string, SummedDays>[]> {
    // In float8, exact for instants of whole milliseconds (all stored instants are), and far cheaper than numeric.
    const ms = (at: RawBuilder<unknown>) => sql`round(date_part('epoch', ${at}) * 1000)`
    const columns = windows.map(({ start, end: windowEnd }, i) => {
      const end = Math.min(windowEnd, now)
      return sql`
        sum(greatest(0, least(heard_until, ${end}) - greatest(started, ${start})))::text as ${sql.ref(`state_${i}`)},
        sum(greatest(0, ${end} - greatest(heard_until, ${start})))::text as ${sql.ref(`silent_${i}`)},
        max(seen) filter (where seen >= ${start} and seen < ${end})::text as ${sql.ref(`seen_${i}`)}`
    })
    return part(sql`
      select province_code, state, ${sql.join(columns)}
      from device_status, lateral (select ${ms(sql`run_started_at`)} as started, ${ms(sql`observed_at`)} as seen) t,
        lateral (select least(${now}::float8, seen + ${staleAfterMs}) as heard_until) h
      ${only ? sql`where province_code = ${only}` : sql``}
      group by province_code, state`, (rows) => perWindow(rows, windows.length))
  }

  /**
   * What the devices' newest reports say now, from the devices counted per second of their
   * newest report, in one read:
   *
   * - `reported`: the devices in place that reported, by freshness at `now` (a whole second, so
   *   every bucket is wholly fresh or wholly stale);
   * - `openTime`: the same as `openSums` for windows that hold `now`, without the newest report.
   *   It holds because a period never spans a Vietnam midnight (the first report of a day opens a
   *   new one), so an open period whose newest report is within a window, which starts at a
   *   midnight, started within it too; one whose newest report is before it counts from the
   *   window's start, its state until the stale limit, then silence. Every bucket is wholly on one
   *   side of each limit: the limits are whole seconds. Devices no longer in place count, as in
   *   `openSums`.
   *
   * Only the buckets below the highest limit are read one by one: every device heard since is
   * fresh and inside every window, its open period's time its state's since it started, so they
   * count together, as the totals of their province, place and state (`device_state_totals`)
   * less the buckets below. On a national day most devices were heard within the last minute.
   */
  current(windows: { start: number, end: number }[], now: number, staleAfterMs: number, only?: string): Part<{ openTime: Map<string, SummedDays>[], reported: Map<string, ReportedDevices> }> {
    if (now % 1000 !== 0 || staleAfterMs % 1000 !== 0 || windows.some((w) => w.start % 1000 !== 0 || w.start > now || w.end <= now)) {
      throw new Error('the current state is read for windows that hold now, at whole seconds')
    }
    const fresh = (now - staleAfterMs) / 1000
    const split = Math.max(fresh, ...windows.map((w) => w.start / 1000))
    // The limits are named once per side (each a parameter used many times), in milliseconds and, divided exactly, seconds.
    const limits = sql.join([
      sql`${fresh}::bigint as fresh`, sql`${now}::bigint as now_ms`, sql`${staleAfterMs}::bigint as stale_ms`,
      ...windows.map(({ start }, i) => sql`${start}::bigint as ${sql.ref(`start_${i}`)}`),
    ])
    // Each bucket's share is reckoned in bigint and is small (a few devices' milliseconds), so summed in float8, far cheaper than
    // bigint's numeric sums, it stays exact while the sums stay below 2^53 ms (about three million devices over 30 days).
    // A bucket below counts as its own share less what the totals counted for it: fresh devices' time since they started.
    const sinceStarted = sql`devices * now_ms - started_ms`
    const below = windows.map((_, i) => {
      const start = sql.ref(`start_${i}`)
      const from = sql`${start} / 1000`
      const silentFrom = sql`(${start} - stale_ms) / 1000`
      return sql`,
        sum((case
          when seen_second >= fresh then case when seen_second >= ${from} then ${sinceStarted} else devices * (now_ms - ${start}) end
          when seen_second >= ${from} then seen_ms + devices * stale_ms - started_ms
          when seen_second >= ${silentFrom} then seen_ms + devices * (stale_ms - ${start})
          else 0 end - (${sinceStarted}))::float8) as ${sql.ref(`state_${i}`)},
        sum(case
          when seen_second >= fresh then 0
          when seen_second >= ${silentFrom} then devices * (now_ms - stale_ms) - seen_ms
          else devices * (now_ms - ${start}) end::float8) as ${sql.ref(`silent_${i}`)}`
    })
    const above = windows.map((_, i) => sql`, sum((${sinceStarted})::float8) as ${sql.ref(`state_${i}`)}`)
    const both = windows.map((_, i) => {
      const [state, silent] = [sql.ref(`state_${i}`), sql.ref(`silent_${i}`)]
      return sql`, coalesce(t.${state}, 0) + coalesce(b.${state}, 0) as ${state}, coalesce(b.${silent}, 0) as ${silent}`
    })
    const province = only ? sql`and province_code = ${only}` : sql``
    // A group's totals are the sums over its devices, so a group of none is all zeros and left out, as its buckets are deleted.
    // Two aggregates joined, not one over a union: PostgreSQL would run a union's branches in parallel workers, whose start
    // costs more than these few thousand rows.
    return part(sql`
      select coalesce(t.province_code, b.province_code) as province_code, coalesce(t.state, b.state) as state,
        coalesce(t.placed, 0) as placed, coalesce(t.placed, 0) - coalesce(b.stale, 0) as placed_fresh ${sql.join(both, sql``)}
      from (
        select province_code, state, coalesce(sum(devices) filter (where in_place), 0)::int as placed ${sql.join(above, sql``)}
        from device_state_totals, lateral (select ${limits}) l where devices <> 0 ${province} group by province_code, state
      ) t full join (
        select province_code, state, coalesce(sum(devices) filter (where in_place and seen_second < fresh), 0)::int as stale ${sql.join(below, sql``)}
        from device_state_seconds, lateral (select ${limits}) l where seen_second < ${split} ${province} group by province_code, state
      ) b on b.province_code = t.province_code and b.state = t.state`, (rows) => {
      const reported = new Map<string, ReportedDevices>()
      for (const row of rows) {
        if (row.placed === 0) continue
        let found = reported.get(row.province_code)
        if (!found) reported.set(row.province_code, found = { reported: 0, online: 0, offline: 0, stale: 0 })
        found.reported += row.placed
        found.stale += row.placed - row.placed_fresh
        if (UP_STATES.includes(row.state)) found.online += row.placed_fresh
        else if (row.state === 'offline' || row.state === 'fault') found.offline += row.placed_fresh
      }
      return { openTime: perWindow(rows, windows.length), reported }
    })
  }

  /** The commune of each device of a province: a station's or board's own, a cluster's station's. */
  async communes(province: string): Promise<Map<string, string>> {
    const { rows } = await sql<{ key: string, commune_code: string }>`
      select 'station/' || id as key, commune_code from stations where province_code = ${province}
      union all select 'board/' || id, commune_code from boards where province_code = ${province}
      union all select 'cluster/' || c.id, s.commune_code from clusters c
        join stations s on s.province_code = c.province_code and s.id = c.station_id where c.province_code = ${province}`.execute(this.db)
    return new Map(rows.map((row) => [row.key, row.commune_code]))
  }
}
