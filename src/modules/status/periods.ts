import type { DeviceState, StatusEvent } from '../../../schemas/status.js'

/**
 * What a status report leaves behind. A device's history is a sequence of periods: within one,
 * the device kept reporting the same state, on the same day (Vietnam time), with no silence
 * longer than the stale threshold. A report that continues the open period moves only the
 * device's last-seen time; any other report (in observedAt order) closes the period and opens
 * the next. A report older than the device's newest is late: it adds nothing when the period
 * that covers its instant has its state, and is otherwise kept as a period of one instant.
 *
 * The time of a closed period is added to its device's days: its state from its first report
 * until the next report, or until the stale threshold after its last when silence followed;
 * then `silent` until the next report. The open period's time is added when read.
 */

export type AccountedState = DeviceState | 'silent'
export const ACCOUNTED_STATES = ['online', 'offline', 'playing', 'idle', 'fault', 'silent'] as const satisfies readonly AccountedState[]
/** States in which a device is up (hoạt động): on air, or ready to be. */
export const UP_STATES: readonly AccountedState[] = ['online', 'playing', 'idle']

const DAY_MS = 86_400_000
const VIETNAM_OFFSET_MS = 7 * 3_600_000

/** The day in Vietnam (UTC+7, no daylight saving) of an instant, as days since 1970-01-01. */
export const vietnamDay = (ms: number): number => Math.floor((ms + VIETNAM_OFFSET_MS) / DAY_MS)
/** The first instant of a Vietnam day. */
export const vietnamDayStart = (day: number): number => day * DAY_MS - VIETNAM_OFFSET_MS
/** A Vietnam day as `YYYY-MM-DD`. */
export const dayDate = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10)
export const dateDay = (date: string): number => Date.parse(`${date}T00:00:00Z`) / DAY_MS
/** The month of a Vietnam day as `YYYYMM`: the partition its counts are in. */
export const monthOfDay = (day: number): string => dayDate(day).slice(0, 7).replace('-', '')

/** The open period of a device, as its current-state row holds it. */
export interface OpenPeriod {
  state: DeviceState
  /** Its first report. */
  startedAt: number
  /** The device's newest report. */
  lastSeenAt: number
}

export interface Period { event: StatusEvent, startedAt: number, lastSeenAt: number }

/** Time, faults and last report of one device on one day. */
export interface DayTally {
  ms: Record<AccountedState, number>
  faults: number
  lastSeenAt: number | undefined
}

export const emptyTally = (): DayTally => ({ ms: { online: 0, offline: 0, playing: 0, idle: 0, fault: 0, silent: 0 }, faults: 0, lastSeenAt: undefined })

/** Adds `state` over [from, to) to the days it falls on. */
export function addTime(days: Map<number, DayTally>, state: AccountedState, from: number, to: number): void {
  for (let start = from; start < to;) {
    const day = vietnamDay(start)
    const end = Math.min(to, vietnamDayStart(day + 1))
    tallyOf(days, day).ms[state] += end - start
    start = end
  }
}

/** Adds one tally to another: times, faults, the later last report. */
export function addTally(into: DayTally, from: DayTally): void {
  for (const state of ACCOUNTED_STATES) into.ms[state] += from.ms[state]
  into.faults += from.faults
  if (from.lastSeenAt !== undefined) into.lastSeenAt = Math.max(into.lastSeenAt ?? from.lastSeenAt, from.lastSeenAt)
}

export function tallyOf(days: Map<number, DayTally>, day: number): DayTally {
  let tally = days.get(day)
  if (!tally) days.set(day, tally = emptyTally())
  return tally
}

/** Notes a report on its day: the day's last report, and one fault more if it entered `fault`. */
export function addReport(days: Map<number, DayTally>, at: number, state?: DeviceState): void {
  const tally = tallyOf(days, vietnamDay(at))
  if (state === 'fault') tally.faults += 1
  tally.lastSeenAt = Math.max(tally.lastSeenAt ?? at, at)
}

/** The time of a period that ends at the report `next` (or is read at `next`), with the silence after it. */
export function addPeriodTime(days: Map<number, DayTally>, period: { state: DeviceState, startedAt: number, lastSeenAt: number }, next: number, staleAfterMs: number): void {
  const heardUntil = Math.min(next, period.lastSeenAt + staleAfterMs)
  addTime(days, period.state, period.startedAt, heardUntil)
  addTime(days, 'silent', heardUntil, next)
}

export interface DeviceOutcome {
  /** The open period before the batch, closed by it: its last report. */
  closedLastSeenAt: number | undefined
  /** Periods the batch opened, oldest first; the last is the open one. */
  opened: Period[]
  /** The device's open period after the batch and its newest report, when the batch moved it. */
  open: (OpenPeriod & { event: StatusEvent }) | undefined
  /** Reports older than the device's newest, to be looked up against the stored periods. */
  late: StatusEvent[]
  days: Map<number, DayTally>
  accepted: number
  duplicate: number
}

/** Walks one device's reports of a batch, in observedAt order, from its open period. */
export function walkDevice(before: OpenPeriod | undefined, events: StatusEvent[], staleAfterMs: number): DeviceOutcome {
  const outcome: DeviceOutcome = { closedLastSeenAt: undefined, opened: [], open: undefined, late: [], days: new Map(), accepted: 0, duplicate: 0 }
  const sorted = events.map((event) => ({ event, at: Date.parse(event.observedAt) }))
    .sort((a, b) => a.at - b.at || (a.event.state < b.event.state ? -1 : a.event.state > b.event.state ? 1 : 0))
  let open: (OpenPeriod & { event?: StatusEvent }) | undefined = before && { ...before }
  const begin = (event: StatusEvent, at: number) => {
    const period = { event, startedAt: at, lastSeenAt: at }
    outcome.opened.push(period)
    open = { state: event.state, startedAt: at, lastSeenAt: at, event }
    addReport(outcome.days, at, event.state)
    outcome.accepted += 1
  }
  for (const { event, at } of sorted) {
    if (!open) {
      begin(event, at)
      continue
    }
    if (at < open.lastSeenAt || (at === open.lastSeenAt && event.state !== open.state)) {
      outcome.late.push(event)
      continue
    }
    if (at === open.lastSeenAt) {
      outcome.duplicate += 1
      continue
    }
    if (event.state === open.state && at - open.lastSeenAt <= staleAfterMs && vietnamDay(at) === vietnamDay(open.lastSeenAt)) {
      open.lastSeenAt = at
      open.event = event
      const current = outcome.opened.at(-1)
      if (current) current.lastSeenAt = at
      outcome.accepted += 1
      continue
    }
    addPeriodTime(outcome.days, open, at, staleAfterMs)
    addReport(outcome.days, open.lastSeenAt)
    if (outcome.opened.length === 0) outcome.closedLastSeenAt = open.lastSeenAt
    begin(event, at)
  }
  if (open?.event) outcome.open = { state: open.state, startedAt: open.startedAt, lastSeenAt: open.lastSeenAt, event: open.event }
  return outcome
}

/** The period that covers a late report's instant: the newest one, not itself late, that began at or before it. */
export interface CoveringPeriod { state: DeviceState, lastSeenAt: number }

/** Whether a late report adds nothing: the period covering its instant already says the device was in its state then. */
export function lateAddsNothing(event: StatusEvent, covering: CoveringPeriod | undefined): boolean {
  return covering !== undefined && covering.state === event.state && Date.parse(event.observedAt) <= covering.lastSeenAt
}
