/**
 * Loading a national registry: 34 provinces, 10,000 stations, 100,000 loudspeaker clusters
 * and 2,000 bulletin boards in batches of 1000, pushed through the HTTP API with signed
 * calls by concurrent provinces; then the same rows inserted directly into a second database
 * with one SQL statement per batch and the same concurrency. Both on the PostgreSQL server.
 *
 *   npm run bench:registry          (BENCH_DATABASE_URL, BENCH_CONCURRENCY to change the defaults)
 *
 * Target: the API path reaches at least 50% of the direct path's records per second.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { signCall } from '../src/client/sign.js'
import { openPostgres } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { boards, clusters, contentHash, stations } from '../src/modules/registry/entities.js'
import type { BoardInput, ClusterInput, StationInput } from '../schemas/registry.js'
import { PROVINCES, createBenchDatabase, provincialSystems, recordResult, startService } from './support.js'

const STATIONS = 10_000
const CLUSTERS = 100_000
const BOARDS = 2_000
const BATCH = 1000
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8)

interface Batch { province: string, entity: 'stations' | 'clusters' | 'boards', items: (StationInput | ClusterInput | BoardInput)[] }

/** The nation, split into batches of at most 1000 records of one kind for one province; stations and boards in real communes of their province. */
function nationalRegistry(communes: Map<string, string[]>): Batch[] {
  const batches: Batch[] = []
  const share = (total: number, p: number) => Math.floor(total / PROVINCES.length) + (p < total % PROVINCES.length ? 1 : 0)
  PROVINCES.forEach((province, p) => {
    const own = communes.get(province)!
    const commune = (i: number) => own[i % own.length]!
    const stationItems: StationInput[] = Array.from({ length: share(STATIONS, p) }, (_, i) => ({
      id: `st-${province}-${i}`, communeCode: commune(i), name: `Đài truyền thanh ${i}`,
      kind: (['ip', 'wired', 'fm', 'wired_fm'] as const)[i % 4]!, status: 'operating', establishedOn: '2024-06-01',
      hasIntegrationDevice: i % 3 === 0, location: { latitude: 10 + (i % 100) / 10, longitude: 105 + (i % 50) / 10 },
      programme: 'new_station', fundingSource: 'local_budget',
    }))
    const clusterItems: ClusterInput[] = Array.from({ length: share(CLUSTERS, p) }, (_, i) => ({
      id: `cl-${province}-${i}`, stationId: stationItems[i % stationItems.length]!.id, village: `Thôn ${i % 40}`,
      kind: i % 5 === 0 ? 'fm' : 'ip', installedOn: '2024-07-01', status: 'operating', vendor: 'Công ty Loa Việt', model: 'IP-30W',
      location: { latitude: 10 + (i % 100) / 10, longitude: 105 + (i % 50) / 10 },
    }))
    const boardItems: BoardInput[] = Array.from({ length: share(BOARDS, p) }, (_, i) => ({
      id: `bt-${province}-${i}`, communeCode: commune(i), placement: i % 2 ? 'indoor' : 'outdoor', screenSizeInches: 55, status: 'operating',
    }))
    for (const [entity, items] of [['stations', stationItems], ['clusters', clusterItems], ['boards', boardItems]] as const) {
      for (let i = 0; i < items.length; i += BATCH) batches.push({ province, entity, items: items.slice(i, i + BATCH) })
    }
  })
  // Stations first: a cluster needs its station stored.
  const order = { stations: 0, boards: 1, clusters: 2 }
  return batches.sort((a, b) => order[a.entity] - order[b.entity])
}

/** Runs the batches with `concurrency` workers, each entity kind only after the previous one is done. */
async function runAll(batches: Batch[], send: (batch: Batch) => Promise<void>): Promise<number> {
  const started = performance.now()
  for (const entity of ['stations', 'boards', 'clusters'] as const) {
    const queue = batches.filter((b) => b.entity === entity)
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) await send(batch)
    }))
  }
  return (performance.now() - started) / 1000
}

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-'))
const apiDatabase = await createBenchDatabase('ttn_bench_registry_api')
const directDatabase = await createBenchDatabase('ttn_bench_registry_direct')

try {
  const direct = openPostgres({ url: directDatabase.url, poolMax: 20 })
  await migrateToLatest(direct.db)
  const communes = new Map<string, string[]>()
  const catalogue = await direct.db.selectFrom('admin_units').select(['province_code', 'code']).where('level', '=', 'commune').where('status', '=', 'active').orderBy('code').execute()
  for (const { province_code: province, code } of catalogue) communes.set(province!, [...communes.get(province!) ?? [], code])
  const batches = nationalRegistry(communes)
  const records = batches.reduce((n, b) => n + b.items.length, 0)

  // API path: the real service process, 34 provincial systems each signing its own pushes.
  const { keys, systemsFile } = await provincialSystems(work)
  const service = await startService('src/server.ts', { DATABASE_URL: apiDatabase.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, DATABASE_POOL_MAX: '20',
    // The service's throughput is what is measured, not each province's share of it.
    CALLER_BODY_BYTES_PER_SECOND: String(1024 ** 3) })
  let apiSeconds: number
  let peakRss: number
  try {
    apiSeconds = await runAll(batches, async (batch) => {
      const path = `/v2/provinces/${batch.province}/${batch.entity}`
      const body = JSON.stringify({ items: batch.items })
      const token = await signCall({ issuer: `province-${batch.province}`, audience: 'ttn-central', key: keys.get(batch.province)!, method: 'PUT', pathAndQuery: path, body })
      const response = await request(service.url + path, { method: 'PUT', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${text.slice(0, 500)}`)
    })
    peakRss = service.peakRss()
  } finally {
    await service.stop()
  }

  // Direct path: the same rows, one INSERT statement per batch, same concurrency.
  const directSeconds = await runAll(batches, async (batch) => {
    const table = batch.entity
    const rows = batch.items.map((item) => {
      const columns = table === 'stations' ? stations.toColumns(item as StationInput, false)
        : table === 'clusters' ? clusters.toColumns(item as ClusterInput)
          : boards.toColumns(item as BoardInput, false)
      return { ...columns, province_code: batch.province, content_hash: contentHash(JSON.stringify(columns)) }
    })
    await direct.db.insertInto(table).values(rows as never).execute()
  })
  await direct.close()

  const apiRate = Math.round(records / apiSeconds)
  const directRate = Math.round(records / directSeconds)
  const ratio = apiRate / directRate
  process.stdout.write(`${records} records in ${batches.length} batches, ${concurrency} concurrent senders\n`)
  process.stdout.write(`API (signed HTTP, checks, upsert, changes feed, receipts): ${apiSeconds.toFixed(1)} s, ${apiRate} records/s, service peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB\n`)
  process.stdout.write(`direct (one INSERT per batch): ${directSeconds.toFixed(1)} s, ${directRate} records/s\n`)
  process.stdout.write(`API / direct = ${(ratio * 100).toFixed(1)}% (target at least 50%)\n`)
  await recordResult('registry-load', {
    command: 'npm run bench:registry',
    settings: { provinces: PROVINCES.length, stations: STATIONS, clusters: CLUSTERS, boards: BOARDS, batch: BATCH, concurrency, database: 'PostgreSQL (local server)' },
    records, batches: batches.length,
    api: { seconds: Number(apiSeconds.toFixed(2)), recordsPerSecond: apiRate, peakRssMiB: Math.round(peakRss / 2 ** 20) },
    direct: { seconds: Number(directSeconds.toFixed(2)), recordsPerSecond: directRate },
    ratio: Number(ratio.toFixed(3)), target: 0.5, met: ratio >= 0.5,
  })
} finally {
  await apiDatabase.drop()
  await directDatabase.drop()
  await rm(work, { recursive: true, force: true })
}
