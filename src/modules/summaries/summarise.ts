import type { Static } from 'typebox'
import type { Figures, NationalSummary, ProvinceFigures } from '../../../schemas/summaries.js'
import type { LatestState, Period, ReportsStore } from '../reports/store.js'
import { currentAndRecent, upHours, type RecentAvailability } from '../availability/figures.js'
import type { AvailabilityStore, ReportedDevices } from '../availability/store.js'
import { formStates } from '../reports/status.js'
import { emptyTally } from '../status/periods.js'
import { ipShare, type SummariesStore } from './store.js'
import { none, runParts } from '../../db/parts.js'

const emptyFigures = (): Figures => ({
  stations: { total: 0, wired: 0, fm: 0, wiredFm: 0, ip: 0, operating: 0, degraded: 0, outOfService: 0, decommissioned: 0, ipShare: 0 },
  clusters: { total: 0, ip: 0, fm: 0, wired: 0 },
  boards: { total: 0 },
  devices: { registered: 0, online: 0, offline: 0, stale: 0, neverReported: 0 },
  availability: { upHoursLast7Days: 0, accountedHoursLast7Days: 0, upShareLast7Days: 0, upHoursLast30Days: 0, accountedHoursLast30Days: 0, upShareLast30Days: 0, faultsLast30Days: 0 },
  broadcast: { hoursLast7Days: 0, hoursLast30Days: 0 },
  schedules: { slots: 0, aired: 0, plannedNotAired: 0, airedNotPlanned: 0 },
  programmes: { newStations: 0, replacementClusters: 0, clustersReplaced: 0, extensionClusters: 0, villagesNewlyCovered: 0 },
  feedback: { received: 0, answered: 0, answeredShare: 0 },
  content: { items: 0, delivered: 0, acknowledged: 0, played: 0 },
  exercises: { items: 0, delivered: 0, acknowledged: 0, played: 0, playsLast30Days: 0, hoursLast7Days: 0, hoursLast30Days: 0 },
})

/** Adds `from` into `into`, section by section; shares are recomputed from the sums, not added. */
function addFigures(into: Figures, from: Figures): void {
  for (const section of Object.keys(into) as (keyof Figures)[]) {
    const target = into[section] as Record<string, number>
    for (const [key, value] of Object.entries(from[section])) target[key] = (target[key] ?? 0) + value
  }
  into.stations.ipShare = ipShare(into.stations)
  into.feedback.answeredShare = share(into.feedback)
  for (const airtime of [into.broadcast, into.exercises]) {
    airtime.hoursLast7Days = round(airtime.hoursLast7Days)
    airtime.hoursLast30Days = round(airtime.hoursLast30Days)
  }
  const a = into.availability
  a.upHoursLast7Days = round(a.upHoursLast7Days)
  a.accountedHoursLast7Days = round(a.accountedHoursLast7Days)
  a.upHoursLast30Days = round(a.upHoursLast30Days)
  a.accountedHoursLast30Days = round(a.accountedHoursLast30Days)
  a.upShareLast7Days = ratio(a.upHoursLast7Days, a.accountedHoursLast7Days)
  a.upShareLast30Days = ratio(a.upHoursLast30Days, a.accountedHoursLast30Days)
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : Math.round(part / whole * 10_000) / 10_000)

/** A province's availability section from its recent figures. */
function availabilityFigures(recent: RecentAvailability | undefined): Figures['availability'] {
  const week = upHours(recent?.last7 ?? emptyTally())
  const month = upHours(recent?.last30 ?? emptyTally())
  return {
    upHoursLast7Days: week.up, accountedHoursLast7Days: week.accounted, upShareLast7Days: ratio(week.up, week.accounted),
    upHoursLast30Days: month.up, accountedHoursLast30Days: month.accounted, upShareLast30Days: ratio(month.up, month.accounted),
    faultsLast30Days: recent?.last30.faults ?? 0,
  }
}

/** Every device in place either reported (and is online, offline or stale now) or never did. */
function deviceFigures(stations: Figures['stations'], clusters: Figures['clusters'], boards: Figures['boards'], reported?: ReportedDevices): Figures['devices'] {
  const registered = stations.total + clusters.total + boards.total
  const { online = 0, offline = 0, stale = 0, reported: seen = 0 } = reported ?? {}
  return { registered, online, offline, stale, neverReported: registered - seen }
}

const round = (hours: number) => Math.round(hours * 100) / 100
const share = ({ received, answered }: { received: number, answered: number }) => ratio(answered, received)

/** A province's feedback figures from its latest feedback report of the period. */
function feedbackFigures(latest: LatestState | undefined): Figures['feedback'] {
  const { received, answered } = latest?.feedback ?? { received: 0, answered: 0 }
  return { received, answered, answeredShare: share({ received, answered }) }
}

export interface SummaryOptions {
  /** One province, or every active province when omitted. */
  province?: string
  period: Period | undefined
  staleAfterSeconds: number
  now: Date
}

/** Every province's figures from one statement (a part per section), and their national total. */
export async function summarise(store: SummariesStore, reports: ReportsStore, availability: AvailabilityStore, options: SummaryOptions): Promise<Static<typeof NationalSummary>> {
  const { province: only, period, now, staleAfterSeconds } = options
  const { provinces, registry: { stations, clusters, boards }, devices: { reported, recent }, broadcast, schedules, content, latency, programmes, latest } = await runParts(store.db, {
    provinces: store.provinces(only),
    registry: store.registry(only),
    devices: currentAndRecent(availability, now.getTime(), staleAfterSeconds * 1000, only),
    broadcast: store.broadcast(now, only),
    schedules: store.schedules(now, only),
    content: store.content(now, only),
    latency: store.latency(now, only),
    programmes: store.programmes(only),
    latest: period ? reports.latestStates(period.id, only) : none<LatestState>(),
  })
  const states = period ? formStates(latest, period, provinces.map((p) => p.code)) : []
  const total = emptyFigures()
  const figures: ProvinceFigures[] = provinces.map(({ code, name }) => {
    const empty = emptyFigures()
    const own: Figures = {
      stations: stations.get(code) ?? empty.stations,
      clusters: clusters.get(code) ?? empty.clusters,
      boards: boards.get(code) ?? empty.boards,
      devices: deviceFigures(stations.get(code) ?? empty.stations, clusters.get(code) ?? empty.clusters, boards.get(code) ?? empty.boards, reported.get(code)),
      availability: availabilityFigures(recent.get(code)),
      broadcast: broadcast.get(code)?.broadcast ?? empty.broadcast,
      schedules: schedules.get(code) ?? empty.schedules,
      programmes: programmes.get(code) ?? empty.programmes,
      feedback: feedbackFigures(latest.find((s) => s.province === code && s.form === 'feedback')),
      content: content.get(code)?.content ?? empty.content,
      exercises: { ...empty.exercises, ...content.get(code)?.exercises, ...broadcast.get(code)?.exercises },
    }
    addFigures(total, own)
    const forms = states.find((s) => s.province === code)?.forms ?? []
    return { province: code, name, ...own, deliveryLatency: latency.get(code) ?? [], reports: Object.fromEntries(forms.map((f) => [f.form, f.status])) }
  })
  return { generatedAt: now.toISOString(), staleAfterSeconds, period: period ?? null, total, deliveryLatency: latency.get('nation') ?? [], provinces: figures }
}
