/**
 * The day the demo plays, callable on any running service: central publishes an emergency
 * bulletin, then each demo province pushes its registry, a day of device status and
 * broadcasts, its report for the current period, reads and acknowledges the bulletin and
 * plays it. The systems must be registered already; `client` gives each one's typed client.
 */
import type { Static } from 'typebox'
import type { BroadcastLogEntry } from '../../schemas/content.js'
import type { ClusterInput, StationInput } from '../../schemas/registry.js'
import type { StatusEvent } from '../../schemas/status.js'
import type { TtnClient } from '../client/client.js'

const HOUR = 3_600_000

export interface DemoProvince { code: string, name: string, commune: string, stations: number, clustersPerStation: number }

export const DEMO_PROVINCES: DemoProvince[] = [
  { code: '79', name: 'TP. Hồ Chí Minh', commune: '26740', stations: 6, clustersPerStation: 5 },
  { code: '01', name: 'Hà Nội', commune: '00004', stations: 5, clustersPerStation: 4 },
  { code: '48', name: 'Đà Nẵng', commune: '20194', stations: 4, clustersPerStation: 3 },
]

const FEED_PATIENCE_MS = 10_000

/**
 * Reads a province's feed until the item shows up, as a real reader polls: a feed serves an item
 * once the transactions older than it have ended, on the whole database server.
 */
async function untilInFeed(province: TtnClient, contentId: string) {
  for (const deadline = Date.now() + FEED_PATIENCE_MS; ;) {
    for await (const note of province.feed()) if (note.content.id === contentId) return note
    if (Date.now() > deadline) return undefined
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

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

export interface DemoDayOptions {
  /** The typed client of a registered system, by system id. */
  client: (systemId: string) => TtnClient
  /** The central system that publishes the bulletin. */
  centralId: string
  say: (line: string) => void
}

/** Plays the demo's day; answers with the bulletin's content id. */
export async function playDemoDay({ client, centralId, say }: DemoDayOptions): Promise<string> {
  const central = client(centralId)
  say('central publishes an emergency bulletin to every province')
  const bulletin = await central.publishContent({
    title: 'Cảnh báo bão số 5', summary: 'Bão số 5 gây mưa lớn và gió mạnh từ đêm nay', topic: 'disasters-fire-epidemics', priority: 'emergency', targets: 'all',
    body: 'Đề nghị nhân dân chằng chống nhà cửa, không ra biển, theo dõi bản tin của đài truyền thanh xã.',
  })
  const bulletinId = bulletin.content.id

  const now = Date.now()
  for (const p of DEMO_PROVINCES) {
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
      const note = await untilInFeed(province, bulletinId)
      say(note ? `  province-${p.code} read "${note.content.title}" from its feed` : `  province-${p.code} did not find the bulletin in its feed within ${FEED_PATIENCE_MS / 1000} s`)
    }
    await province.ackContent(bulletinId, { receivedAt: new Date().toISOString(), stations: stations.length })
    const playedAt = Date.now()
    await province.sendBroadcastLogs(p.code, stations.filter((s) => s.kind === 'ip').map((s) => ({
      stationId: s.id, contentId: bulletinId, startedAt: new Date(playedAt - 60_000).toISOString(), endedAt: new Date(playedAt).toISOString(), source: 'central' as const, clustersReached: p.clustersPerStation,
    })))
  }

  return bulletinId
}
