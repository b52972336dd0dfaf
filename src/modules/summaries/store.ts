import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Figures } from '../../../schemas/summaries.js'

type Section<K extends keyof Figures> = Map<string, Figures[K]>

/** Devices in place with a status report, by what their newest report says now. */
export interface ReportedDevices { reported: number, online: number, offline: number, stale: number }

const num = (value: unknown) => Number(value ?? 0)

/**
 * The queries behind the summaries. Each answers one section for every province at once (or
 * one province), grouped by province in the database, so a national summary is a handful of
 * set-based statements whatever the number of provinces.
 */
export class SummariesStore {
  constructor(private readonly db: Db) {}

  async provinces(only?: string): Promise<{ code: string, name: string }[]> {
    let query = this.db.selectFrom('admin_units').select(['code', 'name'])
      .where('level', '=', 'province').where('status', '=', 'active')
    if (only) query = query.where('code', '=', only)
    const rows = await query.orderBy('code').execute()
    return rows.map((r) => ({ code: r.code, name: r.name ?? r.code }))
  }

  /**
   * Folds the rows of changes of the registry's and the programmes' counts into one row per
   * count. Only committed rows are seen and moved, in one statement, so a transaction still open
   * keeps its own rows, and two instances folding at once never count a row twice (the second
   * skips the rows the first deleted). Answers how many rows were folded into how many.
   */
  async compactRegistryCounts(): Promise<{ folded: number, kept: number }> {
    const { rows } = await sql<{ folded: number, kept: number }>`
      with moved as (delete from registry_counts returning *),
      kept as (
        insert into registry_counts select province_code, device_type, kind, status, programme, sum(devices)::int from moved
        group by 1, 2, 3, 4, 5 having sum(devices) <> 0 returning 1
      ),
      moved_programmes as (delete from programme_counts returning *),
      kept_programmes as (
        insert into programme_counts select province_code, measure, sum(items)::int from moved_programmes
        group by 1, 2 having sum(items) <> 0 returning 1
      )
      select (select count(*) from moved)::int + (select count(*) from moved_programmes)::int as folded,
        (select count(*) from kept)::int + (select count(*) from kept_programmes)::int as kept`.execute(this.db)
    return rows[0]!
  }

  /** Stations by kind and condition, clusters by kind and boards in place, per province: one read of the maintained counts. */
  async registry(only?: string): Promise<{ stations: Section<'stations'>, clusters: Section<'clusters'>, boards: Section<'boards'> }> {
    const { rows } = await sql<{ province_code: string, device_type: 'station' | 'cluster' | 'board', kind: string | null, status: string, n: number }>`
      select province_code, device_type, kind, status, sum(devices)::int as n from registry_counts
      ${only ? sql`where province_code = ${only}` : sql``}
      group by province_code, device_type, kind, status`.execute(this.db)
    const stations = new Map<string, Figures['stations']>()
    const clusters = new Map<string, Figures['clusters']>()
    const boards = new Map<string, Figures['boards']>()
    for (const row of rows) {
      const n = num(row.n)
      if (row.device_type === 'station') {
        let s = stations.get(row.province_code)
        if (!s) stations.set(row.province_code, s = { total: 0, wired: 0, fm: 0, wiredFm: 0, ip: 0, operating: 0, degraded: 0, outOfService: 0, decommissioned: 0, ipShare: 0 })
        if (row.status === 'decommissioned') {
          s.decommissioned += n
          continue
        }
        s.total += n
        s[row.kind === 'wired_fm' ? 'wiredFm' : row.kind as 'wired' | 'fm' | 'ip'] += n
        s[row.status === 'out_of_service' ? 'outOfService' : row.status as 'operating' | 'degraded'] += n
      } else if (row.status === 'decommissioned') {
        continue
      } else if (row.device_type === 'cluster') {
        let c = clusters.get(row.province_code)
        if (!c) clusters.set(row.province_code, c = { total: 0, ip: 0, fm: 0, wired: 0 })
        c.total += n
        c[row.kind as 'ip' | 'fm' | 'wired'] += n
      } else {
        boards.set(row.province_code, { total: (boards.get(row.province_code)?.total ?? 0) + n })
      }
    }
    for (const s of stations.values()) s.ipShare = ipShare(s)
    return { stations, clusters, boards }
  }

  /**
   * The programmes of the guidance in place: new stations from the registry's counts, the
   * clusters of replacements and extensions and the distinct clusters replaced and villages
   * newly covered from the programmes' counts.
   */
  async programmes(only?: string): Promise<Section<'programmes'>> {
    const { rows } = await sql<{ province_code: string, measure: string, n: number }>`
      select province_code, measure, sum(n)::int as n from (
        select province_code, 'new_stations' as measure, devices as n from registry_counts
        where device_type = 'station' and programme = 'new_station' and status <> 'decommissioned'
        union all select province_code, measure, items from programme_counts
      ) counts ${only ? sql`where province_code = ${only}` : sql``}
      group by province_code, measure`.execute(this.db)
    const sections = new Map<string, Figures['programmes']>()
    const field = { new_stations: 'newStations', replacement_clusters: 'replacementClusters', extension_clusters: 'extensionClusters', clusters_replaced: 'clustersReplaced', villages: 'villagesNewlyCovered' } as const
    for (const row of rows) {
      let section = sections.get(row.province_code)
      if (!section) sections.set(row.province_code, section = { newStations: 0, replacementClusters: 0, clustersReplaced: 0, extensionClusters: 0, villagesNewlyCovered: 0 })
      section[field[row.measure as keyof typeof field]] += num(row.n)
    }
    return sections
  }

  /**
   * The newest state of every device still in place, by freshness, decided here at read time
   * from the devices counted per second of their newest report (kept by the database as reports
   * arrive and devices leave or return to their place). Devices in place are counted by the
   * registry sections, so only reports are counted here. Freshness is judged at the whole second
   * of `now`, so every bucket is wholly fresh or wholly stale.
   */
  async devices(now: Date, staleAfterSeconds: number, only?: string): Promise<Map<string, ReportedDevices>> {
    const staleBefore = Math.floor(now.getTime() / 1000) - staleAfterSeconds
    const { rows } = await sql<{ province_code: string } & ReportedDevices>`
      select province_code, sum(devices)::int as reported,
        coalesce(sum(devices) filter (where seen_second >= ${staleBefore} and state in ('online', 'playing', 'idle')), 0)::int as online,
        coalesce(sum(devices) filter (where seen_second >= ${staleBefore} and state in ('offline', 'fault')), 0)::int as offline,
        coalesce(sum(devices) filter (where seen_second < ${staleBefore}), 0)::int as stale
      from device_state_seconds where in_place ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`.execute(this.db)
    return new Map(rows.map(({ province_code: code, ...counts }) => [code, counts]))
  }

  /** Airtime of the last 7 and 30 Vietnam calendar days, today included, from the daily roll-up. */
  async broadcast(now: Date, only?: string): Promise<Section<'broadcast'>> {
    const today = vietnamDay(now)
    const { rows } = await sql<{ province_code: string, last7: number, last30: number }>`
      select province_code,
        coalesce(sum(seconds) filter (where day > ${today}::date - 7), 0)::float8 / 3600 as last7,
        sum(seconds)::float8 / 3600 as last30
      from broadcast_airtime_daily
      where day > ${today}::date - 30 and day <= ${today}::date ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`.execute(this.db)
    return new Map(rows.map((r) => [r.province_code, { hoursLast7Days: roundHours(r.last7), hoursLast30Days: roundHours(r.last30) }]))
  }

  /** For central's items of the last 30 days, per target province: delivered, acknowledged, played (kept in `content_reach` as they happen). */
  async content(now: Date, only?: string): Promise<Section<'content'>> {
    const since = new Date(now.getTime() - 30 * 86_400_000)
    const { rows } = await sql<{ province_code: string, items: number, delivered: number, acknowledged: number, played: number }>`
      select province_code, count(*)::int as items, (count(*) filter (where delivered))::int as delivered,
        (count(*) filter (where acknowledged))::int as acknowledged, (count(*) filter (where played))::int as played
      from content_reach where published_at >= ${since} ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`.execute(this.db)
    return new Map(rows.map((r) => [r.province_code, { items: r.items, delivered: r.delivered, acknowledged: r.acknowledged, played: r.played }]))
  }
}

const roundHours = (hours: number) => Math.round(Number(hours) * 100) / 100

/** The calendar day in Vietnam (UTC+7, no daylight saving), YYYY-MM-DD. */
const vietnamDay = (at: Date) => new Date(at.getTime() + 7 * 3_600_000).toISOString().slice(0, 10)

export const ipShare = (stations: { total: number, ip: number }) =>
  stations.total === 0 ? 0 : Math.round((stations.ip / stations.total) * 10_000) / 10_000
