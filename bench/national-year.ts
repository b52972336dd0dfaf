/**
 * A year of the whole nation on one box. One database holds the registry of 34 provinces
 * (10,000 stations, 100,000 loudspeaker clusters, 3,000 boards) and a year of their status as
 * the service keeps it: every device reporting every minute, most of them in one state all day
 * (one period a day), 2% flapping between online and offline every hour, 1% failing twice a
 * day, and each day whole communes (a station and its clusters, 1 in 100) silent for three
 * hours; each period's time added to its device's day and its province's day. Beside it, a year
 * of broadcast logs (two a day per station), central content and report submissions. A second
 * database holds the same registry and nothing else.
 *
 * The year is loaded with set-based SQL that writes the rows the store would (periods from
 * first to last report, days by the store's rule for time in a state and silence after the
 * stale limit); today's open periods go into the current state, where the database's own
 * triggers count them. Then, through the signed API of a service process on each database, the
 * same stream of batches (status-stream.ts) in alternating rounds: the empty database, the year.
 * Then the store's own statement straight into the year database, as many batches as the last
 * API round sent. Last, 8 central clients read the summaries and availability, computed on
 * every request, on the year database.
 *
 *   npm run bench:year   (BENCH_DAYS 365, BENCH_SECONDS 30 per ingest round, BENCH_ROUNDS 2, BENCH_CONCURRENCY 4,
 *                         BENCH_READ_SECONDS 15, BENCH_WARMUP_SECONDS 5, BENCH_READERS 8, BENCH_KEEP_DATABASE=1)
 *
 * Targets: storage for the year under 200 GB; ingest on the year at least 40,000 events/s, at
 * least 50% of direct SQL, batch p99 under 250 ms, within 20% of the rate on the empty database;
 * national summary p95 under 50 ms, a province's under 20 ms, a province's month of
 * availability under 100 ms.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { generateKey, importSigningKey } from '../src/client/keys.js'
import { openPostgres } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { MonthlyPartitions, monthOf } from '../src/modules/status/partitions.js'
import { dayDate, vietnamDay, vietnamDayStart, type AccountedState } from '../src/modules/status/periods.js'
import { StatusStore } from '../src/modules/status/store.js'
import { loadBroadcastLogs, loadContent, loadRegistry, loadReports, readUnderLoad, readings, tableStorage, type Db } from './national-data.js'
import { BATCH, CLUSTERS, batchPoster, driveBatches, statusStream, type IngestRun } from './status-stream.js'
import { createBenchDatabase, provincialSystems, recordResult, startService, type ChildService } from './support.js'

const DAYS = Number(process.env.BENCH_DAYS ?? 365)
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4)
const readSeconds = Number(process.env.BENCH_READ_SECONDS ?? 15)
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 5)
const readers = Number(process.env.BENCH_READERS ?? 8)
const STALE_AFTER_MS = 600_000
const CHANGE_EVERY = 30
const PROVINCE = '79'
const MINUTE = 60

const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const say = (line: string) => process.stdout.write(line + '\n')

/** One period of a day's shape: from its first report to its last, in seconds after the day's start. */
interface ShapePeriod { start: number, last: number, state: 'online' | 'offline' | 'fault' }

const DAY = 86_400
const steadyDay: ShapePeriod[] = [{ start: 0, last: DAY - MINUTE, state: 'online' }]
/** The device's commune loses power from 10:00 to 13:00. */
const outageDay: ShapePeriod[] = [{ start: 0, last: 10 * 3600 - MINUTE, state: 'online' }, { start: 13 * 3600, last: DAY - MINUTE, state: 'online' }]
const flappingDay: ShapePeriod[] = Array.from({ length: 24 }, (_, k) => ({ start: k * 3600, last: k * 3600 + 3600 - MINUTE, state: k % 2 === 0 ? 'online' : 'offline' }))
const failingDay: ShapePeriod[] = [
  { start: 0, last: 6 * 3600 - MINUTE, state: 'online' }, { start: 6 * 3600, last: 8 * 3600 - MINUTE, state: 'fault' },
  { start: 8 * 3600, last: 20 * 3600 - MINUTE, state: 'online' }, { start: 20 * 3600, last: DAY - MINUTE, state: 'fault' },
]
const SHAPES = { steady: steadyDay, outage: outageDay, flapping: flappingDay, failing: failingDay }

/**
 * A shape's day as the store adds it up: each period's state until the next report, or until
 * the stale limit after its last report when a longer silence followed, then silent. The next
 * day begins with a report at midnight.
 */
function tallyOf(periods: ShapePeriod[]) {
  const ms: Record<AccountedState, number> = { online: 0, offline: 0, playing: 0, idle: 0, fault: 0, silent: 0 }
  periods.forEach((period, i) => {
    const next = periods[i + 1]?.start ?? DAY
    const stateUntil = next - period.last <= STALE_AFTER_MS / 1000 ? next : period.last + STALE_AFTER_MS / 1000
    ms[period.state] += (stateUntil - period.start) * 1000
    ms.silent += (next - stateUntil) * 1000
  })
  return { ms, faults: periods.filter((p) => p.state === 'fault').length, last: periods.at(-1)!.last }
}

/** Every device that reports (not decommissioned) with its shape class and the group that loses power together. */
async function loadShapes(db: Db): Promise<void> {
  await sql`
    create table bench_devices as
    select province_code, device_type, id, grp, abs(hashtext(id)) % 1000 as b from (
      select province_code, 'station' as device_type, id, id as grp from stations where status <> 'decommissioned'
      union all select province_code, 'cluster', id, station_id from clusters where status <> 'decommissioned'
      union all select province_code, 'board', id, id from boards where status <> 'decommissioned'
    ) d`.execute(db)
  await sql`create index on bench_devices (province_code)`.execute(db)
  await sql`create table bench_shape_periods (shape text, start_s int, last_s int, state text)`.execute(db)
  await sql`create table bench_shape_days (shape text, online_ms bigint, offline_ms bigint, fault_ms bigint, silent_ms bigint, faults int, last_s int)`.execute(db)
  for (const [shape, periods] of Object.entries(SHAPES)) {
    await db.insertInto('bench_shape_periods').values(periods.map((p) => ({ shape, start_s: p.start, last_s: p.last, state: p.state }))).execute()
    const { ms, faults, last } = tallyOf(periods)
    await db.insertInto('bench_shape_days').values({ shape, online_ms: ms.online, offline_ms: ms.offline, fault_ms: ms.fault, silent_ms: ms.silent, faults, last_s: last }).execute()
  }
}

/** The shape of a device `d` on the Vietnam day `t.day`, and the day's first instant. */
const DEVICE_DAYS = sql`
  cross join lateral (select ((t0.day::timestamp - interval '7 hours') at time zone 'UTC') as day_start, t0.day::date as day,
    case when d.b < 20 then 'flapping' when d.b < 30 then 'failing' when abs(hashtext(d.grp || t0.day::date::text)) % 100 = 0 then 'outage' else 'steady' end as shape) t`

/** The closed days `firstDay`…`lastDay` of every device, a province and a month a statement. */
async function loadStatusYear(db: Db, provinces: string[], firstDay: number, lastDay: number): Promise<void> {
  const months = new Set<string>()
  for (let day = firstDay - 1; day <= lastDay + 1; day++) months.add(monthOf(new Date(vietnamDayStart(day))))
  await MonthlyPartitions.history(db as never).ensure(months)
  await MonthlyPartitions.days(db as never).ensure(months)
  const chunks: [number, number][] = []
  for (let from = firstDay; from <= lastDay; from += 31) chunks.push([from, Math.min(lastDay, from + 30)])
  // Two connections, one a core, each taking the next province.
  const queue = [...provinces]
  await Promise.all([0, 1].map(() => db.connection().execute(async (connection) => {
    await loaderSettings(connection)
    for (let province = queue.shift(); province !== undefined; province = queue.shift()) {
      const started = performance.now()
      for (const [from, to] of chunks) {
        const days = sql`generate_series(${dayDate(from)}::date, ${dayDate(to)}::date, interval '1 day') t0(day)`
        await sql`
          insert into device_status_history (province_code, device_type, device_id, observed_at, last_seen_at, state, fault_code, fault_message,
            volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
          select d.province_code, d.device_type, d.id, t.day_start + make_interval(secs => p.start_s), t.day_start + make_interval(secs => p.last_s), p.state,
            ${readings('p.state', 'd.b')}, t.day_start + make_interval(secs => p.start_s + 2)
          from bench_devices d cross join ${days} ${DEVICE_DAYS}
          join bench_shape_periods p on p.shape = t.shape
          where d.province_code = ${province}`.execute(connection)
        await sql`
          insert into device_status_days (province_code, device_type, device_id, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
          select d.province_code, d.device_type, d.id, t.day, s.online_ms, s.offline_ms, 0, 0, s.fault_ms, s.silent_ms, s.faults, t.day_start + make_interval(secs => s.last_s)
          from bench_devices d cross join ${days} ${DEVICE_DAYS}
          join bench_shape_days s on s.shape = t.shape
          where d.province_code = ${province}`.execute(connection)
      }
      say(`  status year: province ${province} in ${elapsed(started)}, ${queue.length} to go`)
    }
  })))
  await sql`
    insert into province_status_days (province_code, day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at)
    select province_code, day, sum(online_ms), sum(offline_ms), sum(playing_ms), sum(idle_ms), sum(fault_ms), sum(silent_ms), sum(faults), max(last_seen_at)
    from device_status_days group by 1, 2`.execute(db)
}

/**
 * Today's open period of every device, from the day's start to its newest report a minute or
 * so before `until`, with the period's row in the history: failing devices in fault, the rest online.
 */
async function loadToday(db: Db, today: number, until: Date): Promise<void> {
  const dayStart = new Date(vietnamDayStart(today))
  await MonthlyPartitions.history(db as never).ensure([monthOf(dayStart)])
  const open = sql`
    select province_code, device_type, id, b, case when b between 20 and 29 then 'fault' else 'online' end as state,
      greatest(${dayStart}::timestamptz, ${until}::timestamptz - make_interval(secs => b % 60)) as seen
    from bench_devices`
  await sql`
    insert into device_status_history (province_code, device_type, device_id, observed_at, last_seen_at, state, fault_code, fault_message,
      volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
    select province_code, device_type, id, ${dayStart}, ${dayStart}, state, ${readings('state', 'b')}, ${dayStart}::timestamptz + interval '2 seconds'
    from (${open}) o order by province_code, device_type, id collate "C"`.execute(db)
  await sql`
    insert into device_status (province_code, device_type, device_id, state, observed_at, run_started_at, fault_code, fault_message,
      volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
    select province_code, device_type, id, state, seen, ${dayStart}, ${readings('state', 'b')}, seen + interval '2 seconds'
    from (${open}) o`.execute(db)
}

/** A loading session: no waiting for the disk at each commit, no time limit, no JIT compiling of the generating queries. */
async function loaderSettings(db: Db): Promise<void> {
  for (const setting of ['synchronous_commit = off', 'statement_timeout = 0', 'jit = off', `work_mem = '256MB'`, `maintenance_work_mem = '1GB'`]) await sql.raw(`set ${setting}`).execute(db)
}

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-year-'))
const emptyDatabase = await createBenchDatabase('ttn_bench_empty')
const yearDatabase = await createBenchDatabase('ttn_bench_year')
const services: ChildService[] = []

try {
  const { keys, systemsFile } = await provincialSystems(work)
  const { privateJwk, publicJwk } = await generateKey('ES256')
  const centralKey = await importSigningKey(privateJwk)
  const systems = JSON.parse(await readFile(systemsFile, 'utf8')) as object[]
  await writeFile(systemsFile, JSON.stringify([...systems, { id: 'central-portal', role: 'central', name: 'Central', jwks: { keys: [publicJwk] } }]))

  // The stream's events begin half an hour ago; the year's newest reports are a minute or more before them.
  const origin = Date.now() - 30 * 60_000
  const loadedUntil = new Date(Math.floor((origin - 60_000) / 1000) * 1000)
  const today = vietnamDay(loadedUntil.getTime())
  const loadStarted = performance.now()

  const emptySetup = openPostgres({ url: emptyDatabase.url, poolMax: 1 })
  await migrateToLatest(emptySetup.db)
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code`.execute(emptySetup.db)).rows.map((r) => r.code)
  await loadRegistry(emptySetup.db as Db, provinces)
  await sql`vacuum analyze`.execute(emptySetup.db)
  await emptySetup.close()

  const setup = openPostgres({ url: yearDatabase.url, poolMax: 2 })
  const db = setup.db as Db
  await migrateToLatest(setup.db)
  let step = performance.now()
  // One connection for each step's statements, which share temporary tables.
  await db.connection().execute(async (connection) => {
    await loaderSettings(connection)
    await loadRegistry(connection, provinces)
    await loadShapes(connection)
  })
  say(`registry in ${elapsed(step)}`)
  step = performance.now()
  await loadStatusYear(db, provinces, today - DAYS, today - 1)
  say(`status: ${DAYS} days in ${elapsed(step)}`)
  step = performance.now()
  await db.connection().execute(async (connection) => {
    await loaderSettings(connection)
    await loadToday(connection, today, loadedUntil)
    const now = new Date()
    await loadContent(connection, provinces, now, { items: 6 * DAYS, days: DAYS })
    await loadBroadcastLogs(connection, now, { perStation: 2 * DAYS, days: DAYS })
    await loadReports(connection, provinces, now)
    say(`today, content, broadcast logs and reports in ${elapsed(step)}`)
    step = performance.now()
    for (const table of ['bench_devices', 'bench_shape_periods', 'bench_shape_days']) await sql`drop table ${sql.table(table)}`.execute(connection)
    await sql`vacuum analyze`.execute(connection)
    say(`vacuum analyze in ${elapsed(step)}`)
  })
  const loadSeconds = Number(((performance.now() - loadStarted) / 1000).toFixed(1))
  const storage = await tableStorage(db)
  say(`loaded in ${loadSeconds} s; ${storage.databaseMebibytes} MiB: ${JSON.stringify(storage.tables)}`)
  await setup.close()

  const serve = (url: string) => startService('src/server.ts', {
    DATABASE_URL: url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, DATABASE_POOL_MAX: '20', RATE_LIMIT_PER_MINUTE: '1000000',
    CALLER_BODY_BYTES_PER_SECOND: String(1024 ** 3), OVERLOAD_EVENT_LOOP_DELAY_MS: '0', SUMMARY_CACHE_SECONDS: '0', METRICS_PORT: '0',
  })
  const emptyService = await serve(emptyDatabase.url)
  services.push(emptyService)
  const yearService = await serve(yearDatabase.url)
  services.push(yearService)

  // The same batches on both databases, round after round, so that each round of the one has a round of the other beside it.
  const batchOf = statusStream(origin, CHANGE_EVERY)
  const runs: { empty: IngestRun[], year: IngestRun[] } = { empty: [], year: [] }
  // A first pass touches every cluster once on both, so that the rounds measure devices already reporting.
  const warmup = Math.ceil(CLUSTERS / BATCH) * 2
  for (const service of [emptyService, yearService]) await driveBatches(batchPoster(service.url, keys, batchOf), { concurrency, limit: warmup })
  let first = warmup
  for (let round = 0; round < rounds; round++) {
    const empty = await driveBatches(batchPoster(emptyService.url, keys, batchOf), { concurrency, seconds, first })
    const year = await driveBatches(batchPoster(yearService.url, keys, batchOf), { concurrency, seconds, first })
    // Both continue from the furthest either reached; the one behind skips batches it did not send (the stream is newer each batch).
    first += Math.max(empty.batches, year.batches)
    runs.empty.push(empty)
    runs.year.push(year)
    say(`round ${round + 1}: empty ${empty.eventsPerSecond} events/s (p99 ${empty.p99.toFixed(0)} ms), year ${year.eventsPerSecond} events/s (p99 ${year.p99.toFixed(0)} ms)`)
  }
  const ingestPeakRss = yearService.peakRss()
  await emptyService.stop()

  const direct = openPostgres({ url: yearDatabase.url, poolMax: 20 })
  const store = new StatusStore(direct.db)
  const receivedAt = new Date()
  const lastYear = runs.year.at(-1)!
  const directRun = await driveBatches((seq) => direct.db.transaction().execute(async (trx) => {
    const { province, events } = batchOf(seq)
    await store.write(trx, province, events, receivedAt, STALE_AFTER_MS, () => undefined)
  }), { concurrency, limit: lastYear.batches, first })
  await direct.close()
  say(`direct on the year: ${directRun.eventsPerSecond} events/s (p99 ${directRun.p99.toFixed(0)} ms)`)

  const read = (path: string) => readUnderLoad(yearService.url, centralKey, path, { concurrency: readers, seconds: readSeconds, warmupSeconds })
  const reads = {
    national: (await read('/v2/summaries/national')).result,
    province: (await read(`/v2/summaries/provinces/${PROVINCE}`)).result,
    provinceAvailabilityMonth: (await read(`/v2/provinces/${PROVINCE}/availability`)).result,
    nationalAvailabilityMonth: (await read('/v2/availability')).result,
  }
  await yearService.stop()

  const mean = (list: IngestRun[]) => Math.round(list.reduce((sum, run) => sum + run.eventsPerSecond, 0) / list.length)
  const emptyRate = mean(runs.empty)
  const yearRate = mean(runs.year)
  const yearP99 = Math.max(...runs.year.map((run) => run.p99))
  const ratioToDirect = lastYear.eventsPerSecond / directRun.eventsPerSecond
  const ratioToEmpty = yearRate / emptyRate
  const met = {
    storageUnder200GB: storage.databaseMebibytes < 200 * 1024, ingestAtLeast40k: yearRate >= 40_000, ingestHalfOfDirect: ratioToDirect >= 0.5,
    ingestP99Under250Ms: yearP99 < 250, ingestWithin20PercentOfEmpty: ratioToEmpty >= 0.8,
    nationalP95Under50Ms: reads.national.p95Ms < 50, provinceP95Under20Ms: reads.province.p95Ms < 20,
    provinceAvailabilityMonthP95Under100Ms: reads.provinceAvailabilityMonth.p95Ms < 100,
  }
  say(`ingest: year ${yearRate} events/s against empty ${emptyRate} (${(ratioToEmpty * 100).toFixed(1)}%), ${(ratioToDirect * 100).toFixed(1)}% of direct; targets met: ${JSON.stringify(met)}`)
  const rounded = (run: IngestRun) => ({ batches: run.batches, seconds: Number(run.seconds.toFixed(2)), eventsPerSecond: run.eventsPerSecond, batchP50Ms: Math.round(run.p50), batchP99Ms: Math.round(run.p99) })
  await recordResult('national-year', {
    command: 'npm run bench:year',
    settings: { days: DAYS, ingestSeconds: seconds, rounds, concurrency, changeEvery: CHANGE_EVERY, readers, readSeconds, warmupSeconds, database: 'PostgreSQL (local server)', province: PROVINCE },
    loadSeconds, storage,
    ingest: { empty: runs.empty.map(rounded), year: runs.year.map(rounded), directOnYear: rounded(directRun), emptyMean: emptyRate, yearMean: yearRate,
      ratioToEmpty: Number(ratioToEmpty.toFixed(3)), ratioToDirect: Number(ratioToDirect.toFixed(3)), peakRssMiB: Math.round(ingestPeakRss / 2 ** 20) },
    readsComputedEveryTime: reads,
    met,
  })
} finally {
  for (const service of services) await service.stop()
  if (process.env.BENCH_KEEP_DATABASE) say(`kept ${yearDatabase.url}`)
  else await yearDatabase.drop()
  await emptyDatabase.drop()
  await rm(work, { recursive: true, force: true })
}
