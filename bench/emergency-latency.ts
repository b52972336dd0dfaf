/**
 * Emergency delivery under national ingest. One service process on PostgreSQL with the
 * national registry (34 provinces, 100,000 loudspeaker clusters) and 34 provincial systems,
 * each registered with a webhook URL pointing at a receiver of its own in this process, on
 * 127.0.0.1. Each receiver checks the service's signed call with verifyServiceCall() (the
 * service's JWKS, the province's system id as audience), records when the call arrived,
 * answers 200, then acknowledges the item as its province, signed.
 *
 * While status ingest runs through the signed API at the national rate (144 million events a
 * day, about 1,670 events/s, status-stream.ts paced), central publishes a burst of normal items
 * to every province, then a few priority items, then emergencies to every province on a fixed
 * spacing. For every (emergency, province): publication to the webhook's arrival at the receiver
 * and to the acknowledgement, by this process's clock (from the publish call sent) and by the
 * service's (`GET /v2/contents/{id}/reach`: from publishedAt to deliveredAt and acknowledgedAt);
 * and the `ttn_content_delivery_seconds` histogram from the metrics listener.
 *
 *   npm run bench:emergency   (BENCH_EMERGENCIES 20, BENCH_SPACING_SECONDS 5, BENCH_BURST 50, BENCH_PRIORITY 3,
 *                              BENCH_EVENTS_PER_SECOND 1670, BENCH_WARMUP_SECONDS 10, BENCH_DATABASE_URL;
 *                              WEBHOOK_CONCURRENCY 8 and WEBHOOK_POLL_MS 1000 are passed to the service)
 *
 * Objective: every connected province notified within 10 s of each emergency's publication,
 * and its acknowledgement stored within 60 s.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { TtnClient } from '../src/client/client.js'
import { verifyServiceCall } from '../src/client/service-call.js'
import { openPostgres } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { loadRegistry, type Db } from './national-data.js'
import { batchPoster, driveBatches, statusStream, type IngestRun } from './status-stream.js'
import {
  PROVINCES, centralSystem, cpuSeconds, createBenchDatabase, freePort, postgresCpuSeconds, provincialSystems, recordResult, startService, type ChildService,
} from './support.js'

const EMERGENCIES = Number(process.env.BENCH_EMERGENCIES ?? 20)
const SPACING_MS = Number(process.env.BENCH_SPACING_SECONDS ?? 5) * 1000
const BURST = Number(process.env.BENCH_BURST ?? 50)
const PRIORITY = Number(process.env.BENCH_PRIORITY ?? 3)
const EVENTS_PER_SECOND = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 1670)
const WARMUP_MS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10) * 1000
const WEBHOOK_CONCURRENCY = process.env.WEBHOOK_CONCURRENCY ?? '8'
const WEBHOOK_POLL_MS = process.env.WEBHOOK_POLL_MS ?? '1000'
const INGEST_SENDERS = 4
const NOTIFY_OBJECTIVE_S = 10
const ACK_OBJECTIVE_S = 60
const SERVICE_ID = 'ttn-central'
const TOPIC = 'disasters-fire-epidemics'

const say = (line: string) => process.stdout.write(line + '\n')
const round3 = (n: number) => Math.round(n * 1000) / 1000
const key = (contentId: string, province: string) => `${contentId} ${province}`

/** The service's percentile rule (nearest rank), so that both sides are summed alike. */
const nearestRank = (sorted: number[], share: number) => sorted.length === 0 ? null : round3(sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]!)
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return { n: sorted.length, p50: nearestRank(sorted, 0.5), p95: nearestRank(sorted, 0.95), max: sorted.length ? round3(sorted.at(-1)!) : null }
}
const within = (values: (number | undefined)[], limit: number) => values.filter((v) => v !== undefined && v <= limit).length

interface Published { n: number, id: string, priority: 'normal' | 'priority' | 'emergency', sentAt: number, publishedAt: number, answeredAt: number }
/** A webhook's arrival at a province's receiver (this process's clock) and its place in the order that receiver saw. */
interface Arrival { at: number, order: number }
/** An acknowledgement: when the service stored it (its acknowledgedAt) and when its answer came back here. */
interface AckSeen { storedAt: number, answeredAt: number }

const arrivals = new Map<string, Arrival>()
const acks = new Map<string, AckSeen>()
const refusals: string[] = []
const ackFailures: string[] = []
let duplicates = 0
let serviceKeys: URL | undefined
const provinceClients = new Map<string, TtnClient>()

/** A province's webhook receiver: checks the signed call like a real one, records the arrival, answers 200, then acknowledges. */
async function receiver(province: string): Promise<{ server: Server, url: string }> {
  let order = 0
  const server = createServer((request, response) => {
    const at = Date.now()
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => void (async () => {
      const body = Buffer.concat(chunks)
      try {
        await verifyServiceCall({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body },
          { serviceId: SERVICE_ID, systemId: `province-${province}`, keys: serviceKeys! })
      } catch (error) {
        refusals.push(`${province}: ${(error as Error).message}`)
        response.writeHead(401).end()
        return
      }
      const notification = JSON.parse(body.toString('utf8')) as { type: string, content: { id: string } }
      response.writeHead(200).end()
      const seen = key(notification.content.id, province)
      // The same notification can come twice (a retry after a lost answer): the first arrival counts.
      if (arrivals.has(seen)) return void duplicates++
      arrivals.set(seen, { at, order: order++ })
      if (notification.type !== 'content.published') return
      try {
        const { ack } = await provinceClients.get(province)!.ackContent(notification.content.id, { receivedAt: new Date(at).toISOString() })
        acks.set(seen, { storedAt: Date.parse(ack.acknowledgedAt), answeredAt: Date.now() })
      } catch (error) {
        ackFailures.push(`${province} ${notification.content.id}: ${(error as Error).message}`)
      }
    })())
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ttn` }
}

/** The histogram's buckets for one priority, from the metrics listener's text. */
function histogram(text: string, priority: string): { buckets: [le: string, count: number][], count: number, sum: number } {
  const labelsOf = (raw: string) => Object.fromEntries([...raw.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
  const buckets: [string, number][] = []
  let count = 0
  let sum = 0
  for (const [, name, raw, value] of text.matchAll(/^ttn_content_delivery_seconds_(bucket|count|sum)\{([^}]*)\} (\S+)$/gm)) {
    const labels = labelsOf(raw!)
    if (labels.priority !== priority) continue
    if (name === 'bucket') buckets.push([labels.le!, Number(value)])
    else if (name === 'count') count = Number(value)
    else sum = Number(value)
  }
  return { buckets, count, sum: round3(sum) }
}

const work = await mkdtemp(join(tmpdir(), 'ttn-bench-emergency-'))
const database = await createBenchDatabase('ttn_bench_emergency')
const servers: Server[] = []
const stopIngest = new AbortController()
let service: ChildService | undefined

try {
  const urls = new Map<string, string>()
  for (const province of PROVINCES) {
    const { server, url } = await receiver(province)
    servers.push(server)
    urls.set(province, url)
  }
  const { keys, systemsFile } = await provincialSystems(work, { webhookUrl: (province) => urls.get(province)! })
  const centralKey = await centralSystem(systemsFile)

  const setup = openPostgres({ url: database.url, poolMax: 1 })
  await migrateToLatest(setup.db)
  // One connection: the loader's steps share temporary tables.
  await setup.db.connection().execute(async (connection) => loadRegistry(connection as Db, PROVINCES))
  await sql`vacuum analyze`.execute(setup.db)
  await setup.close()
  say(`registry loaded: ${PROVINCES.length} provinces, each system with a webhook on 127.0.0.1`)

  // Production settings but for the receivers' loopback addresses and a metrics port of the run's own.
  service = await startService('src/server.ts', {
    DATABASE_URL: database.url, DATA_DIR: work, SYSTEMS_FILE: systemsFile, OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    METRICS_PORT: String(await freePort()), WEBHOOK_CONCURRENCY, WEBHOOK_POLL_MS,
  })
  serviceKeys = new URL('/.well-known/jwks.json', service.url)
  const central = new TtnClient({ baseUrl: service.url, systemId: 'central-portal', key: centralKey })
  for (const province of PROVINCES) provinceClients.set(province, new TtnClient({ baseUrl: service.url, systemId: `province-${province}`, key: keys.get(province)! }))

  // Status ingest at the national rate for the whole run, each batch sent again after a 429 or 503 as a province's system would.
  const batchOf = statusStream(Date.now() - 3_600_000, 30)
  const ingestRetries: Record<string, number> = {}
  const poster = batchPoster(service.url, keys, batchOf, { retries: 10, onRetry: (status) => { ingestRetries[status] = (ingestRetries[status] ?? 0) + 1 } })
  const ingest: Promise<IngestRun | Error> = driveBatches(poster,
    { concurrency: INGEST_SENDERS, eventsPerSecond: EVENTS_PER_SECOND, signal: stopIngest.signal }).catch((error: unknown) => error as Error)
  await sleep(WARMUP_MS)
  say(`ingest running at ${EVENTS_PER_SECOND} events/s for ${WARMUP_MS / 1000} s; publishing`)

  // prom-client's event-loop delay holds what it saw since the last collection: the first one after start carries the start's schema compilation. Read and drop it.
  if (service.metricsUrl) await (await fetch(service.metricsUrl)).text()
  const loadAtStart = loadavg()
  const cpuAtStart = { service: await cpuSeconds([service.child.pid!]), postgres: await postgresCpuSeconds(), at: performance.now() }
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  // The service's own event-loop delay, the largest in each second (prom-client resets it at each collection).
  const serviceLag: { at: number, ms: number }[] = []
  const metricsUrl = service.metricsUrl
  const lagSampler = setInterval(() => {
    if (metricsUrl) void fetch(metricsUrl).then((r) => r.text()).then((text) => {
      const max = /^ttn_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]
      if (max) serviceLag.push({ at: round3((performance.now() - cpuAtStart.at) / 1000), ms: round3(Number(max) * 1000) })
    }).catch(() => undefined)
  }, 1000)

  const published: Published[] = []
  const publish = async (priority: Published['priority'], n: number) => {
    const sentAt = Date.now()
    const { content } = await central.publishContent({
      title: `${priority === 'emergency' ? 'Cảnh báo khẩn cấp' : priority === 'priority' ? 'Bản tin ưu tiên' : 'Bản tin'} số ${n}`,
      summary: 'Thông tin thiết yếu gửi các tỉnh', body: 'Đề nghị các đài truyền thanh cơ sở phát ngay nội dung sau. '.repeat(8),
      topic: TOPIC, priority, targets: 'all',
    })
    published.push({ n, id: content.id, priority, sentAt, publishedAt: Date.parse(content.publishedAt), answeredAt: Date.now() })
  }
  // The burst and the priority items go one after another, as fast as the service answers; the emergencies on a schedule.
  for (let n = 1; n <= BURST; n++) await publish('normal', n)
  for (let n = 1; n <= PRIORITY; n++) await publish('priority', n)
  const burstPublishedSeconds = round3((Date.now() - published[0]!.sentAt) / 1000)
  const firstEmergencyAt = performance.now()
  for (let n = 1; n <= EMERGENCIES; n++) {
    await sleep(Math.max(0, firstEmergencyAt + (n - 1) * SPACING_MS - performance.now()))
    await publish('emergency', n)
  }
  const emergencies = published.filter((p) => p.priority === 'emergency')
  const lastAt = Date.now()
  const allAcked = () => emergencies.every((e) => PROVINCES.every((p) => acks.has(key(e.id, p))))
  while (!allAcked() && Date.now() - lastAt < ACK_OBJECTIVE_S * 1000) await sleep(100)
  say(`published ${BURST} normal, ${PRIORITY} priority, ${EMERGENCIES} emergency items; every emergency acknowledged: ${allAcked()}`)

  stopIngest.abort()
  const ingestRun = await ingest
  loop.disable()
  clearInterval(lagSampler)
  const loadAtEnd = loadavg()
  const window = (performance.now() - cpuAtStart.at) / 1000
  const cpu = {
    seconds: round3(window),
    serviceCores: round3((await cpuSeconds([service.child.pid!]) - cpuAtStart.service) / window),
    postgresCores: round3((await postgresCpuSeconds() - cpuAtStart.postgres) / window),
  }
  if (ingestRun instanceof Error) throw ingestRun
  say(`ingest: ${ingestRun.batches} batches, ${ingestRun.eventsPerSecond} events/s sustained over ${ingestRun.seconds.toFixed(1)} s (target ${EVENTS_PER_SECOND}), batch p50 ${ingestRun.p50.toFixed(0)} ms, p99 ${ingestRun.p99.toFixed(0)} ms`)

  // The service's own view: seconds from publishedAt to deliveredAt and acknowledgedAt, per province.
  const reaches = new Map<string, Awaited<ReturnType<TtnClient['contentReach']>>>()
  for (const e of emergencies) reaches.set(e.id, await central.contentReach(e.id))
  const metricsText = service.metricsUrl ? await (await fetch(service.metricsUrl)).text() : ''

  // Every (emergency, province) pair.
  const pairs = emergencies.flatMap((e) => PROVINCES.map((province) => {
    const arrival = arrivals.get(key(e.id, province))
    const ack = acks.get(key(e.id, province))
    const byService = reaches.get(e.id)!.latency.byProvince.find((p) => p.province === province)
    return {
      emergency: e.n, province,
      notified: arrival && (arrival.at - e.sentAt) / 1000,
      acknowledged: ack && (ack.answeredAt - e.sentAt) / 1000,
      serviceDelivered: byService?.deliveredSeconds ?? undefined,
      serviceAcknowledged: byService?.acknowledgedSeconds ?? undefined,
    }
  }))
  const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined)
  const total = pairs.length
  const client = { notified: stats(defined(pairs.map((p) => p.notified))), acknowledged: stats(defined(pairs.map((p) => p.acknowledged))) }
  const byService = { delivered: stats(defined(pairs.map((p) => p.serviceDelivered))), acknowledged: stats(defined(pairs.map((p) => p.serviceAcknowledged))) }
  const notifiedWithin = within(pairs.map((p) => p.notified), NOTIFY_OBJECTIVE_S)
  const acknowledgedWithin = within(pairs.map((p) => p.acknowledged), ACK_OBJECTIVE_S)
  const objectiveMet = notifiedWithin === total && acknowledgedWithin === total

  // Emergencies first: at each province, the burst's notifications still undelivered when the first emergency was published, and how many it went ahead of.
  const first = emergencies[0]!
  const normals = published.filter((p) => p.priority === 'normal')
  const priorities = published.filter((p) => p.priority === 'priority')
  let pendingAtFirst = 0
  let overtaken = 0
  let provincesWithBacklog = 0
  for (const province of PROVINCES) {
    const mine = arrivals.get(key(first.id, province))
    const pending = normals.map((item) => arrivals.get(key(item.id, province))).filter((a) => a === undefined || a.at > first.sentAt)
    pendingAtFirst += pending.length
    if (pending.length > 0) provincesWithBacklog++
    if (mine) overtaken += pending.filter((a) => a === undefined || a.order > mine.order).length
  }
  // The provinces that heard of emergency 1 last: whether anything reached them between its publication and its arrival (their lane was
  // being drained) or nothing did (no lane was free for them).
  const latestForFirst = PROVINCES.map((province) => {
    const mine = arrivals.get(key(first.id, province))
    const before = [...arrivals.entries()].filter(([k, a]) => k.endsWith(` ${province}`) && mine && a.at >= first.sentAt && a.order < mine.order).length
    return { province, seconds: mine ? round3((mine.at - first.sentAt) / 1000) : null, deliveredBetween: before }
  }).sort((a, b) => (b.seconds ?? Infinity) - (a.seconds ?? Infinity)).slice(0, 5)
  let priorityAhead = 0
  let priorityPending = 0
  for (const province of PROVINCES) {
    for (const item of priorities) {
      const mine = arrivals.get(key(item.id, province))
      const pending = normals.map((n) => arrivals.get(key(n.id, province))).filter((a) => a === undefined || a.at > item.sentAt)
      priorityPending += pending.length
      if (mine) priorityAhead += pending.filter((a) => a === undefined || a.order > mine.order).length
    }
  }
  const lastNormalArrival = Math.max(...normals.flatMap((item) => PROVINCES.map((p) => arrivals.get(key(item.id, p))?.at ?? 0)))
  const burstDrainSeconds = round3((lastNormalArrival - normals[0]!.sentAt) / 1000)

  const perEmergency = emergencies.map((e) => {
    const mine = pairs.filter((p) => p.emergency === e.n)
    const notified = stats(defined(mine.map((p) => p.notified)))
    const acknowledged = stats(defined(mine.map((p) => p.acknowledged)))
    return { n: e.n, publishMs: e.answeredAt - e.sentAt, notifiedP50: notified.p50, notifiedMax: notified.max, acknowledgedP50: acknowledged.p50, acknowledgedMax: acknowledged.max, provincesNotified: notified.n, provincesAcknowledged: acknowledged.n }
  })

  // One item in detail: the service's reach beside this side's figures for it.
  const shown = first
  const reach = reaches.get(shown.id)!
  const shownPairs = pairs.filter((p) => p.emergency === shown.n)
  const comparison = {
    emergency: shown.n, contentId: shown.id,
    reach: { provincesTargeted: reach.provincesTargeted, provincesDelivered: reach.provincesDelivered, provincesAcknowledged: reach.provincesAcknowledged, delivered: reach.latency.delivered, acknowledged: reach.latency.acknowledged },
    client: { notified: stats(defined(shownPairs.map((p) => p.notified))), acknowledged: stats(defined(shownPairs.map((p) => p.acknowledged))) },
    // Per province, the service's seconds less this side's, for the webhook and for the acknowledgement.
    differenceSeconds: {
      delivered: stats(shownPairs.flatMap((p) => p.serviceDelivered !== undefined && p.notified !== undefined ? [p.serviceDelivered - p.notified] : [])),
      acknowledged: stats(shownPairs.flatMap((p) => p.serviceAcknowledged !== undefined && p.acknowledged !== undefined ? [p.serviceAcknowledged - p.acknowledged] : [])),
    },
  }
  const emergencyHistogram = histogram(metricsText, 'emergency')
  const otherHistograms = { priority: histogram(metricsText, 'priority').count, normal: histogram(metricsText, 'normal').count }
  const bench = { eventLoopDelayP99Ms: round3(loop.percentile(99) / 1e6), eventLoopDelayMaxMs: round3(loop.max / 1e6) }
  const lag = stats(serviceLag.map((l) => l.ms))
  const serviceEventLoop = {
    samples: lag.n, medianOfSecondMaxMs: lag.p50, p95OfSecondMaxMs: lag.p95, maxMs: lag.max, secondsOver1000Ms: serviceLag.filter((l) => l.ms > 1000).length,
    // When the longest stalls were, in seconds from the start of the measured window (the burst's first publication).
    longest: [...serviceLag].sort((a, b) => b.ms - a.ms).slice(0, 3),
  }
  // Problems the service answered over the run (overloaded, caller-busy, ...), by code.
  const deliveries = Object.fromEntries([...metricsText.matchAll(/^ttn_webhook_deliveries_total\{outcome="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]))
  const warnings = service.warnings()
  const problems = Object.fromEntries([...metricsText.matchAll(/^ttn_problems_total\{code="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]))

  const fmt = (s: { p50: number | null, p95: number | null, max: number | null, n: number }, of = total) => `p50 ${s.p50} s, p95 ${s.p95} s, max ${s.max} s (${s.n} of ${of})`
  say(`\nmachine: ${availableParallelism()} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} at the end`)
  say(`settings: WEBHOOK_CONCURRENCY ${WEBHOOK_CONCURRENCY}, WEBHOOK_POLL_MS ${WEBHOOK_POLL_MS}; ${EMERGENCIES} emergencies ${SPACING_MS / 1000} s apart after ${BURST} normal and ${PRIORITY} priority items, all to every province`)
  say(`CPU over the ${cpu.seconds} s measured: service ${cpu.serviceCores} cores, PostgreSQL ${cpu.postgresCores} cores; this process's event-loop delay p99 ${bench.eventLoopDelayP99Ms} ms, max ${bench.eventLoopDelayMaxMs} ms`)
  say(`service event-loop delay, largest of each second: median ${serviceEventLoop.medianOfSecondMaxMs} ms, p95 ${serviceEventLoop.p95OfSecondMaxMs} ms, max ${serviceEventLoop.maxMs} ms (${serviceEventLoop.secondsOver1000Ms} of ${serviceEventLoop.samples} seconds over 1 s); longest ${serviceEventLoop.longest.map((l) => `${l.ms} ms at ${l.at} s`).join(', ')}`)
  say(`  (the window starts with the burst's first publication; emergency 1 at ${round3((first.sentAt - published[0]!.sentAt) / 1000)} s, emergency ${EMERGENCIES} at ${round3((emergencies.at(-1)!.sentAt - published[0]!.sentAt) / 1000)} s)`)
  say(`problems answered: ${JSON.stringify(problems)}; ingest batches sent again: ${JSON.stringify(ingestRetries)}; webhook attempts: ${JSON.stringify(deliveries)}`)
  say(`service warnings: ${warnings.length}${warnings.length ? '\n  ' + warnings.slice(0, 10).join('\n  ') : ''}`)
  say(`\nover ${total} (emergency, province) pairs, from the publish call sent:`)
  say(`  webhook arrival at the receiver: ${fmt(client.notified)}`)
  say(`  acknowledgement answered:       ${fmt(client.acknowledged)}`)
  say(`the service's clock, from publishedAt (reach):`)
  say(`  deliveredAt:                    ${fmt(byService.delivered)}`)
  say(`  acknowledgedAt:                 ${fmt(byService.acknowledged)}`)
  say(`notified within ${NOTIFY_OBJECTIVE_S} s: ${notifiedWithin} of ${total} (${(100 * notifiedWithin / total).toFixed(1)}%); acknowledged within ${ACK_OBJECTIVE_S} s: ${acknowledgedWithin} of ${total} (${(100 * acknowledgedWithin / total).toFixed(1)}%); objective met: ${objectiveMet}`)
  say(`receivers: ${refusals.length} calls refused by verifyServiceCall, ${duplicates} duplicates, ${ackFailures.length} acknowledgements failed`)
  say(`\nemergencies first: the burst of ${BURST} normal and ${PRIORITY} priority items was published in ${burstPublishedSeconds} s; the normal items took ${burstDrainSeconds} s to reach every province; when emergency 1 was published ${pendingAtFirst} of its notifications were undelivered in ${provincesWithBacklog} provinces, and emergency 1 arrived before ${overtaken} of them`)
  say(`  the 5 provinces notified of emergency 1 last (seconds; notifications delivered to them between its publication and its arrival): ${latestForFirst.map((l) => `${l.province} ${l.seconds} s (${l.deliveredBetween})`).join(', ')}`)
  say(`  priority items arrived before ${priorityAhead} of the ${priorityPending} normal notifications undelivered at their publication (counted per priority item)`)
  say(`\nper emergency (seconds from the publish call sent): n, publish call ms, notified p50 / max, acknowledged p50 / max`)
  for (const e of perEmergency) say(`  ${String(e.n).padStart(2)}  ${String(e.publishMs).padStart(4)} ms  ${e.notifiedP50} / ${e.notifiedMax}  ${e.acknowledgedP50} / ${e.acknowledgedMax}${e.provincesNotified < PROVINCES.length ? `  (${e.provincesNotified} notified)` : ''}${e.provincesAcknowledged < PROVINCES.length ? `  (${e.provincesAcknowledged} acknowledged)` : ''}`)
  say(`\nGET /v2/contents/${shown.id}/reach (emergency ${shown.n}): delivered ${JSON.stringify(reach.latency.delivered)}, acknowledged ${JSON.stringify(reach.latency.acknowledged)}`)
  say(`  this side for it: notified ${fmt(comparison.client.notified, PROVINCES.length)}; acknowledged ${fmt(comparison.client.acknowledged, PROVINCES.length)}`)
  say(`  service less this side, per province: delivered ${JSON.stringify(comparison.differenceSeconds.delivered)}, acknowledged ${JSON.stringify(comparison.differenceSeconds.acknowledged)}`)
  say(`ttn_content_delivery_seconds{priority="emergency"}: count ${emergencyHistogram.count}, sum ${emergencyHistogram.sum} s; cumulative buckets ${emergencyHistogram.buckets.map(([le, n]) => `le ${le}: ${n}`).join(', ')}`)
  say(`  (priority: ${otherHistograms.priority} observations, normal: ${otherHistograms.normal})`)

  const defaults = WEBHOOK_CONCURRENCY === '8' && WEBHOOK_POLL_MS === '1000'
  await recordResult(defaults ? 'emergency-latency' : `emergency-latency-concurrency-${WEBHOOK_CONCURRENCY}-poll-${WEBHOOK_POLL_MS}`, {
    command: `${defaults ? '' : `WEBHOOK_CONCURRENCY=${WEBHOOK_CONCURRENCY} WEBHOOK_POLL_MS=${WEBHOOK_POLL_MS} `}npm run bench:emergency`,
    settings: {
      provinces: PROVINCES.length, emergencies: EMERGENCIES, spacingSeconds: SPACING_MS / 1000, burst: BURST, priority: PRIORITY,
      eventsPerSecondTarget: EVENTS_PER_SECOND, ingestSenders: INGEST_SENDERS, webhookConcurrency: Number(WEBHOOK_CONCURRENCY), webhookPollMs: Number(WEBHOOK_POLL_MS),
      database: 'PostgreSQL (local server)',
    },
    load: { cores: availableParallelism(), loadAverageAtStart: loadAtStart.map(round3), loadAverageAtEnd: loadAtEnd.map(round3), cpu, bench, serviceEventLoop },
    problems, webhookAttempts: deliveries, serviceWarnings: warnings.slice(0, 20),
    ingest: { retries: ingestRetries, batches: ingestRun.batches, seconds: round3(ingestRun.seconds), eventsPerSecond: ingestRun.eventsPerSecond, batchP50Ms: Math.round(ingestRun.p50), batchP99Ms: Math.round(ingestRun.p99) },
    pairs: total, client, service: byService,
    objective: { notifySeconds: NOTIFY_OBJECTIVE_S, acknowledgeSeconds: ACK_OBJECTIVE_S, notifiedWithin, acknowledgedWithin, met: objectiveMet },
    receivers: { refused: refusals.length, duplicates, ackFailures: ackFailures.length, firstRefusals: refusals.slice(0, 5), firstAckFailures: ackFailures.slice(0, 5) },
    emergenciesFirst: { latestForFirst, burstPublishedSeconds, burstDrainSeconds, pendingAtFirstEmergency: pendingAtFirst, provincesWithBacklog, overtakenByFirstEmergency: overtaken, priorityAhead, priorityPending },
    perEmergency, reachComparison: comparison, histogram: { emergency: emergencyHistogram, observations: otherHistograms },
  })
} finally {
  stopIngest.abort()
  await service?.stop()
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  await database.drop()
  await rm(work, { recursive: true, force: true })
}
