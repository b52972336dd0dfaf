/**
 * The national summary under load, at national scale: 34 provinces, 10,000 stations, 100,000
 * loudspeaker clusters, 3,000 bulletin boards, the current state of most devices, 10 million
 * rows of status history over three months, 1 million broadcast logs over 60 days, 300 items
 * of central content with their notifications and acknowledgements, and report submissions
 * for the current period, and 31 days of each device's time by state. 8 clients then read,
 * signed by central, for a fixed time after a warm-up, with SUMMARY_CACHE_SECONDS=0 (every
 * request computes its figures): the national summary, one province's summary, that province's
 * availability over the month, the nation's; then the national summary with the default cache. The service runs as a real process
 * from the compiled code, on the PostgreSQL server, in a bench database of its own.
 *
 * The data is loaded directly with set-based SQL (generate_series), not through the API: the
 * benchmark measures reads, and the ingest paths have benchmarks of their own. The rows obey
 * the schema's keys and checks; broadcast logs are inserted in chunks so that the database's
 * own trigger keeps the daily airtime roll-up, as it does for logs arriving through the API.
 *
 *   npm run bench:summaries   (BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONCURRENCY, BENCH_DATABASE_URL, BENCH_PROFILE_DIR,
 *                              BENCH_KEEP_DATABASE=1 to keep the loaded database for a closer look)
 *
 * Targets, 8 concurrent clients, computed on every request: national summary p95 under 50 ms,
 * a province's under 20 ms, a province's availability over a month under 100 ms.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import { request } from 'undici'
import { generateKey, importSigningKey } from '../src/client/keys.js'
import { signCall } from '../src/client/sign.js'
import { openPostgres } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { currentPeriod, reportStatus } from '../src/modules/reports/status.js'
import { ReportsStore } from '../src/modules/reports/store.js'
import { MonthlyPartitions, monthOf } from '../src/modules/status/partitions.js'
import { recentAvailability } from '../src/modules/availability/figures.js'
import { AvailabilityStore } from '../src/modules/availability/store.js'
import { SummariesStore } from '../src/modules/summaries/store.js'
import { summarise } from '../src/modules/summaries/summarise.js'
import { createBenchDatabase, recordResult, startService } from './support.js'

const STATIONS = 10_000
const CLUSTERS = 100_000
const BOARDS = 3_000
const HISTORY_PER_CLUSTER = 100
const HISTORY_DAYS = 90
const LOGS_PER_STATION = 100
const LOG_DAYS = 60
const CONTENTS = 300
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 5)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8)
/** A province of the catalogue, whose summary and availability are read on their own. */
const PROVINCE = '79'

type Db = Kysely<any> // eslint-disable-line @typescript-eslint/no-explicit-any

const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const say = (line: string) => process.stdout.write(line + '\n')

/** Stations, clusters and boards spread evenly over the provinces, with mixed kinds and conditions. */
async function loadRegistry(db: Db, provinces: string[]): Promise<void> {
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

/**
 * 100 periods of each cluster spread over three months, into monthly partitions, one province
 * at a time in key order (the history's primary key is the costly part of the load).
 */
async function loadHistory(db: Db, provinces: string[], now: Date): Promise<void> {
  const from = new Date(now.getTime() - HISTORY_DAYS * 86_400_000)
  const months = new Set<string>()
  for (let t = from.getTime(); t <= now.getTime(); t += 86_400_000) months.add(monthOf(new Date(t)))
  months.add(monthOf(now))
  await MonthlyPartitions.history(db as never).ensure(months)
  const step = (HISTORY_DAYS * 86_400) / HISTORY_PER_CLUSTER
  for (const [p, province] of provinces.entries()) {
    const started = performance.now()
    await sql`
      insert into device_status_history (province_code, device_type, device_id, observed_at, last_seen_at, state, fault_code, fault_message,
        volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
      select province_code, 'cluster', id, at, at + make_interval(secs => ${Math.floor(step / 2)}), state,
        case when state = 'fault' then 'AMP-01' end, case when state = 'fault' then 'Amplifier overheated' end,
        (60 + h % 40)::smallint, -60 - h % 40, 11.5 + (h % 20) / 10.0, 25 + h % 15, at + interval '2 seconds'
      from (
        select c.province_code, c.id, k + hashtext(c.id) % 1000 as h,
          ${from}::timestamptz + make_interval(secs => k * ${step} + abs(hashtext(c.id)) % ${Math.floor(step)}) as at,
          (array['online', 'playing', 'idle', 'online', 'playing', 'idle', 'online', 'offline', 'idle', 'fault'])[(k + abs(hashtext(c.id))) % 10 + 1] as state
        from clusters c cross join generate_series(0, ${HISTORY_PER_CLUSTER - 1}) k
        where c.province_code = ${province}
      ) e
      order by province_code, id collate "C", at`.execute(db)
    say(`  history ${p + 1}/${provinces.length}: province ${province} in ${elapsed(started)}`)
  }
}

/** 300 central items over 60 days, their feed events, webhook notifications (most delivered) and acknowledgements. */
async function loadContent(db: Db, provinces: string[], now: Date): Promise<void> {
  await sql`
    create temporary table bench_contents as
    select gen_random_uuid() as id, gen_random_uuid() as event_id, g,
      ${now}::timestamptz - make_interval(secs => (g * ${(LOG_DAYS * 86_400) / CONTENTS})::float8) as at,
      case when g % 3 = 0 then null else (select array_agg(code order by code) from unnest(${provinces}::text[]) with ordinality u(code, o) where (o + g) % 5 = 0) end as targets,
      (select id from content_topics order by position offset g % 10 limit 1) as topic,
      case when g % 25 = 0 then 'emergency' when g % 4 = 0 then 'priority' else 'normal' end as priority
    from generate_series(0, ${CONTENTS - 1}) g`.execute(db)
  const item = sql`jsonb_build_object('id', id, 'version', 1, 'status', 'active', 'origin', 'central', 'province', null,
      'title', 'Bản tin thiết yếu số ' || g, 'summary', 'Tóm tắt bản tin ' || g, 'body', 'Nội dung bản tin để đọc trên loa ' || g,
      'media', jsonb_build_array(jsonb_build_object('url', 'https://media.example.vn/bulletins/' || g || '.mp3',
        'sha256', encode(sha256(convert_to('media ' || g, 'UTF8')), 'hex'), 'mimeType', 'audio/mpeg', 'bytes', 1200000 + g, 'durationSeconds', 180)),
      'topic', topic, 'priority', priority, 'validFrom', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'validUntil', null,
      'targets', coalesce(to_jsonb(targets), '"all"'::jsonb), 'publishedBy', 'central-portal',
      'publishedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'updatedAt', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'withdrawnAt', null, 'withdrawalReason', null)`
  await sql`
    insert into contents (id, origin, province_code, version, status, topic_id, priority, targets, item, published_by, published_at, updated_at)
    select id, 'central', null, 1, 'active', topic, priority, targets, ${item}, 'central-portal', at, at from bench_contents`.execute(db)
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

/** 100 broadcasts of each station over 60 days, a tenth of them central items; in chunks, each summed into the roll-up by the trigger. */
async function loadBroadcastLogs(db: Db, now: Date): Promise<void> {
  const from = new Date(now.getTime() - LOG_DAYS * 86_400_000)
  const step = (LOG_DAYS * 86_400) / LOGS_PER_STATION
  const chunks = 10
  await sql`create temporary table bench_stations as select province_code, id, (row_number() over (order by province_code, id) - 1)::int as n from stations`.execute(db)
  await sql`create temporary table bench_items as select id, (row_number() over (order by published_at) - 1)::int as n from contents`.execute(db)
  for (let chunk = 0; chunk < chunks; chunk++) {
    await sql`
      insert into broadcast_logs (province_code, station_id, started_at, ended_at, content_id, local_ref, clusters_reached, source, received_at)
      select s.province_code, s.id, l.started_at, l.started_at + make_interval(mins => 10 + (s.n + k) % 35), i.id,
        case when i.id is null then 'BT-' || s.n || '-' || k end, 3 + (s.n + k) % 12,
        case when i.id is not null then 'central' when k % 3 = 0 then 'province' else 'commune' end, l.started_at + interval '1 hour'
      from bench_stations s cross join generate_series(0, ${LOGS_PER_STATION - 1}) k
      cross join lateral (select ${from}::timestamptz + make_interval(secs => k * ${step} + (s.n * 37) % ${Math.floor(step - 3600)}) as started_at) l
      left join bench_items i on k % 10 = 0 and i.n = (s.n + k) % ${CONTENTS}
      where s.n % ${chunks} = ${chunk}
      order by s.province_code, s.id, l.started_at`.execute(db)
  }
}

/** Submissions for the current period from most provinces: on time, late, accepted, returned; some in two versions. */
async function loadReports(db: Db, provinces: string[], now: Date): Promise<string> {
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

/**
 * The newest state of most devices: four in five reported within the last two minutes (a few
 * of them offline or faulty), one in ten long ago (stale when read), the rest never. Loaded
 * last, right before the runs, so that "recent" is still recent while they read.
 */
async function loadCurrentState(db: Db): Promise<void> {
  await sql`
    insert into device_status (province_code, device_type, device_id, state, observed_at, run_started_at, fault_code, fault_message,
      volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
    select province_code, device_type, id, state, at, at - make_interval(hours => b % 48, secs => b), case when state = 'fault' then 'AMP-01' end, case when state = 'fault' then 'Amplifier overheated' end,
      (60 + b % 40)::smallint, -60 - b % 40, 11.5 + (b % 20) / 10.0, 25 + b % 15, at + interval '2 seconds'
    from (
      select province_code, device_type, id, b,
        case when b < 80 then now() - make_interval(secs => b % 120) else now() - make_interval(hours => 1 + b % 72) end as at,
        (array['online', 'playing', 'idle', 'online', 'online', 'playing', 'idle', 'offline', 'online', 'fault'])[b % 10 + 1] as state
      from (
        select province_code, 'station' as device_type, id, abs(hashtext(id)) % 100 as b from stations
        union all select province_code, 'cluster', id, abs(hashtext(id)) % 100 from clusters
        union all select province_code, 'board', id, abs(hashtext(id)) % 100 from boards
      ) d
      where b < 90
    ) s`.execute(db)
}

/** Each device's time by state for each of the last 31 Vietnam days, and the provinces' days summed from them. */
async function loadStatusDays(db: Db, now: Date): Promise<void> {
  const today = new Date(now.getTime() + 7 * 3_600_000).toISOString().slice(0, 10)
  const months = new Set<string>()
  for (let d = 0; d <= 31; d++) months.add(monthOf(new Date(now.getTime() - d * 86_400_000)))
  await MonthlyPartitions.days(db as never).ensure(months)
  await sql`
    insert into device_status_days (province_code, device_type, device_id, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
    select province_code, device_type, id, ${today}::date - k,
      case when b < 80 then 60000000 else 30000000 end, case when b % 10 = 7 then 10000000 else 0 end, 9000000, 7400000,
      case when b % 10 = 9 then 3600000 else 0 end, case when b < 80 then 0 else 30000000 + 9000000 end, (b % 10 = 9)::int,
      (${today}::date - k)::timestamp at time zone 'UTC' + interval '10 hours'
    from (
      select province_code, 'station' as device_type, id, abs(hashtext(id)) % 100 as b from stations
      union all select province_code, 'cluster', id, abs(hashtext(id)) % 100 from clusters
      union all select province_code, 'board', id, abs(hashtext(id)) % 100 from boards
    ) d cross join generate_series(1, 31) k
    where b < 90`.execute(db)
  await sql`
    insert into province_status_days (province_code, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
    select province_code, day, sum(online_ms), sum(offline_ms), sum(playing_ms), sum(idle_ms), sum(fault_ms), sum(silent_ms), sum(faults), max(last_seen_at)
    from device_status_days group by 1, 2`.execute(db)
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-summaries-'))
const database = await createBenchDatabase('ttn_bench_summaries')

try {
  const { privateJwk, publicJwk } = await generateKey('ES256')
  const key = await importSigningKey(privateJwk)
  const systemsFile = join(work, 'systems.json')
  await writeFile(systemsFile, JSON.stringify([{ id: 'central-portal', role: 'central', name: 'Central', jwks: { keys: [publicJwk] } }]))

  const setup = openPostgres({ url: database.url, poolMax: 1 })
  const db = setup.db as Db
  await migrateToLatest(setup.db)
  const loadStarted = performance.now()
  const now = new Date()
  await sql`set synchronous_commit = off`.execute(db)
  await sql`set statement_timeout = 0`.execute(db)
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code`.execute(db)).rows.map((r) => r.code)
  let step = performance.now()
  await loadRegistry(db, provinces)
  say(`registry: ${provinces.length} provinces, ${STATIONS} stations, ${CLUSTERS} clusters, ${BOARDS} boards in ${elapsed(step)}`)
  step = performance.now()
  await loadContent(db, provinces, now)
  say(`content: ${CONTENTS} items with notifications and acknowledgements in ${elapsed(step)}`)
  step = performance.now()
  await loadBroadcastLogs(db, now)
  say(`broadcast logs: ${STATIONS * LOGS_PER_STATION} in ${elapsed(step)}`)
  step = performance.now()
  const periodId = await loadReports(db, provinces, now)
  say(`report submissions for ${periodId} in ${elapsed(step)}`)
  step = performance.now()
  await loadHistory(db, provinces, now)
  say(`status history: ${CLUSTERS * HISTORY_PER_CLUSTER} rows in ${elapsed(step)}`)
  step = performance.now()
  await loadStatusDays(db, now)
  say(`status days: 31 days of every reported device in ${elapsed(step)}`)
  step = performance.now()
  await sql`vacuum analyze`.execute(db)
  say(`vacuum analyze in ${elapsed(step)}`)
  step = performance.now()
  await loadCurrentState(db)
  await sql`vacuum analyze device_status`.execute(db)
  say(`current device state in ${elapsed(step)}`)
  const count = async (table: string) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n)
  const sizes = {
    provinces: provinces.length, stations: await count('stations'), clusters: await count('clusters'), boards: await count('boards'),
    deviceStatus: await count('device_status'), statusHistory: await count('device_status_history'), statusDays: await count('device_status_days'), broadcastLogs: await count('broadcast_logs'),
    airtimeDays: await count('broadcast_airtime_daily'), contents: await count('contents'), webhookOutbox: await count('webhook_outbox'),
    contentAcks: await count('content_acks'), reportSubmissions: await count('report_submissions'),
  }
  // Bytes on disk per table, partitions and indexes included, and per row: what a longer history would take.
  const { rows: stored } = await sql<{ table: string, bytes: string }>`
    select t.table, sum(pg_total_relation_size(p.relid))::text as bytes
    from unnest(${['device_status', 'device_status_history', 'device_status_days', 'province_status_days', 'device_state_seconds', 'registry_counts', 'content_reach', 'broadcast_logs']}::text[]) as t("table"),
      lateral (select relid from pg_partition_tree(t.table::regclass) union select t.table::regclass) p
    group by t.table`.execute(db)
  const rowsOf: Record<string, number> = { device_status: sizes.deviceStatus, device_status_history: sizes.statusHistory, device_status_days: sizes.statusDays, broadcast_logs: sizes.broadcastLogs }
  const storage = Object.fromEntries(stored.map(({ table, bytes }) => [table, {
    mebibytes: Math.round(Number(bytes) / 2 ** 20), ...(rowsOf[table] ? { bytesPerRow: Math.round(Number(bytes) / rowsOf[table]!) } : {}),
  }]))
  say(`storage: ${JSON.stringify(storage)}`)
  const loadSeconds = Number(((performance.now() - loadStarted) / 1000).toFixed(1))
  say(`loaded in ${loadSeconds} s: ${JSON.stringify(sizes)}`)

  // Each section's query on its own, sequentially, with the same stores the service uses: where the time goes.
  const store = new SummariesStore(setup.db)
  const availability = new AvailabilityStore(setup.db)
  const wholeSecond = () => new Date(Math.floor(Date.now() / 1000) * 1000)
  const reports = new ReportsStore(setup.db)
  const period = await currentPeriod(reports, new Date())
  const sectionsOf = (only?: string): Record<string, () => Promise<unknown>> => ({
    provinces: () => store.provinces(only), stations: () => store.stations(only), clusters: () => store.clusters(only), boards: () => store.boards(only),
    programmes: () => store.programmes(only), devices: () => store.devices(wholeSecond(), 600, only), broadcast: () => store.broadcast(new Date(), only),
    content: () => store.content(new Date(), only), availability: () => recentAvailability(availability, wholeSecond().getTime(), 600_000, only),
    'report state': () => period ? reportStatus(reports, period, [only ?? PROVINCE]) : Promise.resolve(),
    'whole summary': () => summarise(store, reports, availability, { province: only, period, staleAfterSeconds: 600, now: wholeSecond() }),
  })
  const sections = {
    ...sectionsOf(),
    ...Object.fromEntries(Object.entries(sectionsOf(PROVINCE)).map(([name, query]) => [`${name} (one province)`, query])),
  }
  const sectionMs: Record<string, number> = {}
  for (const [name, query] of Object.entries(sections)) {
    await query()
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      await query()
      times.push(performance.now() - t0)
    }
    sectionMs[name] = Number(times.sort((a, b) => a - b)[5]!.toFixed(1))
  }
  say(`median time of each section's query alone (ms): ${JSON.stringify(sectionMs)}`)
  await setup.close()

  const serve = (env: Record<string, string>) => startService('src/server.ts', {
    DATABASE_URL: database.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, DATABASE_POOL_MAX: '20', RATE_LIMIT_PER_MINUTE: '1000000',
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0', ...env,
  })
  /** `concurrency` clients calling `path` one call after another for `duration` seconds, after the warm-up. */
  const drive = async (url: string, path: string) => {
    let sample: unknown
    const get = async () => {
      const token = await signCall({ issuer: 'central-portal', audience: 'ttn-central', key, method: 'GET', pathAndQuery: path })
      const response = await request(url + path, { headers: { authorization: `Bearer ${token}` } })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 500)}`)
      sample = JSON.parse(text)
    }
    const round = async (duration: number) => {
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
    say(`${path}: ${result.requests} requests, ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms`)
    return { result, sample }
  }

  const uncachedService = await serve({ SUMMARY_CACHE_SECONDS: '0' })
  let uncached
  try {
    const national = await drive(uncachedService.url, '/v2/summaries/national')
    const province = await drive(uncachedService.url, `/v2/summaries/provinces/${PROVINCE}`)
    const month = await drive(uncachedService.url, `/v2/provinces/${PROVINCE}/availability`)
    const nationalMonth = await drive(uncachedService.url, '/v2/availability')
    uncached = { national: national.result, province: province.result, provinceAvailabilityMonth: month.result, nationalAvailabilityMonth: nationalMonth.result,
      peakRssMiB: Math.round(uncachedService.peakRss() / 2 ** 20) }
    say(`national total: ${JSON.stringify((national.sample as { total: unknown }).total)}`)
  } finally {
    await uncachedService.stop()
  }
  const cachedService = await serve({})
  let cached
  try {
    cached = (await drive(cachedService.url, '/v2/summaries/national')).result
  } finally {
    await cachedService.stop()
  }
  const met = {
    nationalP95Under50Ms: uncached.national.p95Ms < 50, provinceP95Under20Ms: uncached.province.p95Ms < 20,
    provinceAvailabilityMonthP95Under100Ms: uncached.provinceAvailabilityMonth.p95Ms < 100,
  }
  say(`targets met: ${JSON.stringify(met)}`)
  await recordResult('summaries', {
    command: 'npm run bench:summaries',
    settings: { concurrency, warmupSeconds, seconds, database: 'PostgreSQL (local server)', load: 'direct set-based SQL', province: PROVINCE },
    sizes, storage, loadSeconds, sectionQueryMedianMs: sectionMs,
    uncached: { summaryCacheSeconds: 0, ...uncached },
    cachedNational: { summaryCacheSeconds: 15, ...cached },
    target: { nationalP95Ms: 50, provinceP95Ms: 20, provinceAvailabilityMonthP95Ms: 100 },
    met,
  })
} finally {
  if (process.env.BENCH_KEEP_DATABASE) say(`kept ${database.url}`)
  else await database.drop()
  await rm(work, { recursive: true, force: true })
}
