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
import { sql } from 'kysely'
import { generateKey, importSigningKey } from '../src/client/keys.js'
import { openPostgres } from '../src/db/database.js'
import { runPart } from '../src/db/parts.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { currentPeriod } from '../src/modules/reports/status.js'
import { ReportsStore } from '../src/modules/reports/store.js'
import { MonthlyPartitions, monthOf } from '../src/modules/status/partitions.js'
import { currentAndRecent } from '../src/modules/availability/figures.js'
import { AvailabilityStore } from '../src/modules/availability/store.js'
import { SummariesStore } from '../src/modules/summaries/store.js'
import { summarise } from '../src/modules/summaries/summarise.js'
import { BOARDS, CLUSTERS, STATIONS, loadBroadcastLogs, loadContent, loadRegistry, loadReports, readUnderLoad, readings, tableStorage, type Db } from './national-data.js'
import { createBenchDatabase, recordResult, startService } from './support.js'

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

const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const say = (line: string) => process.stdout.write(line + '\n')

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
        ${readings('state', 'h')}, at + interval '2 seconds'
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

/**
 * The newest state of most devices: four in five reported within the last two minutes (a few
 * of them offline or faulty), one in ten long ago (stale when read), the rest never. Loaded
 * last, right before the runs, so that "recent" is still recent while they read.
 */
async function loadCurrentState(db: Db): Promise<void> {
  await sql`
    insert into device_status (province_code, device_type, device_id, state, observed_at, run_started_at, fault_code, fault_message,
      volume_percent, signal_dbm, supply_voltage, temperature_c, received_at)
    select province_code, device_type, id, state, at, at - make_interval(hours => b % 48, secs => b), ${readings('state', 'b')},
      at + interval '2 seconds'
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
  await loadContent(db, provinces, now, { items: CONTENTS, days: LOG_DAYS })
  say(`content: ${CONTENTS} items with notifications and acknowledgements in ${elapsed(step)}`)
  step = performance.now()
  await loadBroadcastLogs(db, now, { perStation: LOGS_PER_STATION, days: LOG_DAYS })
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
  const { tables } = await tableStorage(db)
  const storage = Object.fromEntries(['device_status', 'device_status_history', 'device_status_days', 'province_status_days', 'device_state_seconds', 'registry_counts', 'content_reach', 'broadcast_logs']
    .map((table) => [table, tables[table]]))
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
    provinces: () => runPart(db, store.provinces(only)), registry: () => runPart(db, store.registry(only)),
    programmes: () => runPart(db, store.programmes(only)),
    broadcast: () => runPart(db, store.broadcast(new Date(), only)), content: () => runPart(db, store.content(new Date(), only)),
    'devices and availability': () => runPart(db, currentAndRecent(availability, wholeSecond().getTime(), 600_000, only)),
    'report state': () => period ? runPart(db, reports.latestStates(period.id, only)) : Promise.resolve(),
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
  const drive = (url: string, path: string) => readUnderLoad(url, key, path, { concurrency, seconds, warmupSeconds })

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
