import { sql, type Selectable } from 'kysely'
import type { DeviceState, DeviceType, StatusEvent } from '../../../schemas/status.js'
import type { Db } from '../../db/database.js'
import type { DeviceStatusTable } from '../../db/tables.js'
import { monthOf } from './partitions.js'
import {
  ACCOUNTED_STATES, addReport, addTally, dayDate, lateAddsNothing, monthOfDay, tallyOf, vietnamDay, walkDevice, type DayTally, type DeviceOutcome, type OpenPeriod,
} from './periods.js'

/** Events as rows `e` of a query, numbered from 1 in `e.i`: one array parameter per field. */
function eventRows(events: StatusEvent[]) {
  return sql`unnest(
    ${events.map((e) => e.deviceType)}::text[], ${events.map((e) => e.deviceId)}::text[], ${events.map((e) => e.state)}::text[],
    ${events.map((e) => e.observedAt)}::timestamptz[], ${events.map((e) => e.faultCode ?? null)}::text[],
    ${events.map((e) => e.faultMessage ?? null)}::text[], ${events.map((e) => e.volumePercent ?? null)}::smallint[],
    ${events.map((e) => e.signalDbm ?? null)}::real[], ${events.map((e) => e.supplyVoltage ?? null)}::real[],
    ${events.map((e) => e.temperatureC ?? null)}::real[]
  ) with ordinality as e("deviceType", "deviceId", state, "observedAt", "faultCode", "faultMessage", "volumePercent", "signalDbm", "supplyVoltage", "temperatureC", i)`
}

/** `type/id`, to look a device up in a set. */
export const deviceKey = (type: string, id: string) => `${type}/${id}`

export interface StatusListFilter {
  province: string
  state?: DeviceState | undefined
  type?: DeviceType | undefined
  commune?: string | undefined
  stale?: boolean | undefined
  /** Devices whose newest event is older than this are stale. */
  staleBefore: Date
  after?: readonly [string, string] | undefined
  limit: number
}

export interface HistoryFilter {
  province: string
  type: DeviceType
  id: string
  from?: Date | undefined
  to?: Date | undefined
  after?: readonly [string, string] | undefined
  limit: number
}

export interface ProvinceSummaryRow {
  province: string
  state: DeviceState
  devices: number
  stale: number
  lastReportAt: Date
}

/** Columns of an event, in the contract's shape; absent optional values are left out. */
function eventFields(row: Pick<Selectable<DeviceStatusTable>, 'fault_code' | 'fault_message' | 'volume_percent' | 'signal_dbm' | 'supply_voltage' | 'temperature_c'>) {
  return {
    ...(row.fault_code === null ? {} : { faultCode: row.fault_code }),
    ...(row.fault_message === null ? {} : { faultMessage: row.fault_message }),
    ...(row.volume_percent === null ? {} : { volumePercent: row.volume_percent }),
    ...(row.signal_dbm === null ? {} : { signalDbm: row.signal_dbm }),
    ...(row.supply_voltage === null ? {} : { supplyVoltage: row.supply_voltage }),
    ...(row.temperature_c === null ? {} : { temperatureC: row.temperature_c }),
  }
}

/**
 * Device status: the newest state of every device and the append-only history. A batch is
 * written by one statement whatever its size: the events travel as one array parameter per
 * field that PostgreSQL unnests into rows, feeding the history insert and the current-state
 * upsert. Arrays rather than one JSON document: each stays a small string the garbage
 * collector reclaims young, where a 1000-event document (~200 kB) is a large object that
 * only a full collection frees.
 */
export class StatusStore {
  constructor(private readonly db: Db) {}

  /**
   * Which of these devices are not in the province's registry (or deleted), as `type/id` keys:
   * one query for the batch. Answering the unknown ones, usually none, spares building a row
   * and a key for each of a thousand known devices.
   */
  async unknownDevices(province: string, devices: { deviceType: DeviceType, deviceId: string }[]): Promise<Set<string>> {
    const ids: Record<DeviceType, string[]> = { station: [], cluster: [], board: [] }
    for (const device of devices) ids[device.deviceType].push(device.deviceId)
    const { rows } = await sql<{ type: DeviceType, id: string }>`
      with asked as (
        select 'station' as type, id from unnest(${ids.station}::text[]) as id
        union all select 'cluster', id from unnest(${ids.cluster}::text[]) as id
        union all select 'board', id from unnest(${ids.board}::text[]) as id
      ), known as (
        select 'station' as type, id from stations where province_code = ${province} and deleted_at is null and id = any(array(select id from asked where type = 'station'))
        union all
        select 'cluster', id from clusters where province_code = ${province} and deleted_at is null and id = any(array(select id from asked where type = 'cluster'))
        union all
        select 'board', id from boards where province_code = ${province} and deleted_at is null and id = any(array(select id from asked where type = 'board'))
      )
      select type, id from asked except select type, id from known`.execute(this.db)
    return new Set(rows.map((row) => deviceKey(row.type, row.id)))
  }

  /**
   * Stores checked events (with `observedAt` in canonical UTC form) of one province, as
   * periods (see periods.ts): one province's batches are applied one at a time, under a lock
   * taken inside the transaction, so every batch walks from the periods the one before left.
   * Answers how many events added something and how many repeated what was known.
   */
  async write(db: Db, province: string, events: StatusEvent[], receivedAt: Date, staleAfterMs: number,
    partitionsReady: (months: { history: string[], days: string[] }) => void): Promise<{ accepted: number, duplicate: number }> {
    await sql`select pg_advisory_xact_lock(hashtext(${`status/${province}`}))`.execute(db)
    const byDevice = new Map<string, StatusEvent[]>()
    for (const event of events) {
      const key = deviceKey(event.deviceType, event.deviceId)
      const list = byDevice.get(key)
      if (list) list.push(event)
      else byDevice.set(key, [event])
    }
    const heartbeats = await this.continuePeriods(db, province, [...byDevice.values()].filter((list) => list.length === 1).map((list) => list[0]!), receivedAt, staleAfterMs)
    for (const key of heartbeats) byDevice.delete(key)
    if (byDevice.size === 0) return { accepted: heartbeats.size, duplicate: 0 }
    const devices = [...byDevice.values()].map((list) => list[0]!)
    const { rows: openRows } = await sql<{ device_type: DeviceType, device_id: string, state: DeviceState, observed_at: Date, run_started_at: Date }>`
      select d.device_type, d.device_id, d.state, d.observed_at, d.run_started_at
      from unnest(${devices.map((e) => e.deviceType)}::text[], ${devices.map((e) => e.deviceId)}::text[]) as asked(device_type, device_id)
      join device_status d on d.province_code = ${province} and d.device_type = asked.device_type and d.device_id = asked.device_id`.execute(db)
    const before = new Map(openRows.map((row) => [deviceKey(row.device_type, row.device_id),
      { state: row.state, startedAt: row.run_started_at.getTime(), lastSeenAt: row.observed_at.getTime() } satisfies OpenPeriod]))

    const outcomes = new Map<string, { device: StatusEvent, outcome: DeviceOutcome }>()
    for (const [key, list] of byDevice) outcomes.set(key, { device: list[0]!, outcome: walkDevice(before.get(key), list, staleAfterMs) })
    let accepted = heartbeats.size
    let duplicate = 0
    for (const { outcome } of outcomes.values()) {
      accepted += outcome.accepted
      duplicate += outcome.duplicate
    }
    const late = [...outcomes.values()].flatMap(({ outcome }) => outcome.late)
    const periodMonths = [...outcomes.values()].flatMap(({ outcome }) => outcome.opened.map((p) => monthOf(new Date(p.startedAt))))
      .concat(late.map((e) => monthOf(new Date(e.observedAt))))
    const dayMonths = [...outcomes.values()].flatMap(({ outcome }) => [...outcome.days.keys()].map(monthOfDay))
      .concat(late.map((e) => monthOfDay(vietnamDay(Date.parse(e.observedAt)))))
    partitionsReady({ history: periodMonths, days: dayMonths })

    if (late.length > 0) {
      const kept = await this.keepLate(db, province, late, before, receivedAt)
      accepted += kept.length
      duplicate += late.length - kept.length
      for (const event of kept) addReport(outcomes.get(deviceKey(event.deviceType, event.deviceId))!.outcome.days, Date.parse(event.observedAt), event.state)
    }
    await this.savePeriods(db, province, [...outcomes.values()], before, receivedAt)
    return { accepted, duplicate }
  }

  /**
   * The common case in one statement: a device's only report of the batch that continues its
   * open period (same state, newer, on the same Vietnam day, within the stale limit) moves its
   * last-seen time and details, as the walk would. Answers the devices so handled.
   */
  private async continuePeriods(db: Db, province: string, singles: StatusEvent[], receivedAt: Date, staleAfterMs: number): Promise<Set<string>> {
    if (singles.length === 0) return new Set()
    const { rows } = await sql<{ device_type: DeviceType, device_id: string }>`
      update device_status d set observed_at = e."observedAt", fault_code = e."faultCode", fault_message = e."faultMessage",
        volume_percent = e."volumePercent", signal_dbm = e."signalDbm", supply_voltage = e."supplyVoltage",
        temperature_c = e."temperatureC", received_at = ${receivedAt}::timestamptz
      from ${eventRows(singles)}
      where d.province_code = ${province} and d.device_type = e."deviceType" and d.device_id = e."deviceId" and d.state = e.state
        and e."observedAt" > d.observed_at and e."observedAt" <= d.observed_at + ${`${staleAfterMs} milliseconds`}::interval
        and ((d.observed_at at time zone 'UTC') + interval '7 hours')::date = ((e."observedAt" at time zone 'UTC') + interval '7 hours')::date
      returning d.device_type, d.device_id`.execute(db)
    return new Set(rows.map((row) => deviceKey(row.device_type, row.device_id)))
  }

  /** Keeps the late events that add something as periods of one instant; answers those kept. */
  private async keepLate(db: Db, province: string, late: StatusEvent[], before: Map<string, OpenPeriod>, receivedAt: Date): Promise<StatusEvent[]> {
    const { rows: covering } = await sql<{ i: number, state: DeviceState | null, last_seen_at: Date | null }>`
      select l.i::int as i, h.state, h.last_seen_at
      from unnest(${late.map((e) => e.deviceType)}::text[], ${late.map((e) => e.deviceId)}::text[], ${late.map((e) => e.observedAt)}::timestamptz[])
        with ordinality as l(device_type, device_id, at, i)
      left join lateral (
        select state, last_seen_at from device_status_history h
        where h.province_code = ${province} and h.device_type = l.device_type and h.device_id = l.device_id and h.observed_at <= l.at and not h.late
        order by h.observed_at desc limit 1
      ) h on true`.execute(db)
    const candidates = late.filter((event, index) => {
      const open = before.get(deviceKey(event.deviceType, event.deviceId))
      const at = Date.parse(event.observedAt)
      const stored = covering[index]!
      const period = open && at >= open.startedAt ? open
        : stored.state ? { state: stored.state, lastSeenAt: stored.last_seen_at!.getTime() } : undefined
      return !lateAddsNothing(event, period)
    })
    if (candidates.length === 0) return []
    const { rows } = await sql<{ device_type: string, device_id: string, observed_at: Date, state: string }>`
      insert into device_status_history (province_code, device_type, device_id, observed_at, last_seen_at, late, state, fault_code, fault_message,
        volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
      select ${province}, e."deviceType", e."deviceId", e."observedAt", e."observedAt", true, e.state, e."faultCode", e."faultMessage",
        e."volumePercent", e."signalDbm", e."supplyVoltage", e."temperatureC", ${receivedAt}::timestamptz
      from ${eventRows(candidates)}
      on conflict do nothing
      returning device_type, device_id, observed_at, state`.execute(db)
    // A conflict is an exact repeat of a stored period's first report, or of another late event of the batch.
    const kept = new Set(rows.map((row) => `${deviceKey(row.device_type, row.device_id)}@${row.observed_at.toISOString()}/${row.state}`))
    return candidates.filter((event) => kept.delete(`${deviceKey(event.deviceType, event.deviceId)}@${event.observedAt}/${event.state}`))
  }

  /** Closes the periods the batch ended, opens those it began, moves the current states and adds the time to the days: one statement. */
  private async savePeriods(db: Db, province: string, outcomes: { device: StatusEvent, outcome: DeviceOutcome }[], before: Map<string, OpenPeriod>, receivedAt: Date) {
    const closed = outcomes.filter(({ outcome }) => outcome.closedLastSeenAt !== undefined)
    const opened = outcomes.flatMap(({ outcome }) => outcome.opened.map((period) => ({ ...period.event, lastSeenAt: new Date(period.lastSeenAt).toISOString() })))
    const moved = outcomes.filter(({ outcome }) => outcome.open !== undefined)
    const days = outcomes.flatMap(({ device, outcome }) => [...outcome.days].map(([day, tally]) => ({ device, day, tally })))
    const provinceDays = new Map<number, DayTally>()
    for (const { day, tally } of days) addTally(tallyOf(provinceDays, day), tally)
    const durations = (list: DayTally[]) => ACCOUNTED_STATES.map((state) => sql`${list.map((t) => t.ms[state])}::bigint[]`)
    const lastSeen = (list: DayTally[]) => list.map((t) => t.lastSeenAt === undefined ? null : new Date(t.lastSeenAt).toISOString())
    const provinceTallies = [...provinceDays.values()]
    await sql`
      with closed as (
        update device_status_history h set last_seen_at = c.last_seen_at
        from unnest(${closed.map((c) => c.device.deviceType)}::text[], ${closed.map((c) => c.device.deviceId)}::text[],
          ${closed.map((c) => new Date(before.get(deviceKey(c.device.deviceType, c.device.deviceId))!.startedAt).toISOString())}::timestamptz[],
          ${closed.map((c) => before.get(deviceKey(c.device.deviceType, c.device.deviceId))!.state)}::text[],
          ${closed.map((c) => new Date(c.outcome.closedLastSeenAt!).toISOString())}::timestamptz[]) as c(device_type, device_id, started_at, state, last_seen_at)
        where h.province_code = ${province} and h.device_type = c.device_type and h.device_id = c.device_id and h.observed_at = c.started_at
          and h.state = c.state
      ),
      opened as (
        insert into device_status_history (province_code, device_type, device_id, observed_at, last_seen_at, state, fault_code, fault_message,
          volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
        select ${province}, e."deviceType", e."deviceId", e."observedAt", l.last_seen_at, e.state, e."faultCode", e."faultMessage",
          e."volumePercent", e."signalDbm", e."supplyVoltage", e."temperatureC", ${receivedAt}::timestamptz
        from ${eventRows(opened)} join unnest(${opened.map((e) => e.lastSeenAt)}::timestamptz[]) with ordinality as l(last_seen_at, i) on l.i = e.i
        on conflict do nothing
      ),
      current as (
        insert into device_status (province_code, device_type, device_id, state, observed_at, run_started_at, fault_code, fault_message,
          volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
        select ${province}, e."deviceType", e."deviceId", e.state, e."observedAt", r.run_started_at, e."faultCode", e."faultMessage",
          e."volumePercent", e."signalDbm", e."supplyVoltage", e."temperatureC", ${receivedAt}::timestamptz
        from ${eventRows(moved.map((m) => m.outcome.open!.event))}
        join unnest(${moved.map((m) => new Date(m.outcome.open!.startedAt).toISOString())}::timestamptz[]) with ordinality as r(run_started_at, i) on r.i = e.i
        on conflict (province_code, device_type, device_id) do update set
          state = excluded.state, observed_at = excluded.observed_at, run_started_at = excluded.run_started_at, fault_code = excluded.fault_code,
          fault_message = excluded.fault_message, volume_percent = excluded.volume_percent, signal_dbm = excluded.signal_dbm,
          supply_voltage = excluded.supply_voltage, temperature_c = excluded.temperature_c, received_at = excluded.received_at
      ),
      device_days as (
        insert into device_status_days as d (province_code, device_type, device_id, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
        select ${province}, t.* from unnest(${days.map((d) => d.device.deviceType)}::text[], ${days.map((d) => d.device.deviceId)}::text[],
          ${days.map((d) => dayDate(d.day))}::date[], ${sql.join(durations(days.map((d) => d.tally)))},
          ${days.map((d) => d.tally.faults)}::int[], ${lastSeen(days.map((d) => d.tally))}::timestamptz[]) as t
        on conflict (province_code, device_type, device_id, day) do update set
          online_ms = d.online_ms + excluded.online_ms, offline_ms = d.offline_ms + excluded.offline_ms, playing_ms = d.playing_ms + excluded.playing_ms,
          idle_ms = d.idle_ms + excluded.idle_ms, fault_ms = d.fault_ms + excluded.fault_ms, silent_ms = d.silent_ms + excluded.silent_ms,
          faults = d.faults + excluded.faults, last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)
      )
      insert into province_status_days as p (province_code, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
      select ${province}, t.* from unnest(${[...provinceDays.keys()].map(dayDate)}::date[], ${sql.join(durations(provinceTallies))},
        ${provinceTallies.map((t) => t.faults)}::int[], ${lastSeen(provinceTallies)}::timestamptz[]) as t
      on conflict (province_code, day) do update set
        online_ms = p.online_ms + excluded.online_ms, offline_ms = p.offline_ms + excluded.offline_ms, playing_ms = p.playing_ms + excluded.playing_ms,
        idle_ms = p.idle_ms + excluded.idle_ms, fault_ms = p.fault_ms + excluded.fault_ms, silent_ms = p.silent_ms + excluded.silent_ms,
        faults = p.faults + excluded.faults, last_seen_at = greatest(p.last_seen_at, excluded.last_seen_at)`.execute(db)
  }

  /** Current states ordered by (type, id); `limit + 1` rows so the caller knows whether more follow. */
  async list(filter: StatusListFilter) {
    let query = this.db.selectFrom('device_status as d').selectAll()
      .select(sql<boolean>`d.observed_at < ${filter.staleBefore}`.as('stale'))
      .where('d.province_code', '=', filter.province)
      .orderBy('d.device_type').orderBy('d.device_id').limit(filter.limit + 1)
    if (filter.state) query = query.where('d.state', '=', filter.state)
    if (filter.type) query = query.where('d.device_type', '=', filter.type)
    if (filter.stale !== undefined) query = query.where('d.observed_at', filter.stale ? '<' : '>=', filter.staleBefore)
    if (filter.after) query = query.where(sql<boolean>`(d.device_type, d.device_id) > (${filter.after[0]}, ${filter.after[1]})`)
    if (filter.commune) {
      const commune = filter.commune
      query = query.where(sql<boolean>`case d.device_type
        when 'station' then exists (select 1 from stations s where s.province_code = d.province_code and s.id = d.device_id and s.commune_code = ${commune})
        when 'board' then exists (select 1 from boards b where b.province_code = d.province_code and b.id = d.device_id and b.commune_code = ${commune})
        else exists (select 1 from clusters c join stations s on s.province_code = c.province_code and s.id = c.station_id
          where c.province_code = d.province_code and c.id = d.device_id and s.commune_code = ${commune}) end`)
    }
    const rows = await query.execute()
    return rows.map((row) => ({
      deviceType: row.device_type,
      deviceId: row.device_id,
      state: row.state,
      observedAt: row.observed_at.toISOString(),
      receivedAt: row.received_at.toISOString(),
      stale: row.stale,
      ...eventFields(row),
    }))
  }

  async hasCurrentState(province: string, type: DeviceType, id: string): Promise<boolean> {
    const row = await this.db.selectFrom('device_status').select('device_id')
      .where('province_code', '=', province).where('device_type', '=', type).where('device_id', '=', id).executeTakeFirst()
    return row !== undefined
  }

  /**
   * A device's periods, newest first, keyed by (observedAt, state) for the cursor. The open
   * period's last report is the device's newest, kept in its current state.
   */
  async history(filter: HistoryFilter) {
    let query = this.db.selectFrom('device_status_history as h')
      .leftJoin('device_status as d', (join) => join.onRef('d.province_code', '=', 'h.province_code')
        .onRef('d.device_type', '=', 'h.device_type').onRef('d.device_id', '=', 'h.device_id')
        .onRef('d.run_started_at', '=', 'h.observed_at').onRef('d.state', '=', 'h.state'))
      .select(['h.state', 'h.observed_at', 'h.received_at', 'h.fault_code', 'h.fault_message', 'h.volume_percent', 'h.signal_dbm', 'h.supply_voltage', 'h.temperature_c'])
      .select(sql<Date>`greatest(h.last_seen_at, d.observed_at)`.as('last_seen_at'))
      .where('h.province_code', '=', filter.province).where('h.device_type', '=', filter.type).where('h.device_id', '=', filter.id)
      .orderBy('h.observed_at', 'desc').orderBy('h.state', 'desc').limit(filter.limit + 1)
    if (filter.from) query = query.where('h.observed_at', '>=', filter.from)
    if (filter.to) query = query.where('h.observed_at', '<', filter.to)
    if (filter.after) query = query.where(sql<boolean>`(h.observed_at, h.state) < (${filter.after[0]}::timestamptz, ${filter.after[1]})`)
    const rows = await query.execute()
    return rows.map((row) => ({
      state: row.state,
      observedAt: row.observed_at.toISOString(),
      lastSeenAt: row.last_seen_at.toISOString(),
      receivedAt: row.received_at.toISOString(),
      ...eventFields(row),
    }))
  }

  /** Per province and state: devices, how many of them are stale, and the newest report. */
  async summary(staleBefore: Date): Promise<ProvinceSummaryRow[]> {
    const { rows } = await sql<{ province: string, state: DeviceState, devices: number, stale: number, last_report_at: Date }>`
      select province_code as province, state, count(*)::int as devices,
        (count(*) filter (where observed_at < ${staleBefore}))::int as stale, max(observed_at) as last_report_at
      from device_status group by province_code, state order by province_code, state`.execute(this.db)
    return rows.map((row) => ({ province: row.province, state: row.state, devices: row.devices, stale: row.stale, lastReportAt: row.last_report_at }))
  }
}
