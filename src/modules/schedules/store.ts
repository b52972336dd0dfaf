import { sql } from 'kysely'
import type { Static } from 'typebox'
import type { BroadcastSchedule, CrossCheckCounts, ScheduleMismatch, StationCrossCheck, StoredSlot } from '../../../schemas/schedules.js'
import type { Db } from '../../db/database.js'
import { compareKeys, part, runParts, type JsonRow } from '../../db/parts.js'
import { dateDay, dayDate, vietnamDayStart } from '../status/periods.js'
import type { DayPlan } from './service.js'

type Schedule = Static<typeof BroadcastSchedule>
type Slot = Static<typeof StoredSlot>
type Counts = Static<typeof CrossCheckCounts>
type Mismatch = Static<typeof ScheduleMismatch>

const INSERT_CHUNK = 1000

/** The order of the two kinds of mismatch at the same start and station, as the cursor holds it. */
const KINDS = ['planned-not-aired', 'aired-not-planned'] as const

export interface ScheduleFilter {
  province: string
  date?: string | undefined
  station?: string | undefined
  limit: number
  /** (day, station) of the last schedule of the previous page. */
  after: readonly [string, string] | undefined
}

export interface CrossCheckRequest {
  province: string
  /** First and last Vietnam day, as days since 1970-01-01. */
  from: number
  to: number
  checkedAt: Date
  limit: number
  /** (start, station, kind) of the last mismatch of the previous page. */
  after: readonly [string, string, number] | undefined
}

export interface CrossCheckRows {
  stations: Static<typeof StationCrossCheck>[]
  counts: Counts
  mismatches: Mismatch[]
}

const iso = (value: string | Date) => new Date(value).toISOString()

/** A slot row, from a query (dates) or from JSON (text). */
const slotOf = (row: JsonRow): Slot => ({
  startsAt: iso(row.starts_at),
  durationSeconds: Math.round((new Date(row.ends_at).getTime() - new Date(row.starts_at).getTime()) / 1000),
  ...(row.content_id === null ? {} : { contentId: row.content_id }),
  ...(row.local_programme === null ? {} : { localProgramme: row.local_programme }),
  source: row.source,
  endsAt: iso(row.ends_at),
})

/** The first instant of each day and of the day after, for reading a day's stretch of a station's slots. */
const dayBounds = (days: string[]) => ({
  starts: days.map((d) => new Date(vietnamDayStart(dateDay(d)))),
  ends: days.map((d) => new Date(vietnamDayStart(dateDay(d) + 1))),
})

const emptyCounts = (): Counts => ({ slots: 0, aired: 0, plannedNotAired: 0, upcoming: 0, logs: 0, matchedLogs: 0, airedNotPlanned: 0, unscheduled: 0 })

export class ScheduleStore {
  constructor(private readonly db: Db) {}

  /** Of the ids given, the province's stations in place (not deleted). */
  async stations(trx: Db, province: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await trx.selectFrom('stations').select('id').where('province_code', '=', province).where('id', 'in', ids).where('deleted_at', 'is', null).execute()
    return new Set(rows.map((r) => r.id))
  }

  /** The stored version and digest of each station-day named, keyed `station/date`. */
  async versions(trx: Db, province: string, keys: { stationId: string, date: string }[]): Promise<Map<string, { version: number, hash: string }>> {
    const { rows } = await sql<{ station_id: string, day: string, version: number, slots_hash: string }>`
      select h.station_id, h.day, h.version, h.slots_hash from broadcast_schedules h
      join unnest(${keys.map((k) => k.stationId)}::text[], ${keys.map((k) => k.date)}::date[]) as k(station_id, day)
        on h.station_id = k.station_id and h.day = k.day
      where h.province_code = ${province}`.execute(trx)
    return new Map(rows.map((r) => [`${r.station_id}/${r.day}`, { version: r.version, hash: r.slots_hash }]))
  }

  /**
   * Replaces the slots of each station-day given and stores its version, then has the database
   * recompute the cross-check of those days and of the days either side, whose plays may have
   * aired a slot that changed.
   */
  async replace(trx: Db, province: string, plans: (DayPlan & { version: number })[], at: Date): Promise<void> {
    if (plans.length === 0) return
    const stations = plans.map((p) => p.stationId)
    const days = plans.map((p) => p.date)
    const { starts, ends } = dayBounds(days)
    await sql`
      delete from broadcast_schedule_slots s using unnest(${stations}::text[], ${starts}::timestamptz[], ${ends}::timestamptz[]) as k(station_id, day_start, day_end)
      where s.province_code = ${province} and s.station_id = k.station_id and s.starts_at >= k.day_start and s.starts_at < k.day_end`.execute(trx)
    await trx.insertInto('broadcast_schedules')
      .values(plans.map((p) => ({ province_code: province, station_id: p.stationId, day: p.date, version: p.version, slots_hash: p.hash, slots: p.slots.length, updated_at: at })))
      .onConflict((oc) => oc.columns(['province_code', 'station_id', 'day']).doUpdateSet((eb) => ({
        version: eb.ref('excluded.version'), slots_hash: eb.ref('excluded.slots_hash'), slots: eb.ref('excluded.slots'), updated_at: eb.ref('excluded.updated_at'),
      })))
      .execute()
    const slots = plans.flatMap((p) => p.slots.map((s) => ({
      province_code: province, station_id: p.stationId, day: p.date, starts_at: new Date(s.start), ends_at: new Date(s.end),
      content_id: s.contentId, local_programme: s.localProgramme, source: s.source,
    })))
    for (let i = 0; i < slots.length; i += INSERT_CHUNK) await trx.insertInto('broadcast_schedule_slots').values(slots.slice(i, i + INSERT_CHUNK)).execute()
    await sql`select broadcast_schedule_pushed(${province}, ${stations}::text[], ${days}::date[])`.execute(trx)
  }

  /** A province's schedules, latest day first, then by station, with their slots. */
  async list(filter: ScheduleFilter): Promise<Schedule[]> {
    let query = this.db.selectFrom('broadcast_schedules').select(['station_id', 'day', 'version', 'updated_at'])
      .where('province_code', '=', filter.province).orderBy('day', 'desc').orderBy('station_id').limit(filter.limit + 1)
    if (filter.date) query = query.where('day', '=', filter.date)
    if (filter.station) query = query.where('station_id', '=', filter.station)
    if (filter.after) query = query.where(sql<boolean>`(day < ${filter.after[0]}::date or (day = ${filter.after[0]}::date and station_id > ${filter.after[1]}))`)
    const schedules = await query.execute()
    if (schedules.length === 0) return []
    const { starts, ends } = dayBounds(schedules.map((h) => h.day))
    const slots = await sql<{ station_id: string, day: string, starts_at: Date, ends_at: Date, content_id: string | null, local_programme: string | null, source: string }>`
      select s.station_id, s.day, s.starts_at, s.ends_at, s.content_id, s.local_programme, s.source from broadcast_schedule_slots s
      join unnest(${schedules.map((h) => h.station_id)}::text[], ${starts}::timestamptz[], ${ends}::timestamptz[]) as k(station_id, day_start, day_end)
        on s.station_id = k.station_id and s.starts_at >= k.day_start and s.starts_at < k.day_end
      where s.province_code = ${filter.province}
      order by s.starts_at`.execute(this.db)
    const byDay = new Map<string, Slot[]>()
    for (const row of slots.rows) {
      const key = `${row.station_id}/${row.day}`
      byDay.set(key, [...(byDay.get(key) ?? []), slotOf(row)])
    }
    return schedules.map((h) => ({
      stationId: h.station_id, date: h.day, version: h.version, updatedAt: h.updated_at.toISOString(), slots: byDay.get(`${h.station_id}/${h.day}`) ?? [],
    }))
  }

  /**
   * The figures of each station over the days, from the ones the database keeps per station-day,
   * and a page of mismatches from the slots' flags and the plays it keeps as unplanned, in one
   * statement (one snapshot).
   */
  async crossCheck(request: CrossCheckRequest): Promise<CrossCheckRows> {
    const { province, checkedAt, limit, after } = request
    const first = new Date(vietnamDayStart(request.from))
    const end = new Date(vietnamDayStart(request.to + 1))
    const [from, to] = [dayDate(request.from), dayDate(request.to)]
    const lower = after && Date.parse(after[0]) > first.getTime() ? new Date(after[0]) : first
    const past = (column: string, station: string, kind: number) => (after
      ? sql`and (${sql.ref(column)}, ${sql.ref(station)}, ${kind}) > (${after[0]}::timestamptz, ${after[1]}::text, ${after[2]}::int)`
      : sql``)
    const { stations, mismatches } = await runParts(this.db, {
      stations: part(sql`
        with scheduled as (
          select station_id, sum(slots)::int as slots, sum(aired)::int as aired, sum(logs)::int as logs, sum(matched_logs)::int as matched_logs
          from broadcast_schedules where province_code = ${province} and day between ${from}::date and ${to}::date group by station_id
        ),
        upcoming as (
          select station_id, count(*)::int as upcoming from broadcast_schedule_slots
          where province_code = ${province} and not aired and starts_at >= ${first} and starts_at < ${end}
            and starts_at > ${checkedAt}::timestamptz - interval '1 day' and ends_at > ${checkedAt}
          group by station_id
        ),
        plays as (
          select station_id, count(*)::int as plays from broadcast_logs
          where province_code = ${province} and started_at >= ${first} and started_at < ${end} group by station_id
        )
        select station_id, coalesce(s.slots, 0) as slots, coalesce(s.aired, 0) as aired, coalesce(u.upcoming, 0) as upcoming,
          coalesce(p.plays, 0) as plays, coalesce(s.logs, 0) as logs, coalesce(s.matched_logs, 0) as matched_logs
        from scheduled s full join upcoming u using (station_id) full join plays p using (station_id)`,
      (rows) => rows.map((r): Static<typeof StationCrossCheck> => ({
        stationId: r.station_id,
        counts: {
          slots: r.slots, aired: r.aired, plannedNotAired: r.slots - r.aired - r.upcoming, upcoming: r.upcoming,
          logs: r.plays, matchedLogs: r.matched_logs, airedNotPlanned: r.logs - r.matched_logs, unscheduled: r.plays - r.logs,
        },
      })).sort((a, b) => compareKeys(a.stationId, b.stationId))),
      mismatches: part(sql`
        select * from (
          (select 0 as kind, s.station_id, s.day, s.starts_at as at, s.ends_at, s.content_id, s.local_programme, s.source,
             null::text as local_ref, null::int as clusters_reached, null::timestamptz as received_at
           from broadcast_schedule_slots s
           where s.province_code = ${province} and not s.aired and s.starts_at >= ${lower} and s.starts_at < ${end} and s.ends_at <= ${checkedAt}
             ${past('s.starts_at', 's.station_id', 0)}
           order by s.starts_at, s.station_id limit ${limit + 1})
          union all
          (select 1, b.station_id, ((b.started_at at time zone 'UTC') + interval '7 hours')::date, b.started_at, b.ended_at, b.content_id, null, b.source,
             b.local_ref, b.clusters_reached, b.received_at
           from broadcast_schedule_unplanned u
           join broadcast_logs b on b.province_code = u.province_code and b.station_id = u.station_id and b.started_at = u.started_at
           where u.province_code = ${province} and u.started_at >= ${lower} and u.started_at < ${end}
             ${past('u.started_at', 'u.station_id', 1)}
           order by u.started_at, u.station_id limit ${limit + 1})
        ) m order by at, station_id, kind limit ${limit + 1}`,
      (rows) => rows.map((r): Mismatch => (r.kind === 0
        ? { kind: KINDS[0], stationId: r.station_id, date: r.day, slot: slotOf({ ...r, starts_at: r.at }) }
        : {
            kind: KINDS[1], stationId: r.station_id, date: r.day,
            play: {
              stationId: r.station_id, ...(r.content_id === null ? {} : { contentId: r.content_id }), ...(r.local_ref === null ? {} : { localRef: r.local_ref }),
              startedAt: iso(r.at), endedAt: iso(r.ends_at), ...(r.clusters_reached === null ? {} : { clustersReached: r.clusters_reached }),
              source: r.source, receivedAt: iso(r.received_at),
            },
          }))),
    })
    const counts = emptyCounts()
    for (const station of stations) for (const key of Object.keys(counts) as (keyof Counts)[]) counts[key] += station.counts[key]
    return { stations, counts, mismatches }
  }
}

/** The cursor key of a mismatch: its start, station and kind. */
export const mismatchKey = (mismatch: Mismatch): [string, string, number] =>
  [mismatch.slot?.startsAt ?? mismatch.play!.startedAt, mismatch.stationId, KINDS.indexOf(mismatch.kind)]
