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

  async stations(only?: string): Promise<Section<'stations'>> {
    const { rows } = await sql<{ province_code: string, kind: string, status: string, n: number }>`
      select province_code, kind, status, count(*)::int as n from stations
      where deleted_at is null ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code, kind, status`.execute(this.db)
    const sections = new Map<string, Figures['stations']>()
    for (const row of rows) {
      let s = sections.get(row.province_code)
      if (!s) sections.set(row.province_code, s = { total: 0, wired: 0, fm: 0, wiredFm: 0, ip: 0, operating: 0, degraded: 0, outOfService: 0, decommissioned: 0, ipShare: 0 })
      const n = num(row.n)
      if (row.status === 'decommissioned') {
        s.decommissioned += n
        continue
      }
      s.total += n
      s[row.kind === 'wired_fm' ? 'wiredFm' : row.kind as 'wired' | 'fm' | 'ip'] += n
      s[row.status === 'out_of_service' ? 'outOfService' : row.status as 'operating' | 'degraded'] += n
    }
    for (const s of sections.values()) s.ipShare = ipShare(s)
    return sections
  }

  async clusters(only?: string): Promise<Section<'clusters'>> {
    const { rows } = await sql<{ province_code: string, kind: 'ip' | 'fm' | 'wired', n: number }>`
      select province_code, kind, count(*)::int as n from clusters
      where deleted_at is null and status <> 'decommissioned' ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code, kind`.execute(this.db)
    const sections = new Map<string, Figures['clusters']>()
    for (const row of rows) {
      let s = sections.get(row.province_code)
      if (!s) sections.set(row.province_code, s = { total: 0, ip: 0, fm: 0, wired: 0 })
      s.total += num(row.n)
      s[row.kind] += num(row.n)
    }
    return sections
  }

  /** The programmes of the guidance, counted from the stations and clusters in place. */
  async programmes(only?: string): Promise<Section<'programmes'>> {
    const { rows } = await sql<{ province_code: string, new_stations: number, replacement_clusters: number, clusters_replaced: number, extension_clusters: number, villages: number }>`
      with stations_in_place as (
        select province_code, count(*) filter (where programme = 'new_station')::int as new_stations from stations
        where deleted_at is null and status <> 'decommissioned' ${only ? sql`and province_code = ${only}` : sql``}
        group by province_code
      ), clusters_in_place as (
        select province_code,
          count(distinct id) filter (where programme = 'replacement')::int as replacement_clusters,
          count(distinct replaced) filter (where programme = 'replacement')::int as clusters_replaced,
          count(distinct id) filter (where programme = 'extension')::int as extension_clusters
        from clusters left join lateral unnest(replaces) as replaced on true
        where deleted_at is null and status <> 'decommissioned' and programme is not null ${only ? sql`and province_code = ${only}` : sql``}
        group by province_code
      ), villages as (
        select province_code, count(distinct (station_id, village_name))::int as villages
        from clusters, unnest(case when cardinality(villages_covered) > 0 then villages_covered else array[village] end) as village_name
        where deleted_at is null and status <> 'decommissioned' and programme = 'extension' and village_name is not null ${only ? sql`and province_code = ${only}` : sql``}
        group by province_code
      )
      select coalesce(s.province_code, c.province_code, v.province_code) as province_code, coalesce(s.new_stations, 0) as new_stations,
        coalesce(c.replacement_clusters, 0) as replacement_clusters, coalesce(c.clusters_replaced, 0) as clusters_replaced,
        coalesce(c.extension_clusters, 0) as extension_clusters, coalesce(v.villages, 0) as villages
      from stations_in_place s full join clusters_in_place c using (province_code) full join villages v using (province_code)`.execute(this.db)
    return new Map(rows.map((r) => [r.province_code, {
      newStations: num(r.new_stations), replacementClusters: num(r.replacement_clusters), clustersReplaced: num(r.clusters_replaced),
      extensionClusters: num(r.extension_clusters), villagesNewlyCovered: num(r.villages),
    }]))
  }

  async boards(only?: string): Promise<Section<'boards'>> {
    const { rows } = await sql<{ province_code: string, n: number }>`
      select province_code, count(*)::int as n from boards
      where deleted_at is null and status <> 'decommissioned' ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`.execute(this.db)
    return new Map(rows.map((r) => [r.province_code, { total: num(r.n) }]))
  }

  /**
   * The newest state of every device still in place, by freshness: staleness is decided here,
   * at read time. Devices in place are counted by the registry sections, so only reports are
   * counted here.
   */
  async devices(now: Date, staleAfterSeconds: number, only?: string): Promise<Map<string, ReportedDevices>> {
    const staleBefore = new Date(now.getTime() - staleAfterSeconds * 1000)
    const province = only ? sql`and province_code = ${only}` : sql``
    const gone = (table: 'stations' | 'clusters' | 'boards', type: string) => sql`
      select province_code, ${type}::text as device_type, id from ${sql.table(table)}
      where (deleted_at is not null or status = 'decommissioned') ${province}`
    const { rows } = await sql<{ province_code: string } & ReportedDevices>`
      select s.province_code, count(*)::int as reported,
        (count(*) filter (where s.observed_at >= ${staleBefore} and s.state in ('online', 'playing', 'idle')))::int as online,
        (count(*) filter (where s.observed_at >= ${staleBefore} and s.state in ('offline', 'fault')))::int as offline,
        (count(*) filter (where s.observed_at < ${staleBefore}))::int as stale
      from device_status s
      where not exists (
        select 1 from (${gone('stations', 'station')} union all ${gone('clusters', 'cluster')} union all ${gone('boards', 'board')}) g
        where g.province_code collate "C" = s.province_code and g.device_type = s.device_type and g.id collate "C" = s.device_id)
        ${only ? sql`and s.province_code = ${only}` : sql``}
      group by s.province_code`.execute(this.db)
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

  /** For central's items of the last 30 days, per target province: delivered, acknowledged, played. */
  async content(now: Date, only?: string): Promise<Section<'content'>> {
    const since = new Date(now.getTime() - 30 * 86_400_000)
    const { rows } = await sql<{ province_code: string, items: number, delivered: number, acknowledged: number, played: number }>`
      select p.code as province_code, count(*)::int as items,
        (count(*) filter (where acked or exists (select 1 from webhook_outbox w where w.content_id = c.id and w.province_code = p.code and w.state = 'delivered')))::int as delivered,
        (count(*) filter (where acked))::int as acknowledged,
        (count(*) filter (where exists (select 1 from broadcast_logs b where b.content_id = c.id and b.province_code = p.code)))::int as played
      from admin_units p
      join contents c on c.origin = 'central' and c.published_at >= ${since} and (c.targets is null or p.code = any(c.targets))
      cross join lateral (select exists (select 1 from content_acks a where a.content_id = c.id and a.province_code = p.code) as acked) ack
      where p.level = 'province' and p.status = 'active' ${only ? sql`and p.code = ${only}` : sql``}
      group by p.code`.execute(this.db)
    return new Map(rows.map((r) => [r.province_code, { items: r.items, delivered: r.delivered, acknowledged: r.acknowledged, played: r.played }]))
  }
}

const roundHours = (hours: number) => Math.round(Number(hours) * 100) / 100

/** The calendar day in Vietnam (UTC+7, no daylight saving), YYYY-MM-DD. */
const vietnamDay = (at: Date) => new Date(at.getTime() + 7 * 3_600_000).toISOString().slice(0, 10)

export const ipShare = (stations: { total: number, ip: number }) =>
  stations.total === 0 ? 0 : Math.round((stations.ip / stations.total) * 10_000) / 10_000
