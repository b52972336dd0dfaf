/**
 * `npm run demo`: the service on a fresh embedded database, three provinces pushing a day of
 * registry, device status, broadcast logs and a report, central publishing an emergency
 * bulletin that one province receives by signed webhook and the others from their feed; then
 * the national summary. Every call goes through the typed client, signed, as a province's
 * system would make it. The service keeps running for a look at /docs until Ctrl+C
 * (`--exit` stops it at the end).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Static } from 'typebox'
import type { BroadcastLogEntry } from '../../schemas/content.js'
import type { ClusterInput, StationInput } from '../../schemas/registry.js'
import type { StatusEvent } from '../../schemas/status.js'
import { buildApp } from '../app.js'
import { ephemeralServiceKeys } from '../auth/service-keys.js'
import { summaryTable } from '../cli/summary-table.js'
import { TtnClient } from '../client/client.js'
import { generateKey, importSigningKey } from '../client/keys.js'
import { verifyServiceCall } from '../client/service-call.js'
import { loadConfig } from '../config.js'
import { openEmbedded } from '../db/database.js'
import { usableImage } from '../db/embedded-image.js'
import { migrateToLatest } from '../db/migrator.js'
import { SystemsStore } from '../modules/systems/store.js'

const say = (line: string) => process.stdout.write(line + '\n')
const HOUR = 3_600_000

interface DemoProvince { code: string, name: string, commune: string, stations: number, clustersPerStation: number }

const PROVINCES: DemoProvince[] = [
  { code: '79', name: 'TP. Hồ Chí Minh', commune: '26740', stations: 6, clustersPerStation: 5 },
  { code: '01', name: 'Hà Nội', commune: '00004', stations: 5, clustersPerStation: 4 },
  { code: '48', name: 'Đà Nẵng', commune: '20194', stations: 4, clustersPerStation: 3 },
]

/** A province's registry: stations of every kind, clusters in villages, two bulletin boards. */
function registryOf(p: DemoProvince) {
  const kinds = ['ip', 'ip', 'wired_fm', 'fm', 'wired'] as const
  const stations: StationInput[] = Array.from({ length: p.stations }, (_, i) => ({
    id: `dai-${p.code}-${i + 1}`, communeCode: p.commune, name: `Đài truyền thanh xã số ${i + 1}`,
    kind: kinds[i % kinds.length]!, status: i === p.stations - 1 ? 'degraded' : 'operating', establishedOn: '2024-03-01',
    hasIntegrationDevice: i % 2 === 0, programme: 'new_station', fundingSource: i % 2 ? 'local_budget' : 'new_rural_development',
  }))
  const clusters: ClusterInput[] = stations.flatMap((s) => Array.from({ length: p.clustersPerStation }, (_, j) => ({
    id: `${s.id}-loa-${j + 1}`, stationId: s.id, village: `Thôn ${j + 1}`, kind: s.kind === 'ip' ? 'ip' as const : 'fm' as const,
    status: 'operating' as const, installedOn: '2024-04-01', vendor: 'Công ty Thiết bị Truyền thanh', model: 'IP-30W',
  })))
  const boards = [1, 2].map((n) => ({ id: `bang-tin-${p.code}-${n}`, communeCode: p.commune, placement: n === 1 ? 'outdoor' as const : 'indoor' as const, status: 'operating' as const }))
  return { stations, clusters, boards }
}

/** Every 30 minutes for 24 hours, each device reports; a few fall silent two hours ago or end the day offline. */
function dayOfStatus(devices: { deviceType: 'station' | 'cluster' | 'board', deviceId: string }[], now: number): StatusEvent[] {
  const events: StatusEvent[] = []
  devices.forEach((device, d) => {
    const silentFrom = d % 11 === 5 ? now - 2 * HOUR : now
    for (let at = now - 24 * HOUR; at <= silentFrom; at += HOUR / 2) {
      const last = at + HOUR / 2 > silentFrom
      const state = last && d % 13 === 7 ? 'offline' : last && d % 17 === 3 ? 'fault' : new Date(at).getUTCHours() % 6 === 0 ? 'playing' : 'online'
      events.push({ ...device, state, observedAt: new Date(at).toISOString(), ...(state === 'fault' ? { faultCode: 'AMP-OVERHEAT', faultMessage: 'Bộ khuếch đại quá nhiệt' } : {}) })
    }
  })
  return events
}

/** Morning, noon and evening bulletins of the last day on every station, 30 minutes each. */
function dayOfBroadcasts(stations: StationInput[], now: number): Static<typeof BroadcastLogEntry>[] {
  const today = Math.floor((now + 7 * HOUR) / (24 * HOUR)) * 24 * HOUR - 7 * HOUR
  return stations.flatMap((s) => [6, 11, 17].map((hour) => {
    const start = today + hour * HOUR > now - 30 * 60_000 ? today + (hour - 24) * HOUR : today + hour * HOUR
    return { stationId: s.id, localRef: `ban-tin-${hour}h`, startedAt: new Date(start).toISOString(), endedAt: new Date(start + 30 * 60_000).toISOString(), source: 'province' as const }
  }))
}

async function main() {
  const keepRunning = !process.argv.includes('--exit')
  const dataDir = await mkdtemp(join(tmpdir(), 'ttn-demo-'))
  const keysDir = join(dataDir, 'keys')
  const config = loadConfig({ ...process.env, DATABASE_URL: undefined, DATA_DIR: dataDir, PORT: process.env.PORT ?? '8080', LOG_LEVEL: 'warn', WEBHOOK_POLL_MS: '200',
    // The demo's province receives its webhook on this machine: the one host it may call over plain http.
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' })

  say('ttn-interop demo: the service on an embedded database in ' + dataDir)
  const database = await openEmbedded({ dataDir: join(dataDir, 'db'), freshImage: () => usableImage() })
  await migrateToLatest(database.db)
  const serviceKeys = await ephemeralServiceKeys()

  // The systems: central's portal and three provinces, each with its own key pair.
  const systems = new SystemsStore(database.db)
  const keyOf = new Map<string, Awaited<ReturnType<typeof importSigningKey>>>()
  const register = async (id: string, role: 'central' | 'province', name: string, provinceCode?: string, webhookUrl?: string) => {
    const { privateJwk, publicJwk } = await generateKey()
    await mkdir(join(keysDir, id), { recursive: true })
    await writeFile(join(keysDir, id, 'private.jwk.json'), JSON.stringify(privateJwk, null, 2), { mode: 0o600 })
    keyOf.set(id, await importSigningKey(privateJwk))
    await systems.register({ id, role, name, jwks: { keys: [publicJwk as never] }, ...(provinceCode ? { provinceCode } : {}), ...(webhookUrl ? { webhookUrl } : {}) }, database.db)
  }

  // Province 79 receives notifications by webhook and verifies each with verifyServiceCall().
  const received: string[] = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      verifyServiceCall({ method: req.method!, url: req.url!, headers: req.headers, body },
        { serviceId: config.SERVICE_ID, systemId: 'province-79', keys: serviceKeys.jwks as never })
        .then(() => {
          const note = JSON.parse(body.toString('utf8')) as { type: string, content: { title: string, priority: string } }
          received.push(note.content.title)
          say(`  province-79's receiver: verified ${note.type} "${note.content.title}" (${note.content.priority})`)
          res.writeHead(204).end()
        })
        .catch((error: Error) => res.writeHead(401).end(error.message))
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ttn/notifications`

  await register('central-portal', 'central', 'Cổng thông tin nguồn trung ương')
  for (const p of PROVINCES) await register(`province-${p.code}`, 'province', `HTTTN ${p.name}`, p.code, p.code === '79' ? webhook : undefined)

  const app = await buildApp({ config, database, serviceKeys })
  const url = await app.listen({ port: config.PORT, host: config.HOST }).catch(() => app.listen({ port: 0, host: config.HOST }))
  say(`service listening on ${url}; contract at ${url}/openapi.json, docs at ${url}/docs\n`)
  const client = (id: string) => new TtnClient({ baseUrl: url, systemId: id, key: keyOf.get(id)! })
  const central = client('central-portal')

  say('central publishes an emergency bulletin to every province')
  const bulletin = await central.publishContent({
    title: 'Cảnh báo bão số 5', summary: 'Bão số 5 gây mưa lớn và gió mạnh từ đêm nay', topic: 'disasters-fire-epidemics', priority: 'emergency', targets: 'all',
    body: 'Đề nghị nhân dân chằng chống nhà cửa, không ra biển, theo dõi bản tin của đài truyền thanh xã.',
  })
  const bulletinId = bulletin.content.id

  const now = Date.now()
  for (const p of PROVINCES) {
    const province = client(`province-${p.code}`)
    const { stations, clusters, boards } = registryOf(p)
    await province.pushRegistry(p.code, { stations, clusters, boards })
    const devices = [
      ...stations.map((s) => ({ deviceType: 'station' as const, deviceId: s.id })),
      ...clusters.map((c) => ({ deviceType: 'cluster' as const, deviceId: c.id })),
      ...boards.map((b) => ({ deviceType: 'board' as const, deviceId: b.id })),
    ]
    const status = await province.status.send(p.code, dayOfStatus(devices, now))
    const logs = await province.sendBroadcastLogs(p.code, dayOfBroadcasts(stations, now))
    const indicators = {
      stations: { wired: stations.filter((s) => s.kind === 'wired').length, fm: stations.filter((s) => s.kind === 'fm').length, wiredFm: stations.filter((s) => s.kind === 'wired_fm').length, ip: stations.filter((s) => s.kind === 'ip').length },
      clusters: { ip: clusters.filter((c) => c.kind === 'ip').length, fm: clusters.filter((c) => c.kind === 'fm').length, wired: 0 },
      investment: { newStations: 1, clustersReplaced: 2, clustersAddedToVillages: 3 },
      // Đà Nẵng reports one board more than its registry holds, so its report comes back with a warning.
      bulletinBoards: boards.length + (p.code === '48' ? 1 : 0),
      informationWorkers: { total: 40, trained: 25 },
      bulletins: { produced: 120, aired: 150, airtimeHours: 75 },
      fundingMillionVnd: { newRuralDevelopment: 850, sustainablePovertyReduction: 0, localBudget: 320, other: 0 },
    }
    const period = (await province.reportPeriods()).items.find((item) => Date.parse(item.deadline) > now && item.forms.includes('indicators'))
    const report = period ? await province.submitReport(p.code, period.id, 'indicators', indicators) : undefined
    say(`province-${p.code} (${p.name}): ${stations.length} stations, ${clusters.length} clusters, ${boards.length} boards; ` +
      `${status.accepted} status events; ${logs.accepted} broadcast logs` +
      (report ? `; report ${period!.id} version ${report.submission.version}, ${report.submission.onTime ? 'on time' : 'late'}` : ''))
    for (const warning of report?.submission.warnings ?? []) say(`  cross-check warning ${warning.pointer}: ${warning.message}`)
    // Phụ lục 02 of the year, as the registry fills it: the province would correct it and submit it.
    const appendix = await province.appendixDraft(p.code, `${new Date(now).getUTCFullYear()}-RADIO`, 'appendix-02')
    const totals = appendix.derived as { communes: number, stations: number, clusters: { ip: number, fm: number, wired: number }, communesWithoutStation: number }
    say(`  Phụ lục 02 drafted from the registry: ${appendix.form.lines.length} lines for ${totals.communes} communes (${totals.communesWithoutStation} without a station), ` +
      `${totals.stations} stations, ${totals.clusters.ip} IT–telecom, ${totals.clusters.fm} FM and ${totals.clusters.wired} wired clusters`)

    // Provinces without a webhook read the bulletin from their feed; each acknowledges it and plays it on its IP stations.
    if (p.code !== '79') {
      for await (const note of province.feed()) if (note.content.id === bulletinId) say(`  province-${p.code} read "${note.content.title}" from its feed`)
    }
    await province.ackContent(bulletinId, { receivedAt: new Date().toISOString(), stations: stations.length })
    const playedAt = Date.now()
    await province.sendBroadcastLogs(p.code, stations.filter((s) => s.kind === 'ip').map((s) => ({
      stationId: s.id, contentId: bulletinId, startedAt: new Date(playedAt - 60_000).toISOString(), endedAt: new Date(playedAt).toISOString(), source: 'central' as const, clustersReached: p.clustersPerStation,
    })))
  }

  for (let waited = 0; received.length === 0 && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
  const reach = await central.contentReach(bulletinId)
  say(`\nreach of the bulletin: ${reach.provincesDelivered} of ${reach.provincesTargeted} provinces by webhook, ${reach.provincesAcknowledged} acknowledged, played on ${reach.stationsPlayed} stations`)

  say('\nthe national summary, as central reads it:\n')
  process.stdout.write(summaryTable(await central.nationalSummary()))
  say(`\nlook in ${url}/docs: "summaries" (GET /v2/summaries/national, also as CSV with ?format=csv), "content", "status", "registry".`)
  say(`every /v2 call needs a signed call token; the demo's keys are in ${keysDir}, for example:`)
  say(`  npm run --silent ttn -- summary --url ${url} --system-id central-portal --key ${join(keysDir, 'central-portal', 'private.jwk.json')} --csv`)

  const stop = async () => {
    await app.close()
    receiver.close()
    await database.close()
    await rm(dataDir, { recursive: true, force: true })
  }
  if (!keepRunning) return stop()
  say('\nthe service keeps running; Ctrl+C stops it and removes the demo data.')
  const onSignal = () => void stop().then(() => process.exit(0))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
