/**
 * National data for the read benchmarks, loaded directly with set-based SQL (generate_series)
 * rather than through the API: stations, clusters and boards of every province, central content
 * with its notifications and acknowledgements, broadcast logs, report submissions, and the
 * reading clients. The rows obey the schema's keys and checks; broadcast logs are inserted in
 * chunks so that the database's own triggers keep their roll-ups, as for logs arriving through
 * the API.
 */
import { sql, type Kysely } from 'kysely'
import { request } from 'undici'
import type { SigningKey } from '../src/client/keys.js'
import { signCall } from '../src/client/sign.js'
import { currentPeriod } from '../src/modules/reports/status.js'
import { ReportsStore } from '../src/modules/reports/store.js'
import { percentile } from './status-stream.js'

export const STATIONS = 10_000
export const CLUSTERS = 100_000
export const BOARDS = 3_000

export type Db = Kysely<any> // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A status row's fault and readings (fault_code, fault_message, volume_percent, signal_dbm,
 * supply_voltage, temperature_c) from its `state` column and a number `seed` that varies them.
 */
export const readings = (state: string, seed: string) => sql.raw(`case when ${state} = 'fault' then 'AMP-01' end,
  case when ${state} = 'fault' then 'Amplifier overheated' end, (60 + ${seed} % 40)::smallint, -60 - ${seed} % 40,
  11.5 + (${seed} % 20) / 10.0, 25 + ${seed} % 15`)

/** Stations, clusters and boards spread evenly over the provinces, with mixed kinds and conditions. */
export async function loadRegistry(db: Db, provinces: string[]): Promise<void> {
  const n = provinces.length
  // Real communes of each province, numbered, so stations and boards name one that exists.
  await sql`create temporary table bench_communes as
    select province_code, code, (row_number() over (partition by province_code order by code) - 1)::int as n,
      (count(*) over (partition by province_code))::int as total
    from admin_units where level = 'commune' and status = 'active'`.execute(db)
  // Record g goes to province g mod n as its (g div n)-th record; codes are two digits, safe inline.
  const place = sql.raw(`
    cross join lateral (select ('{${provinces.join(',')}}'::text[])[g % ${n} + 1] as province, g / ${n} as i) x
    left join bench_communes c on c.province_code = x.province and c.n = x.i % c.total`)
  await sql`
    insert into stations (province_code, id, commune_code, commune_verified, name, kind, status, established_on, has_integration_device,
      latitude, longitude, programme, funding_source, content_hash)
    select x.province, 'st-' || x.province || '-' || x.i, coalesce(c.code, lpad((10000 + x.i)::text, 5, '0')), c.code is not null,
      'Đài truyền thanh xã ' || x.i,
      (array['ip', 'wired', 'fm', 'wired_fm', 'ip'])[g % 5 + 1],
      case when g % 50 = 7 then 'decommissioned' when g % 20 = 3 then 'out_of_service' when g % 10 = 1 then 'degraded' else 'operating' end,
      date '2015-01-01' + (g % 3650), g % 3 = 0, 8.6 + (g % 1400) / 100.0, 102.2 + (g % 700) / 100.0,
      (array['new_station', 'replacement', 'extension'])[g % 3 + 1],
      (array['new_rural_development', 'sustainable_poverty_reduction', 'local_budget', 'other'])[g % 4 + 1],
      encode(sha256(convert_to('station ' || g, 'UTF8')), 'base64')
    from generate_series(0, ${STATIONS - 1}) g ${place}`.execute(db)
  const stationsPerProvince = Math.floor(STATIONS / n)
  await sql`
    insert into clusters (province_code, id, station_id, village, kind, installed_on, status, latitude, longitude, vendor, model, content_hash)
    select x.province, 'cl-' || x.province || '-' || x.i, 'st-' || x.province || '-' || (x.i % ${stationsPerProvince}), 'Thôn ' || (x.i % 40 + 1),
      case when g % 20 < 12 then 'ip' when g % 20 < 17 then 'fm' else 'wired' end,
      date '2018-01-01' + (g % 2500),
      case when g % 50 = 11 then 'decommissioned' when g % 33 = 5 then 'out_of_service' when g % 20 = 9 then 'degraded' else 'operating' end,
      8.6 + (g % 1400) / 100.0, 102.2 + (g % 700) / 100.0, 'Công ty Loa Việt', (array['IP-30W', 'FM-25W', 'DL-50W'])[g % 3 + 1],
      encode(sha256(convert_to('cluster ' || g, 'UTF8')), 'base64')
    from generate_series(0, ${CLUSTERS - 1}) g ${place}`.execute(db)
  await sql`
    insert into boards (province_code, id, commune_code, commune_verified, placement, screen_size_inches, status, latitude, longitude, content_hash)
    select x.province, 'bt-' || x.province || '-' || x.i, coalesce(c.code, lpad((10000 + x.i)::text, 5, '0')), c.code is not null,
      case when g % 2 = 0 then 'outdoor' else 'indoor' end, (array[43, 55, 65, 86])[g % 4 + 1],
      case when g % 40 = 13 then 'decommissioned' when g % 25 = 2 then 'out_of_service' else 'operating' end,
      8.6 + (g % 1400) / 100.0, 102.2 + (g % 700) / 100.0,
      encode(sha256(convert_to('board ' || g, 'UTF8')), 'base64')
    from generate_series(0, ${BOARDS - 1}) g ${place}`.execute(db)
}

/** `items` central items over `days` days, their feed events, webhook notifications (most delivered) and acknowledgements. */
export async function loadContent(db: Db, provinces: string[], now: Date, { items, days }: { items: number, days: number }): Promise<void> {
  await sql`
    create temporary table bench_contents as
    select gen_random_uuid() as id, gen_random_uuid() as event_id, g,
      ${now}::timestamptz - make_interval(secs => (g * ${(days * 86_400) / items})::float8) as at,
      case when g % 3 = 0 then null else (select array_agg(code order by code) from unnest(${provinces}::text[]) with ordinality u(code, o) where (o + g) % 5 = 0) end as targets,
      (select id from content_topics order by position offset g % 10 limit 1) as topic,
      case when g % 25 = 0 then 'emergency' when g % 4 = 0 then 'priority' else 'normal' end as priority
    from generate_series(0, ${items - 1}) g`.execute(db)
  const item = sql`jsonb_build_object('id', id, 'version', 1, 'status', 'active', 'origin', 'central', 'province', null,
      'title', 'Bản tin thiết yếu số ' || g, 'summary', 'Tóm tắt bản tin ' || g, 'body', 'Nội dung bản tin để đọc trên loa ' || g,
      'media', jsonb_build_array(jsonb_build_object('url', 'https://media.example.vn/bulletins/' || g || '.mp3',
        'sha256', encode(sha256(convert_to('media ' || g, 'UTF8')), 'hex'), 'mimeType', 'audio/mpeg', 'bytes', 1200000 + g, 'durationSeconds', 180)),
      'topic', topic, 'priority', priority, 'test', false, 'language', 'vi', 'validFrom', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'validUntil', null,
      'targets', coalesce(to_jsonb(targets), '"all"'::jsonb), 'communes', '[]'::jsonb, 'publishedBy', 'central-portal',
      'publishedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'updatedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'withdrawnAt', null, 'withdrawalReason', null)`
  await sql`
    insert into contents (id, origin, province_code, version, status, topic_id, priority, targets, audience, item, published_by, published_at, updated_at)
    select id, 'central', null, 1, 'active', topic, priority, targets, targets, ${item}, 'central-portal', at, at from bench_contents`.execute(db)
  await sql`
    insert into content_events (id, content_id, version, type, audience, item, occurred_at)
    select event_id, id, 1, 'content.published', targets, ${item}, at from bench_contents order by at`.execute(db)
  await sql`
    insert into webhook_outbox (notification_id, province_code, system_id, content_id, rank, state, attempts, last_attempt_at, last_status, delivered_at, created_at)
    select b.event_id, p.code, 'province-' || p.code, b.id, case b.priority when 'emergency' then 0 when 'priority' then 1 else 2 end,
      case when (b.g + o) % 10 = 0 then 'pending' else 'delivered' end, 1, b.at + interval '1 second',
      case when (b.g + o) % 10 = 0 then 503 else 204 end, case when (b.g + o) % 10 = 0 then null else b.at + interval '1 second' end, b.at
    from bench_contents b cross join unnest(${provinces}::text[]) with ordinality p(code, o)
    where b.targets is null or p.code = any(b.targets)`.execute(db)
  await sql`
    insert into content_acks (content_id, province_code, version, received_at, scheduled_at, stations, acknowledged_at)
    select b.id, p.code, 1, b.at + interval '2 seconds', b.at + interval '1 hour', 200 + o::int, b.at + interval '5 minutes'
    from bench_contents b cross join unnest(${provinces}::text[]) with ordinality p(code, o)
    where (b.targets is null or p.code = any(b.targets)) and (b.g + o) % 10 > 2`.execute(db)
}

/** `perStation` broadcasts of each station over `days` days, a tenth of them central items; in chunks, each summed into the roll-up by the trigger. */
export async function loadBroadcastLogs(db: Db, now: Date, { perStation, days }: { perStation: number, days: number }): Promise<void> {
  const from = new Date(now.getTime() - days * 86_400_000)
  const step = (days * 86_400) / perStation
  const chunks = Math.max(10, Math.ceil(STATIONS * perStation / 1_000_000))
  await sql`create temporary table bench_stations as select province_code, id, (row_number() over (order by province_code, id) - 1)::int as n from stations`.execute(db)
  await sql`create temporary table bench_items as select id, (row_number() over (order by published_at) - 1)::int as n from contents`.execute(db)
  const items = Number((await sql<{ n: string }>`select count(*) as n from bench_items`.execute(db)).rows[0]!.n)
  for (let chunk = 0; chunk < chunks; chunk++) {
    await sql`
      insert into broadcast_logs (province_code, station_id, started_at, ended_at, content_id, local_ref, clusters_reached, source, received_at)
      select s.province_code, s.id, l.started_at, l.started_at + make_interval(mins => 10 + (s.n + k) % 35), i.id,
        case when i.id is null then 'BT-' || s.n || '-' || k end, 3 + (s.n + k) % 12,
        case when i.id is not null then 'central' when k % 3 = 0 then 'province' else 'commune' end, l.started_at + interval '1 hour'
      from bench_stations s cross join generate_series(0, ${perStation - 1}) k
      cross join lateral (select ${from}::timestamptz + make_interval(secs => k * ${step} + (s.n * 37) % ${Math.floor(step - 3600)}) as started_at) l
      left join bench_items i on k % 10 = 0 and i.n = (s.n + k) % ${items}
      where s.n % ${chunks} = ${chunk}
      order by s.province_code, s.id, l.started_at`.execute(db)
  }
}

/** Submissions for the current period from most provinces: on time, late, accepted, returned; some in two versions. */
export async function loadReports(db: Db, provinces: string[], now: Date): Promise<string> {
  const period = await currentPeriod(new ReportsStore(db as never), now)
  if (!period) throw new Error('no current report period')
  const data = (form: string, p: number) => form === 'indicators'
    ? {
      stations: { wired: 60 + p, fm: 70 + p, wiredFm: 40, ip: 120 + p }, clusters: { ip: 1800 + p, fm: 700, wired: 430 },
      investment: { newStations: 3, clustersReplaced: 40 + p, clustersAddedToVillages: 25 }, bulletinBoards: 80 + p,
      informationWorkers: { total: 900 + p, trained: 300 }, bulletins: { produced: 1200, aired: 1150, airtimeHours: 5400.5 },
      fundingMillionVnd: { newRuralDevelopment: 3500, sustainablePovertyReduction: 1200, localBudget: 2800, other: 150 },
    }
    : form === 'feedback'
      ? { communes: [{ communeCode: '26740', byChannel: [{ channel: 'hotline', received: 20 + p, answered: 18 + p }], byTopic: [], averageHoursToAnswer: 40 }] }
      : form === 'appendix-02'
        ? { lines: [{ communeCode: '26740', stationId: 'st-1', stationKind: 'ip', programme: 'new_station', fundingSource: 'local_budget', clusters: { ip: 30, fm: 0, wired: 0 }, clustersReplaced: 10, villagesCovered: 5, status: 'operating' }] }
        : { lines: [{ communeCode: '26740', fundingSource: 'new_rural_development', newStations: 2, clustersReplaced: 50, clustersAdded: 20, amountMillionVnd: 3500 }, { communeCode: '26740', fundingSource: 'local_budget', newStations: 1, clustersReplaced: 30, clustersAdded: 20, amountMillionVnd: 2800 }] }
  const rows = provinces.flatMap((province, p) => {
    if (p % 5 === 4) return [] // a fifth have not reported yet
    return period.forms.flatMap((form) => {
      const versions = p % 7 === 0 ? 2 : 1
      return Array.from({ length: versions }, (_, v) => {
        const last = v === versions - 1
        const state = !last ? 'returned' : p % 5 === 0 ? 'accepted' : p % 5 === 1 ? 'returned' : 'submitted'
        const submittedAt = new Date(now.getTime() - (10 - v) * 86_400_000 + p * 60_000)
        return {
          province_code: province, period_id: period.id, form, version: v + 1, data: JSON.stringify(data(form, p)),
          submitted_at: submittedAt, on_time: p % 5 !== 3, state,
          review_comment: state === 'returned' ? 'Đề nghị rà soát lại số cụm loa CNTT-VT' : null,
          reviewed_at: state === 'submitted' ? null : new Date(submittedAt.getTime() + 86_400_000), reviewed_by: state === 'submitted' ? null : 'central-portal',
          receipt_id: `rcpt-${province}-${form}-${v + 1}`, warnings: '[]',
        }
      })
    })
  })
  await db.insertInto('report_submissions').values(rows).execute()
  return period.id
}


export interface ReadRun { requests: number, seconds: number, requestsPerSecond: number, p50Ms: number, p95Ms: number, p99Ms: number, maxMs: number }

/**
 * `concurrency` clients signed by central calling `path` one call after another for `seconds`,
 * after a warm-up of `warmupSeconds`; answers the timings and the last answer's body.
 */
export async function readUnderLoad(url: string, key: SigningKey, path: string,
  { concurrency, seconds, warmupSeconds }: { concurrency: number, seconds: number, warmupSeconds: number }): Promise<{ result: ReadRun, sample: unknown }> {
  let sample: unknown
  const get = async () => {
    const token = await signCall({ issuer: 'central-portal', audience: 'ttn-central', key, method: 'GET', pathAndQuery: path })
    const response = await request(url + path, { headers: { authorization: `Bearer ${token}` } })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 500)}`)
    sample = JSON.parse(text)
  }
  const round = async (duration: number): Promise<ReadRun> => {
    const latencies: number[] = []
    const started = performance.now()
    const deadline = started + duration * 1000
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now()
        await get()
        latencies.push(performance.now() - t0)
      }
    }))
    const time = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    return {
      requests: latencies.length, seconds: Number(time.toFixed(2)), requestsPerSecond: Number((latencies.length / time).toFixed(1)),
      p50Ms: Number(percentile(latencies, 0.5).toFixed(1)), p95Ms: Number(percentile(latencies, 0.95).toFixed(1)),
      p99Ms: Number(percentile(latencies, 0.99).toFixed(1)), maxMs: Number((latencies.at(-1) ?? 0).toFixed(1)),
    }
  }
  await round(warmupSeconds)
  const result = await round(seconds)
  process.stdout.write(`${path}: ${result.requests} requests, ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms\n`)
  return { result, sample }
}

export interface TableStorage { rows: number, mebibytes: number, bytesPerRow?: number }

/**
 * Rows and bytes on disk of every table (partitions and indexes included), largest first, and
 * of the whole database: what the data takes, and per row what more of it would.
 */
export async function tableStorage(db: Db): Promise<{ databaseMebibytes: number, tables: Record<string, TableStorage> }> {
  const { rows } = await sql<{ table: string, bytes: string }>`
    select c.relname as table, sum(pg_total_relation_size(p.relid))::text as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    cross join lateral (select relid from pg_partition_tree(c.oid) union select c.oid) p
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    group by c.relname order by sum(pg_total_relation_size(p.relid)) desc`.execute(db)
  const tables: Record<string, TableStorage> = {}
  for (const { table, bytes } of rows) {
    const count = Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n)
    tables[table] = { rows: count, mebibytes: Math.round(Number(bytes) / 2 ** 20), ...(count > 0 ? { bytesPerRow: Math.round(Number(bytes) / count) } : {}) }
  }
  const { rows: [database] } = await sql<{ bytes: string }>`select pg_database_size(current_database())::text as bytes`.execute(db)
  return { databaseMebibytes: Math.round(Number(database!.bytes) / 2 ** 20), tables }
}
