import { MAX_WINDOW_DAYS, type AvailabilityFigures } from '../../../schemas/availability.js'
import { HttpProblem, notFound } from '../../http/problem.js'
import {
  ACCOUNTED_STATES, UP_STATES, addPeriodTime, addTally, dateDay, dayDate, emptyTally, vietnamDay, vietnamDayStart, type DayTally,
} from '../status/periods.js'
import { compareKeys, part, runParts, together, type Part } from '../../db/parts.js'
import type { AvailabilityStore, OpenPeriodRow, ReportedDevices, SummedDays } from './store.js'

export interface Window {
  from: string
  to: string
  /** The first instant of `from` and the first after `to`, Vietnam time. */
  start: number
  end: number
}

export interface WindowQuery { from?: string | undefined, to?: string | undefined, month?: string | undefined, periodId?: string | undefined }

/** A report period's window: its year from 1 January to its `asOf`, or to 31 December. */
export interface PeriodBounds { year: number, asOf: string | null }

export const windowOf = (from: string, to: string): Window => ({ from, to, start: vietnamDayStart(dateDay(from)), end: vietnamDayStart(dateDay(to) + 1) })

/** The window a query names, given one way only; by default the current month (Vietnam time). */
export async function resolveWindow(query: WindowQuery, now: number, period: (id: string) => Promise<PeriodBounds | undefined>): Promise<Window> {
  const ways = [query.from !== undefined || query.to !== undefined, query.month !== undefined, query.periodId !== undefined].filter(Boolean).length
  if (ways > 1) throw new HttpProblem('bad-request', 'name the window one way: `from` and `to`, or `month`, or `periodId`')
  if (query.periodId !== undefined) {
    const bounds = await period(query.periodId)
    if (!bounds) throw notFound(`report period ${query.periodId}`)
    return windowOf(`${bounds.year}-01-01`, bounds.asOf ?? `${bounds.year}-12-31`)
  }
  if (query.from !== undefined || query.to !== undefined) {
    if (query.from === undefined || query.to === undefined) throw new HttpProblem('bad-request', '`from` and `to` go together')
    const days = dateDay(query.to) - dateDay(query.from) + 1
    if (!(days >= 1)) throw new HttpProblem('bad-request', `\`to\` (${query.to}) is before \`from\` (${query.from})`)
    if (days > MAX_WINDOW_DAYS) throw new HttpProblem('bad-request', `the window is ${days} days; at most ${MAX_WINDOW_DAYS}`)
    return windowOf(query.from, query.to)
  }
  const month = query.month ?? dayDate(vietnamDay(now)).slice(0, 7)
  const [year, monthNumber] = month.split('-').map(Number) as [number, number]
  return windowOf(`${month}-01`, new Date(Date.UTC(year, monthNumber, 0)).toISOString().slice(0, 10))
}

/** Adds what a device's open period holds within the window, up to now: its state until silence, then silence. */
export function addOpenPeriod(total: SummedDays, open: OpenPeriodRow, window: Window, now: number, staleAfterMs: number): void {
  const end = Math.min(window.end, now)
  const heardUntil = Math.min(now, open.lastSeenAt + staleAfterMs)
  const overlap = (from: number, to: number) => Math.max(0, Math.min(to, end) - Math.max(from, window.start))
  total.ms[open.state] += overlap(open.startedAt, heardUntil)
  total.ms.silent += overlap(heardUntil, now)
  if (open.lastSeenAt >= window.start && open.lastSeenAt < end) total.lastSeenAt = Math.max(total.lastSeenAt ?? open.lastSeenAt, open.lastSeenAt)
}

export function figuresOf(sums: SummedDays): AvailabilityFigures {
  const accounted = ACCOUNTED_STATES.reduce((n, state) => n + sums.ms[state], 0)
  const up = UP_STATES.reduce((n, state) => n + sums.ms[state], 0)
  return {
    onlineMs: sums.ms.online, playingMs: sums.ms.playing, idleMs: sums.ms.idle, offlineMs: sums.ms.offline, faultMs: sums.ms.fault,
    silentMs: sums.ms.silent, accountedMs: accounted, upShare: accounted === 0 ? null : Number((up / accounted).toFixed(6)),
    faults: sums.faults, lastSeenAt: sums.lastSeenAt === undefined ? null : new Date(sums.lastSeenAt).toISOString(),
  }
}

export interface AvailabilityItemSums { communeCode?: string | undefined, deviceType?: 'station' | 'cluster' | 'board', deviceId?: string, sums: SummedDays }

/**
 * One province's figures over a window: its daily counts summed, each device's open period
 * added up to now; per commune or per device when asked, items by code.
 */
export async function provinceAvailability(store: AvailabilityStore, province: string, by: 'province' | 'commune' | 'device', window: Window, now: number,
  staleAfterMs: number): Promise<{ total: SummedDays, items: AvailabilityItemSums[] }> {
  const total = emptyTally()
  if (by === 'province') {
    const { days: [days], open: [open] } = await runParts(store.db, { days: store.provinceDays([window], province), open: store.openSums([window], now, staleAfterMs, province) })
    addTally(total, days!.get(province) ?? emptyTally())
    addTally(total, open!.get(province) ?? emptyTally())
    return { total, items: [] }
  }
  const [open, devices, communes] = await Promise.all([store.openPeriods(province), store.deviceDays(province, window.from, window.to), store.communes(province)])
  for (const period of open) {
    const key = `${period.deviceType}/${period.deviceId}`
    let device = devices.get(key)
    if (!device) devices.set(key, device = { deviceType: period.deviceType, deviceId: period.deviceId, ...emptyTally() })
    addOpenPeriod(device, period, window, now, staleAfterMs)
  }
  for (const device of devices.values()) addTally(total, device)
  if (by === 'device') {
    const items = [...devices.entries()].map(([key, device]) => ({ deviceType: device.deviceType, deviceId: device.deviceId, communeCode: communes.get(key), sums: device }))
    return { total, items: items.sort((a, b) => compareKeys(a.deviceType, b.deviceType) || compareKeys(a.deviceId, b.deviceId)) }
  }
  const byCommune = new Map<string, SummedDays>()
  for (const [key, device] of devices) {
    const commune = communes.get(key)
    if (!commune) continue
    let sums = byCommune.get(commune)
    if (!sums) byCommune.set(commune, sums = emptyTally())
    addTally(sums, device)
  }
  return { total, items: [...byCommune].sort(([a], [b]) => compareKeys(a, b)).map(([communeCode, sums]) => ({ communeCode, sums })) }
}

/** Every province's figures over a window, by code, and the nation's. */
export async function nationalAvailability(store: AvailabilityStore, window: Window, now: number, staleAfterMs: number): Promise<{ total: SummedDays, provinces: [string, SummedDays][] }> {
  const { days: [days], open: [open] } = await runParts(store.db, { days: store.provinceDays([window]), open: store.openSums([window], now, staleAfterMs) })
  const provinces = days!
  for (const [province, held] of open!) {
    let sums = provinces.get(province)
    if (!sums) provinces.set(province, sums = emptyTally())
    addTally(sums, held)
  }
  const total = emptyTally()
  for (const sums of provinces.values()) addTally(total, sums)
  return { total, provinces: [...provinces].sort(([a], [b]) => compareKeys(a, b)) }
}


/** Each day's figures of a province (or of the nation) from `from` to `to`: closed periods' days, and the open periods split by day up to now. */
export async function dailyAvailability(store: AvailabilityStore, window: Window, now: number, staleAfterMs: number, only?: string): Promise<Map<string, SummedDays>> {
  const days = await store.daysSummed(window.from, window.to, only)
  const first = dateDay(window.from)
  const last = dateDay(window.to)
  for (const open of await store.openPeriods(only)) {
    const split = new Map<number, DayTally>()
    addPeriodTime(split, open, now, staleAfterMs)
    for (const [day, tally] of split) {
      if (day < first || day > last) continue
      let sums = days.get(dayDate(day))
      if (!sums) days.set(dayDate(day), sums = emptyTally())
      addTally(sums, tally)
    }
  }
  return days
}

export interface RecentAvailability { last7: SummedDays, last30: SummedDays }

/**
 * Every province's (or one's) devices now, by freshness at `now` (a whole second), and their
 * figures over the last 7 and the last 30 days, today included, without the newest report: one part.
 */
export function currentAndRecent(store: AvailabilityStore, now: number, staleAfterMs: number, only?: string): Part<{ reported: Map<string, ReportedDevices>, recent: Map<string, RecentAvailability> }> {
  const today = vietnamDay(now)
  const week = windowOf(dayDate(today - 6), dayDate(today))
  const month = windowOf(dayDate(today - 29), dayDate(today))
  const parts = together({ days: store.provinceDays([week, month], only), current: store.current([week, month], now, staleAfterMs, only) })
  return part(parts.query, (rows) => {
    const { days: [weekDays, monthDays], current: { openTime: [weekOpen, monthOpen], reported } } = parts.read(rows)
    const recent = new Map<string, RecentAvailability>()
    const of = (province: string) => {
      let found = recent.get(province)
      if (!found) recent.set(province, found = { last7: emptyTally(), last30: emptyTally() })
      return found
    }
    for (const [province, sums] of weekDays!) addTally(of(province).last7, sums)
    for (const [province, sums] of monthDays!) addTally(of(province).last30, sums)
    for (const [province, sums] of weekOpen!) addTally(of(province).last7, sums)
    for (const [province, sums] of monthOpen!) addTally(of(province).last30, sums)
    return { reported, recent }
  })
}

/** Hours up and accounted, and faults, of a tally: the summary's form, whose shares are recomputed from sums. */
export function upHours(sums: SummedDays): { up: number, accounted: number } {
  const hoursOf = (ms: number) => Math.round(ms / 36_000) / 100
  return {
    up: hoursOf(UP_STATES.reduce((n, state) => n + sums.ms[state], 0)),
    accounted: hoursOf(ACCOUNTED_STATES.reduce((n, state) => n + sums.ms[state], 0)),
  }
}
