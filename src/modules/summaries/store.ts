import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import { compareKeys, part, type Part } from '../../db/parts.js'
import type { Static } from 'typebox'
import type { Figures, PriorityLatency } from '../../../schemas/summaries.js'

type Section<K extends keyof Figures> = Map<string, Figures[K]>
type ExerciseReach = Pick<Figures['exercises'], 'items' | 'delivered' | 'acknowledged' | 'played'>
type ExerciseAirtime = Omit<Figures['exercises'], keyof ExerciseReach>

const PROGRAMME_FIELDS = { new_stations: 'newStations', replacement_clusters: 'replacementClusters', extension_clusters: 'extensionClusters', clusters_replaced: 'clustersReplaced', villages: 'villagesNewlyCovered' } as const

const num = (value: unknown) => Number(value ?? 0)

/**
 * The queries behind the summaries. Each answers one section for every province at once (or
 * one province), grouped by province in the database, as a part of the one statement a summary
 * runs, whatever the number of provinces.
 */
export class SummariesStore {
  constructor(readonly db: Db) {}

  /** The active provinces, in code order. */
  provinces(only?: string): Part<{ code: string, name: string }[]> {
    return part(sql`
      select code, coalesce(name, code) as name from admin_units where level = 'province' and status = 'active'
      ${only ? sql`and code = ${only}` : sql``}`,
    (rows) => rows.map((r) => ({ code: r.code as string, name: r.name as string })).sort((a, b) => compareKeys(a.code, b.code)))
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

  /** Stations by kind and condition, clusters by kind and boards in place, per province: one read of the maintained counts, a row per province. */
  registry(only?: string): Part<{ stations: Section<'stations'>, clusters: Section<'clusters'>, boards: Section<'boards'> }> {
    const count = (name: string, where: string) => sql`coalesce(sum(devices) filter (where ${sql.raw(where)}), 0)::int as ${sql.ref(name)}`
    const inPlace = (type: string) => (name: string, where: string) => count(name, `device_type = '${type}' and status <> 'decommissioned' and ${where}`)
    const station = inPlace('station')
    const cluster = inPlace('cluster')
    return part(sql`
      select province_code, ${sql.join([
        station('s_total', 'true'), station('s_wired', `kind = 'wired'`), station('s_fm', `kind = 'fm'`), station('s_wired_fm', `kind = 'wired_fm'`),
        station('s_ip', `kind = 'ip'`), station('s_operating', `status = 'operating'`), station('s_degraded', `status = 'degraded'`),
        station('s_out', `status = 'out_of_service'`), count('s_decommissioned', `device_type = 'station' and status = 'decommissioned'`),
        cluster('c_total', 'true'), cluster('c_ip', `kind = 'ip'`), cluster('c_fm', `kind = 'fm'`), cluster('c_wired', `kind = 'wired'`),
        inPlace('board')('b_total', 'true'),
      ])}
      from registry_counts ${only ? sql`where province_code = ${only}` : sql``}
      group by province_code`, (rows) => {
      const stations: Section<'stations'> = new Map()
      const clusters: Section<'clusters'> = new Map()
      const boards: Section<'boards'> = new Map()
      for (const r of rows) {
        const figures = {
          total: r.s_total, wired: r.s_wired, fm: r.s_fm, wiredFm: r.s_wired_fm, ip: r.s_ip,
          operating: r.s_operating, degraded: r.s_degraded, outOfService: r.s_out, decommissioned: r.s_decommissioned,
        }
        stations.set(r.province_code, { ...figures, ipShare: ipShare(figures) })
        clusters.set(r.province_code, { total: r.c_total, ip: r.c_ip, fm: r.c_fm, wired: r.c_wired })
        boards.set(r.province_code, { total: r.b_total })
      }
      return { stations, clusters, boards }
    })
  }

  /**
   * The programmes of the guidance in place: new stations from the registry's counts, the
   * clusters of replacements and extensions and the distinct clusters replaced and villages
   * newly covered from the programmes' counts.
   */
  programmes(only?: string): Part<Section<'programmes'>> {
    return part(sql`
      select province_code, measure, sum(n)::int as n from (
        select province_code, 'new_stations' as measure, devices as n from registry_counts
        where device_type = 'station' and programme = 'new_station' and status <> 'decommissioned'
        union all select province_code, measure, items from programme_counts
      ) counts ${only ? sql`where province_code = ${only}` : sql``}
      group by province_code, measure`, (rows) => {
      const sections = new Map<string, Figures['programmes']>()
      for (const row of rows) {
        let section = sections.get(row.province_code)
        if (!section) sections.set(row.province_code, section = { newStations: 0, replacementClusters: 0, clustersReplaced: 0, extensionClusters: 0, villagesNewlyCovered: 0 })
        section[PROGRAMME_FIELDS[row.measure as keyof typeof PROGRAMME_FIELDS]] += num(row.n)
      }
      return sections
    })
  }

  /** Airtime of the last 7 and 30 Vietnam calendar days, today included, from the daily roll-up; exercises' plays and airtime apart. */
  broadcast(now: Date, only?: string): Part<Map<string, { broadcast: Figures['broadcast'], exercises: ExerciseAirtime }>> {
    const today = vietnamDay(now)
    const lastWeek = sql`day > ${today}::date - 7`
    return part(sql`
      select province_code,
        coalesce(sum(seconds) filter (where ${lastWeek}), 0)::float8 / 3600 as last7, sum(seconds)::float8 / 3600 as last30,
        coalesce(sum(exercise_seconds) filter (where ${lastWeek}), 0)::float8 / 3600 as exercise_last7, sum(exercise_seconds)::float8 / 3600 as exercise_last30,
        sum(exercise_plays)::int as exercise_plays
      from broadcast_airtime_daily
      where day > ${today}::date - 30 and day <= ${today}::date ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`, (rows) => new Map(rows.map((r) => [r.province_code, {
      broadcast: { hoursLast7Days: roundHours(r.last7), hoursLast30Days: roundHours(r.last30) },
      exercises: { playsLast30Days: r.exercise_plays, hoursLast7Days: roundHours(r.exercise_last7), hoursLast30Days: roundHours(r.exercise_last30) },
    }])))
  }

  /**
   * Percentiles of the seconds from publication to delivery and to acknowledgement, per priority,
   * over central's items of the last 30 days (exercises apart), for each province and (under the
   * key `nation`) over every pair; from the pairs recorded as they got there.
   */
  latency(now: Date, only?: string): Part<Map<string, Latency[]>> {
    const since = new Date(now.getTime() - 30 * 86_400_000)
    const seconds = (value: number | null) => (value === null ? null : Math.round(Number(value) * 1000) / 1000)
    return part(sql`
      select coalesce(province_code, 'nation') as key, priority, count(*)::int as pairs,
        count(delivered_seconds)::int as delivered, percentile_disc(0.5) within group (order by delivered_seconds) as delivered_p50,
        percentile_disc(0.95) within group (order by delivered_seconds) as delivered_p95,
        count(acknowledged_seconds)::int as acknowledged, percentile_disc(0.5) within group (order by acknowledged_seconds) as acknowledged_p50,
        percentile_disc(0.95) within group (order by acknowledged_seconds) as acknowledged_p95
      from content_latency where published_at >= ${since} and not test ${only ? sql`and province_code = ${only}` : sql``}
      group by grouping sets ((province_code, priority), (priority))`, (rows) => {
      const byKey = new Map<string, Latency[]>()
      for (const r of [...rows].sort((a, b) => PRIORITY_ORDER.indexOf(a.priority) - PRIORITY_ORDER.indexOf(b.priority))) {
        const list = byKey.get(r.key) ?? []
        list.push({
          priority: r.priority, pairs: r.pairs,
          delivered: { pairs: r.delivered, p50Seconds: seconds(r.delivered_p50), p95Seconds: seconds(r.delivered_p95) },
          acknowledged: { pairs: r.acknowledged, p50Seconds: seconds(r.acknowledged_p50), p95Seconds: seconds(r.acknowledged_p95) },
        })
        byKey.set(r.key, list)
      }
      return byKey
    })
  }

  /** Schedules against logs over the 7 Vietnam days before today, from the sums the database keeps per day. */
  schedules(now: Date, only?: string): Part<Section<'schedules'>> {
    const today = vietnamDay(now)
    return part(sql`
      select province_code, sum(slots)::int as slots, sum(aired)::int as aired, sum(logs - matched_logs)::int as not_planned
      from broadcast_schedule_daily
      where day >= ${today}::date - 7 and day < ${today}::date ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`, (rows) => new Map(rows.map((r) => [r.province_code, { slots: r.slots, aired: r.aired, plannedNotAired: r.slots - r.aired, airedNotPlanned: r.not_planned }])))
  }

  /**
   * For central's items of the last 30 days, per target province: delivered, acknowledged, played
   * (kept in `content_reach` as they happen); real items and exercises apart.
   */
  content(now: Date, only?: string): Part<Map<string, { content: Figures['content'], exercises: ExerciseReach }>> {
    const since = new Date(now.getTime() - 30 * 86_400_000)
    return part(sql`
      select province_code,
        (count(*) filter (where not test))::int as items, (count(*) filter (where not test and delivered))::int as delivered,
        (count(*) filter (where not test and acknowledged))::int as acknowledged, (count(*) filter (where not test and played))::int as played,
        (count(*) filter (where test))::int as exercise_items, (count(*) filter (where test and delivered))::int as exercise_delivered,
        (count(*) filter (where test and acknowledged))::int as exercise_acknowledged, (count(*) filter (where test and played))::int as exercise_played
      from content_reach where published_at >= ${since} ${only ? sql`and province_code = ${only}` : sql``}
      group by province_code`, (rows) => new Map(rows.map((r) => [r.province_code, {
      content: { items: r.items, delivered: r.delivered, acknowledged: r.acknowledged, played: r.played },
      exercises: { items: r.exercise_items, delivered: r.exercise_delivered, acknowledged: r.exercise_acknowledged, played: r.exercise_played },
    }])))
  }
}

export type Latency = Static<typeof PriorityLatency>

/** Of the priorities, emergencies first. */
const PRIORITY_ORDER = ['emergency', 'priority', 'normal']

const roundHours = (hours: number) => Math.round(Number(hours) * 100) / 100

/** The calendar day in Vietnam (UTC+7, no daylight saving), YYYY-MM-DD. */
const vietnamDay = (at: Date) => new Date(at.getTime() + 7 * 3_600_000).toISOString().slice(0, 10)

export const ipShare = (stations: { total: number, ip: number }) =>
  stations.total === 0 ? 0 : Math.round((stations.ip / stations.total) * 10_000) / 10_000
