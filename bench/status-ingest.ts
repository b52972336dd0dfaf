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
import { openPostgres, type Database } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { clusters, contentHash, stations } from '../src/modules/registry/entities.js'
import { MonthlyPartitions, monthOf } from '../src/modules/status/partitions.js'
import { StatusStore } from '../src/modules/status/store.js'
import { BATCH, CLUSTERS, batchPoster, clusterCounts, driveBatches, statusStream } from './status-stream.js'
import { PROVINCES, createBenchDatabase, provincialSystems, recordResult, startService } from './support.js'

const STATIONS_PER_PROVINCE = 100
const STALE_AFTER_MS = 600_000
const seconds = Number(process.env.BENCH_SECONDS ?? 60)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4)
/** Reports of a device per change of its state: 30 is a few percent of the events changing state; 1 makes every event a change. */
const CHANGE_EVERY = Number(process.env.BENCH_CHANGE_EVERY ?? 30)
const batchOf = statusStream(Date.now() - 3_600_000, CHANGE_EVERY)

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
  let api: Awaited<ReturnType<typeof driveBatches>>
  let peakRss: number
  try {
    api = await driveBatches(batchPoster(service.url, keys, batchOf), { concurrency, seconds })
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
  const directRun = await driveBatches((seq) => direct.db.transaction().execute(async (trx) => {
    const { province, events } = batchOf(seq)
    await store.write(trx, province, events, receivedAt, STALE_AFTER_MS, () => undefined)
  }), { concurrency, limit: api.batches })
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
