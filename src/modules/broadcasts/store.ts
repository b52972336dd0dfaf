import { sql, type RawBuilder } from 'kysely'
import type { Static } from 'typebox'
import type { BroadcastLog, BroadcastLogEntry, BroadcastLogQuery, BroadcastLogRejection, DeliveryLatency, Reach } from '../../../schemas/content.js'
import type { Db } from '../../db/database.js'
import { inSlices } from '../../http/concurrency.js'

type Entry = Static<typeof BroadcastLogEntry>
type Rejection = Static<typeof BroadcastLogRejection>

interface Play {
  stationId: string
  start: number
  end: number
  contentId: string | null
  localRef: string | null
  clustersReached: number | null
  source: string
}

const INSERT_CHUNK = 1000

const playOf = (entry: Entry): Play => ({
  stationId: entry.stationId, start: Date.parse(entry.startedAt), end: Date.parse(entry.endedAt), contentId: entry.contentId ?? null,
  localRef: entry.localRef ?? null, clustersReached: entry.clustersReached ?? null, source: entry.source,
})

const samePlay = (a: Play, b: Play) => a.stationId === b.stationId && a.start === b.start && a.end === b.end && a.contentId === b.contentId &&
  a.localRef === b.localRef && a.clustersReached === b.clustersReached && a.source === b.source

const overlaps = (a: Play, b: Play) => a.start < b.end && b.start < a.end

export interface LogFilter extends Omit<Static<typeof BroadcastLogQuery>, 'cursor' | 'limit'> {
  province: string
  limit: number
  /** (started_at, station_id) of the last log of the previous page. */
  after: readonly [string, string] | undefined
}

/**
 * Held by a province's log batches and schedule pushes until they commit: the schedules'
 * cross-check figures (migration 0027) are computed from both, so neither may miss the other's rows.
 */
export const lockProvinceBroadcasts = (trx: Db, province: string) =>
  sql`select pg_advisory_xact_lock(hashtext(${`broadcast-logs/${province}`}))`.execute(trx)

export interface IngestOutcome { accepted: number, duplicate: number, rejected: number, rejections: Rejection[] }

export class BroadcastLogStore {
  constructor(private readonly db: Db) {}

  /**
   * Stores the valid entries of a batch and names each rejected one. An entry already stored
   * (same station, time, content and figures) counts as a duplicate and is stored once; any
   * other entry covering part of the same station's time is an overlap. A province's batches
   * are applied one at a time, so two concurrent batches cannot both store overlapping plays.
   */
  async ingest(trx: Db, province: string, entries: Entry[]): Promise<IngestOutcome> {
    await lockProvinceBroadcasts(trx, province)
    const plays = entries.map(playOf)
    const stationIds = [...new Set(plays.map((p) => p.stationId))]
    const contentIds = [...new Set(plays.flatMap((p) => (p.contentId ? [p.contentId] : [])))]
    const [stations, contents] = await Promise.all([
      trx.selectFrom('stations').select('id').where('province_code', '=', province).where('id', 'in', stationIds).where('deleted_at', 'is', null).execute(),
      contentIds.length ? trx.selectFrom('contents').select(['id', 'origin', 'province_code', 'audience']).where('id', 'in', contentIds).execute() : Promise.resolve([]),
    ])
    const knownStations = new Set(stations.map((s) => s.id))
    const knownContents = new Set(contents.map((c) => c.id))
    // A province plays what central sent it (to every province, to it or to its communes: the audience) and what it shared itself; nothing else counts in reach.
    const sentHere = new Set(contents.filter((c) => (c.origin === 'central' && (c.audience === null || c.audience.includes(province))) ||
      (c.origin === 'province' && c.province_code === province)).map((c) => c.id))

    const rejected: Rejection[] = []
    const reject = (index: number, reason: Rejection['reason'], message: string) => rejected.push({ index, pointer: `/entries/${index}`, reason, message })
    const candidates: { index: number, play: Play }[] = []
    await inSlices(plays, (play, index) => {
      if (!(play.end > play.start)) reject(index, 'end-before-start', `endedAt must come after startedAt`)
      else if (!play.contentId && !play.localRef) reject(index, 'no-content-reference', 'name the content by contentId or localRef')
      else if (!knownStations.has(play.stationId)) reject(index, 'unknown-station', `province ${province} has no station ${play.stationId}`)
      else if (play.contentId && !knownContents.has(play.contentId)) reject(index, 'unknown-content', `no content item ${play.contentId}`)
      else if (play.contentId && !sentHere.has(play.contentId)) reject(index, 'content-not-sent', `content item ${play.contentId} was not sent to province ${province}`)
      else candidates.push({ index, play })
    })

    const stored = new Map<string, Play[]>()
    if (candidates.length > 0) {
      const existing = await sql<{ station_id: string, started_at: Date, ended_at: Date, content_id: string | null, local_ref: string | null, clusters_reached: number | null, source: string }>`
        select distinct b.station_id, b.started_at, b.ended_at, b.content_id, b.local_ref, b.clusters_reached, b.source
        from broadcast_logs b
        join unnest(${candidates.map((c) => c.play.stationId)}::text[], ${candidates.map((c) => new Date(c.play.start).toISOString())}::timestamptz[],
                    ${candidates.map((c) => new Date(c.play.end).toISOString())}::timestamptz[]) as v(station_id, started_at, ended_at)
          on b.station_id = v.station_id and b.started_at < v.ended_at and b.ended_at > v.started_at
        where b.province_code = ${province}`.execute(trx)
      await inSlices(existing.rows, (row) => {
        const play: Play = {
          stationId: row.station_id, start: row.started_at.getTime(), end: row.ended_at.getTime(), contentId: row.content_id,
          localRef: row.local_ref, clustersReached: row.clusters_reached, source: row.source,
        }
        stored.set(play.stationId, [...(stored.get(play.stationId) ?? []), play])
      })
    }

    const accepted: Play[] = []
    const acceptedByStation = new Map<string, Play[]>()
    let duplicate = 0
    await inSlices(candidates, ({ index, play }) => {
      const earlier = [...(stored.get(play.stationId) ?? []), ...(acceptedByStation.get(play.stationId) ?? [])].filter((other) => overlaps(play, other))
      if (earlier.length > 0) {
        if (earlier.length === 1 && samePlay(earlier[0]!, play)) duplicate++
        else reject(index, 'overlapping-entry', `station ${play.stationId} already has an entry from ${new Date(earlier[0]!.start).toISOString()} to ${new Date(earlier[0]!.end).toISOString()}`)
        return
      }
      accepted.push(play)
      acceptedByStation.set(play.stationId, [...(acceptedByStation.get(play.stationId) ?? []), play])
    })


    for (let i = 0; i < accepted.length; i += INSERT_CHUNK) {
      await trx.insertInto('broadcast_logs').values(accepted.slice(i, i + INSERT_CHUNK).map((play) => ({
        province_code: province, station_id: play.stationId, started_at: new Date(play.start), ended_at: new Date(play.end),
        content_id: play.contentId, local_ref: play.localRef, clusters_reached: play.clustersReached, source: play.source as Entry['source'],
      }))).execute()
    }
    rejected.sort((a, b) => a.index - b.index)
    return { accepted: accepted.length, duplicate, rejected: rejected.length, rejections: rejected }
  }

  /** A province's logs, latest start first, then by station. */
  async list(filter: LogFilter): Promise<Static<typeof BroadcastLog>[]> {
    let query = this.db.selectFrom('broadcast_logs').selectAll().where('province_code', '=', filter.province)
      .orderBy('started_at', 'desc').orderBy('station_id', 'desc').limit(filter.limit + 1)
    if (filter.station) query = query.where('station_id', '=', filter.station)
    if (filter.contentId) query = query.where('content_id', '=', filter.contentId)
    if (filter.source) query = query.where('source', '=', filter.source)
    if (filter.from) query = query.where('started_at', '>=', new Date(filter.from))
    if (filter.to) query = query.where('started_at', '<', new Date(filter.to))
    if (filter.after) query = query.where(sql<boolean>`(started_at, station_id) < (${filter.after[0]}::timestamptz, ${filter.after[1]})`)
    const rows = await query.execute()
    return rows.map((row) => ({
      stationId: row.station_id,
      ...(row.content_id === null ? {} : { contentId: row.content_id }),
      ...(row.local_ref === null ? {} : { localRef: row.local_ref }),
      startedAt: row.started_at.toISOString(),
      endedAt: row.ended_at.toISOString(),
      ...(row.clusters_reached === null ? {} : { clustersReached: row.clusters_reached }),
      source: row.source,
      receivedAt: row.received_at.toISOString(),
    }))
  }

  /** The broadcast side of an item's reach: plays, stations and airtime per province. */
  async plays(contentId: string): Promise<Pick<Static<typeof Reach>, 'stationsPlayed' | 'plays' | 'airtimeSeconds' | 'firstPlayedAt' | 'lastPlayedAt' | 'byProvince'>> {
    const rows = await this.db.selectFrom('broadcast_logs')
      .select([
        'province_code',
        sql<number>`count(distinct station_id)`.as('stations'),
        sql<number>`count(*)`.as('plays'),
        sql<number>`sum(extract(epoch from ended_at - started_at))::float8`.as('airtime'),
        sql<Date>`min(started_at)`.as('first'),
        sql<Date>`max(started_at)`.as('last'),
      ])
      .where('content_id', '=', contentId).groupBy('province_code').orderBy('province_code').execute()
    const byProvince = rows.map((r) => ({ province: r.province_code, stationsPlayed: Number(r.stations), plays: Number(r.plays), airtimeSeconds: Number(r.airtime) }))
    const firsts = rows.map((r) => new Date(r.first).getTime())
    const lasts = rows.map((r) => new Date(r.last).getTime())
    return {
      stationsPlayed: byProvince.reduce((n, p) => n + p.stationsPlayed, 0),
      plays: byProvince.reduce((n, p) => n + p.plays, 0),
      airtimeSeconds: byProvince.reduce((n, p) => n + p.airtimeSeconds, 0),
      firstPlayedAt: rows.length ? new Date(Math.min(...firsts)).toISOString() : null,
      lastPlayedAt: rows.length ? new Date(Math.max(...lasts)).toISOString() : null,
      byProvince,
    }
  }

  /**
   * Each target commune's side of an item's reach: the stations registered in it that played the
   * item and their plays, and whether its province's acknowledgement covers it (lists it, or
   * lists no communes).
   */
  async byCommune(contentId: string, communes: { code: string, province: string }[]): Promise<Static<typeof Reach>['byCommune']> {
    if (communes.length === 0) return []
    const { rows } = await sql<{ code: string, province: string, stations: number, plays: number, acknowledged: boolean }>`
      select t.code, t.province, p.stations, p.plays, exists (
          select 1 from content_acks a where a.content_id = ${contentId} and a.province_code = t.province and (a.communes is null or t.code = any(a.communes))
        ) as acknowledged
      from unnest(${communes.map((c) => c.code)}::text[], ${communes.map((c) => c.province)}::text[]) as t(code, province)
      cross join lateral (
        select count(distinct b.station_id)::int as stations, count(*)::int as plays
        from broadcast_logs b join stations s on s.province_code = b.province_code and s.id = b.station_id
        where b.content_id = ${contentId} and b.province_code = t.province and s.commune_code = t.code
      ) p
      order by t.code collate "C"`.execute(this.db)
    return rows.map((r) => ({ code: r.code, province: r.province, stationsPlayed: r.stations, plays: r.plays, acknowledged: r.acknowledged }))
  }

  /**
   * Seconds from `since` (the item's first publication) to each target province's first webhook
   * delivery, acknowledgement and first play, and their median and 95th percentile over the
   * provinces that reached each stage.
   */
  async latency(contentId: string, since: string, provinces: string[]): Promise<Static<typeof DeliveryLatency>> {
    const after = (at: RawBuilder<Date | null>) => sql<number | null>`extract(epoch from ${at} - ${since}::timestamptz)::float8`
    const rows = provinces.length === 0 ? [] : (await sql<{ province: string, delivered: number | null, acknowledged: number | null, played: number | null }>`
      select p.province, ${after(sql`(select min(delivered_at) from webhook_outbox o where o.content_id = ${contentId} and o.province_code = p.province and o.state = 'delivered')`)} as delivered,
        ${after(sql`(select acknowledged_at from content_acks a where a.content_id = ${contentId} and a.province_code = p.province)`)} as acknowledged,
        ${after(sql`(select min(started_at) from broadcast_logs b where b.content_id = ${contentId} and b.province_code = p.province)`)} as played
      from unnest(${provinces}::text[]) as p(province) order by p.province collate "C"`.execute(this.db)).rows
    // A station's clock ahead of the service's would make a play look earlier than its publication.
    const seconds = (value: number | null) => (value === null ? null : Math.max(0, value))
    const stage = (values: (number | null)[]) => {
      const reached = values.filter((v): v is number => v !== null).sort((a, b) => a - b)
      return { provinces: reached.length, p50Seconds: nearestRank(reached, 0.5), p95Seconds: nearestRank(reached, 0.95) }
    }
    const byProvince = rows.map((r) => ({ province: r.province, deliveredSeconds: seconds(r.delivered), acknowledgedSeconds: seconds(r.acknowledged), firstPlayedSeconds: seconds(r.played) }))
    return {
      delivered: stage(byProvince.map((p) => p.deliveredSeconds)), acknowledged: stage(byProvince.map((p) => p.acknowledgedSeconds)),
      firstPlayed: stage(byProvince.map((p) => p.firstPlayedSeconds)), byProvince,
    }
  }

  async delivered(contentId: string): Promise<number> {
    const row = await this.db.selectFrom('webhook_outbox').select(sql<number>`count(distinct province_code)`.as('n'))
      .where('content_id', '=', contentId).where('state', '=', 'delivered').executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async acknowledged(contentId: string): Promise<number> {
    const row = await this.db.selectFrom('content_acks').select((eb) => eb.fn.countAll<number>().as('n')).where('content_id', '=', contentId).executeTakeFirstOrThrow()
    return Number(row.n)
  }
}

/** The nearest-rank percentile of sorted values, to the millisecond; null when there are none. */
const nearestRank = (sorted: number[], share: number): number | null =>
  sorted.length === 0 ? null : Math.round(sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]! * 1000) / 1000
