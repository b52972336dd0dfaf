import { sql, type Selectable } from 'kysely'
import type { DeviceState, DeviceType, StatusEvent } from '../../../schemas/status.js'
import type { Db } from '../../db/database.js'
import type { DeviceStatusTable } from '../../db/tables.js'

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
function eventFields(row: Selectable<DeviceStatusTable>) {
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
   * Stores checked events (with `observedAt` in canonical UTC form). The history keeps each
   * (device, instant, state) once; the current state moves only to a strictly newer event, so
   * batches arriving late or out of order never overwrite fresher state.
   * Answers how many events were new to the history.
   */
  async write(db: Db, province: string, events: StatusEvent[], receivedAt: Date): Promise<number> {
    const { rows } = await sql<{ stored: number }>`
      with incoming as (
        select * from unnest(
          ${events.map((e) => e.deviceType)}::text[], ${events.map((e) => e.deviceId)}::text[], ${events.map((e) => e.state)}::text[],
          ${events.map((e) => e.observedAt)}::timestamptz[], ${events.map((e) => e.faultCode ?? null)}::text[],
          ${events.map((e) => e.faultMessage ?? null)}::text[], ${events.map((e) => e.volumePercent ?? null)}::smallint[],
          ${events.map((e) => e.signalDbm ?? null)}::real[], ${events.map((e) => e.supplyVoltage ?? null)}::real[],
          ${events.map((e) => e.temperatureC ?? null)}::real[]
        ) as e("deviceType", "deviceId", state, "observedAt", "faultCode", "faultMessage", "volumePercent", "signalDbm", "supplyVoltage", "temperatureC")
      ),
      stored as (
        insert into device_status_history (province_code, device_type, device_id, observed_at, state, fault_code, fault_message,
          volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
        select ${province}, "deviceType", "deviceId", "observedAt", state, "faultCode", "faultMessage",
          "volumePercent", "signalDbm", "supplyVoltage", "temperatureC", ${receivedAt}::timestamptz
        from incoming
        on conflict do nothing
        returning 1
      ),
      newest as (
        insert into device_status (province_code, device_type, device_id, state, observed_at, fault_code, fault_message,
          volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
        select distinct on ("deviceType", "deviceId") ${province}, "deviceType", "deviceId", state, "observedAt", "faultCode", "faultMessage",
          "volumePercent", "signalDbm", "supplyVoltage", "temperatureC", ${receivedAt}::timestamptz
        from incoming
        order by "deviceType", "deviceId", "observedAt" desc, state
        on conflict (province_code, device_type, device_id) do update set
          state = excluded.state, observed_at = excluded.observed_at, fault_code = excluded.fault_code,
          fault_message = excluded.fault_message, volume_percent = excluded.volume_percent, signal_dbm = excluded.signal_dbm,
          supply_voltage = excluded.supply_voltage, temperature_c = excluded.temperature_c, received_at = excluded.received_at
        where excluded.observed_at > device_status.observed_at
      )
      select count(*)::int as stored from stored`.execute(db)
    return rows[0]!.stored
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

  /** A device's events, newest first, keyed by (observedAt, state) for the cursor. */
  async history(filter: HistoryFilter) {
    let query = this.db.selectFrom('device_status_history').selectAll()
      .where('province_code', '=', filter.province).where('device_type', '=', filter.type).where('device_id', '=', filter.id)
      .orderBy('observed_at', 'desc').orderBy('state', 'desc').limit(filter.limit + 1)
    if (filter.from) query = query.where('observed_at', '>=', filter.from)
    if (filter.to) query = query.where('observed_at', '<', filter.to)
    if (filter.after) query = query.where(sql<boolean>`(observed_at, state) < (${filter.after[0]}::timestamptz, ${filter.after[1]})`)
    const rows = await query.execute()
    return rows.map((row) => ({
      state: row.state,
      observedAt: row.observed_at.toISOString(),
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
