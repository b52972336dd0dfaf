/**
 * Device status at national scale: 34 provinces with 100,000 loudspeaker clusters send signed
 * batches of 1000 status events through the HTTP API from several concurrent senders for a
 * fixed time; then the same batches are written straight into a second database with the
 * store's own statement (history insert and current-state upsert), the same concurrency and
 * no HTTP. Both on the PostgreSQL server, the service as a real process from the compiled code.
 *
 *   npm run bench:status      (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_CHANGE_EVERY, BENCH_DATABASE_URL, BENCH_PROFILE_DIR)
 *
 * Targets: at least 40,000 events/s through the API, at least 50% of the direct rate, batch
 * latency p99 under 250 ms, service peak RSS under 300 MB.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import type { StatusEvent } from '../schemas/status.js'
import { signCall } from '../src/client/sign.js'
import { openPostgres, type Database } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { clusters, contentHash, stations } from '../src/modules/registry/entities.js'
import { MonthlyPartitions, monthOf } from '../src/modules/status/partitions.js'
import { StatusStore } from '../src/modules/status/store.js'
import { PROVINCES, createBenchDatabase, provincialSystems, recordResult, startService } from './support.js'

const CLUSTERS = 100_000
const STATIONS_PER_PROVINCE = 100
const BATCH = 1000
const STALE_AFTER_MS = 600_000
const seconds = Number(process.env.BENCH_SECONDS ?? 60)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4)
const STATES = ['online', 'playing', 'idle', 'online', 'fault'] as const
/** Reports of a device per change of its state: 30 is a few percent of the events changing state; 1 makes every event a change. */
const CHANGE_EVERY = Number(process.env.BENCH_CHANGE_EVERY ?? 30)

const share = (p: number) => Math.floor(CLUSTERS / PROVINCES.length) + (p < CLUSTERS % PROVINCES.length ? 1 : 0)
const clusterCounts = PROVINCES.map((_, p) => share(p))
const origin = Date.now() - 3_600_000

/**
 * Batch number `seq`: the next province in turn, 1000 distinct clusters of it, all observed
 * later than that province's previous batch. The same `seq` always gives the same events.
 */
function batchOf(seq: number): { province: string, events: StatusEvent[] } {
  const p = seq % PROVINCES.length
  const province = PROVINCES[p]!
  const round = Math.floor(seq / PROVINCES.length)
  const count = clusterCounts[p]!
  const observedAt = new Date(origin + seq * 10).toISOString()
  const events: StatusEvent[] = new Array(BATCH)
  for (let i = 0; i < BATCH; i++) {
    const n = (round * BATCH + i) % count
    // Each device changes state every CHANGE_EVERY of its reports, at its own moment: the rest are heartbeats.
    const state = STATES[(n + Math.floor((round + n) / CHANGE_EVERY)) % STATES.length]!
    events[i] = {
      deviceType: 'cluster', deviceId: `cl-${province}-${n}`, state, observedAt,
      volumePercent: 60 + (n % 40), signalDbm: -60 - (n % 40),
      ...(state === 'fault' ? { faultCode: 'AMP-01', faultMessage: 'Amplifier overheated' } : {}),
    }
  }
  return { province, events }
}

async function loadRegistry(database: Database): Promise<void> {
  for (const [p, province] of PROVINCES.entries()) {
    const stationRows = Array.from({ length: STATIONS_PER_PROVINCE }, (_, i) => {
      const columns = stations.toColumns({ id: `st-${province}-${i}`, communeCode: String(10_000 + p * 200 + i).padStart(5, '0'), name: `Đài ${i}`, kind: 'ip', status: 'operating' }, false)
      return { ...columns, province_code: province, content_hash: contentHash(JSON.stringify(columns)) }
    })
    await database.db.insertInto('stations').values(stationRows as never).execute()
    for (let start = 0; start < clusterCounts[p]!; start += 5000) {
      const rows = Array.from({ length: Math.min(5000, clusterCounts[p]! - start) }, (_, k) => {
        const i = start + k
        const columns = clusters.toColumns({ id: `cl-${province}-${i}`, stationId: `st-${province}-${i % STATIONS_PER_PROVINCE}`, kind: 'ip', status: 'operating' })
        return { ...columns, province_code: province, content_hash: contentHash(JSON.stringify(columns)) }
      })
      await database.db.insertInto('clusters').values(rows as never).execute()
    }
  }
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

/** Sends batches with `concurrency` workers until the time is up (or `limit` batches are done); answers what it measured. */
async function drive(send: (seq: number) => Promise<void>, options: { seconds?: number, limit?: number }) {
  let next = 0
  const latencies: number[] = []
  const started = performance.now()
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline && (options.limit === undefined || next < options.limit)) {
      const seq = next++
      const t0 = performance.now()
      await send(seq)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { batches: latencies.length, seconds: elapsed, eventsPerSecond: Math.round(latencies.length * BATCH / elapsed), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-status-'))
const apiDatabase = await createBenchDatabase('ttn_bench_status_api')
const directDatabase = await createBenchDatabase('ttn_bench_status_direct')

try {
  const { keys, systemsFile } = await provincialSystems(work)
  const setup = openPostgres({ url: apiDatabase.url, poolMax: 4 })
  await migrateToLatest(setup.db)
  await loadRegistry(setup)
  await setup.close()
  process.stdout.write(`registry loaded: ${PROVINCES.length} provinces, ${CLUSTERS} clusters\n`)

  // API path: the real service, each province signing its own batches. The senders, the
  // service and PostgreSQL share two cores here, so event-loop delay would measure the
  // machine rather than the service: that overload check is off; every other one stays.
  const service = await startService('src/server.ts', {
    DATABASE_URL: apiDatabase.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, DATABASE_POOL_MAX: '20', RATE_LIMIT_PER_MINUTE: '1000000',
    // The service's throughput is what is measured, not each province's share of it.
    CALLER_BODY_BYTES_PER_SECOND: String(1024 ** 3),
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  })
  const post = async (seq: number) => {
    const { province, events } = batchOf(seq)
    const path = `/v2/provinces/${province}/status-events`
    const body = JSON.stringify({ events })
    const token = await signCall({ issuer: `province-${province}`, audience: 'ttn-central', key: keys.get(province)!, method: 'POST', pathAndQuery: path, body })
    const response = await request(service.url + path, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 500)}`)
    const result = JSON.parse(text) as { accepted: number, rejected: number }
    if (result.accepted !== BATCH) throw new Error(`${path}: ${text.slice(0, 500)}`)
  }
  let api: Awaited<ReturnType<typeof drive>>
  let peakRss: number
  try {
    api = await drive(post, { seconds })
    peakRss = service.peakRss()
  } finally {
    await service.stop()
  }

  // Direct path: the same batches, the store's statement in a transaction, no HTTP.
  const direct = openPostgres({ url: directDatabase.url, poolMax: 20 })
  await migrateToLatest(direct.db)
  const store = new StatusStore(direct.db)
  const months = [0, api.batches - 1].map((seq) => monthOf(new Date(batchOf(seq).events[0]!.observedAt)))
  await MonthlyPartitions.history(direct.db).ensure(months)
  await MonthlyPartitions.days(direct.db).ensure(months)
  const receivedAt = new Date()
  const directRun = await drive((seq) => direct.db.transaction().execute(async (trx) => {
    const { province, events } = batchOf(seq)
    await store.write(trx, province, events, receivedAt, STALE_AFTER_MS, () => undefined)
  }), { limit: api.batches })
  await direct.close()

  const ratio = api.eventsPerSecond / directRun.eventsPerSecond
  const peakMiB = Math.round(peakRss / 2 ** 20)
  const met = { eventsPerSecond: api.eventsPerSecond >= 40_000, ratio: ratio >= 0.5, p99: api.p99 < 250, rss: peakMiB < 300 }
  process.stdout.write(`${api.batches} batches of ${BATCH} events, ${concurrency} concurrent senders, ${api.seconds.toFixed(1)} s\n`)
  process.stdout.write(`API: ${api.eventsPerSecond} events/s, batch p50 ${api.p50.toFixed(0)} ms, p99 ${api.p99.toFixed(0)} ms, service peak RSS ${peakMiB} MB\n`)
  process.stdout.write(`direct: ${directRun.eventsPerSecond} events/s (${directRun.seconds.toFixed(1)} s), batch p50 ${directRun.p50.toFixed(0)} ms, p99 ${directRun.p99.toFixed(0)} ms\n`)
  process.stdout.write(`API / direct = ${(ratio * 100).toFixed(1)}%; targets met: ${JSON.stringify(met)}\n`)
  await recordResult('status-ingest', {
    command: 'npm run bench:status',
    settings: { provinces: PROVINCES.length, clusters: CLUSTERS, batch: BATCH, concurrency, seconds, changeEvery: CHANGE_EVERY, database: 'PostgreSQL (local server)' },
    events: api.batches * BATCH, batches: api.batches,
    api: { seconds: Number(api.seconds.toFixed(2)), eventsPerSecond: api.eventsPerSecond, batchP50Ms: Math.round(api.p50), batchP99Ms: Math.round(api.p99), peakRssMiB: peakMiB },
    direct: { seconds: Number(directRun.seconds.toFixed(2)), eventsPerSecond: directRun.eventsPerSecond, batchP50Ms: Math.round(directRun.p50), batchP99Ms: Math.round(directRun.p99) },
    ratio: Number(ratio.toFixed(3)),
    targets: { eventsPerSecond: 40_000, ratio: 0.5, batchP99Ms: 250, peakRssMiB: 300 },
    met,
  })
} finally {
  await apiDatabase.drop()
  await directDatabase.drop()
  await rm(work, { recursive: true, force: true })
}
