import { createHash } from 'node:crypto'
import type { Problem } from '../../../schemas/common.js'
import {
  MAX_CROSS_CHECK_DAYS, MAX_SCHEDULE_ERRORS, SCHEDULE_DAYS_AHEAD, SCHEDULE_DAYS_BACK, type ScheduleOutcome, type StationDaySchedule,
} from '../../../schemas/schedules.js'
import type { Static } from 'typebox'
import type { Db } from '../../db/database.js'
import { inSlices } from '../../http/concurrency.js'
import { HttpProblem } from '../../http/problem.js'
import { lockProvinceBroadcasts } from '../broadcasts/store.js'
import type { ContentStore } from '../content/store.js'
import { dateDay, dayDate, vietnamDay, vietnamDayStart } from '../status/periods.js'
import type { ScheduleStore } from './store.js'

type FieldErrors = NonNullable<Problem['errors']>
type Outcome = Static<typeof ScheduleOutcome>

export interface PlannedSlot {
  /** Where the slot is in the request, to name it. */
  index: number
  start: number
  end: number
  durationSeconds: number
  contentId: string | null
  localProgramme: string | null
  source: StationDaySchedule['slots'][number]['source']
}

/** A station-day as pushed: its slots in order of start, and a digest that is the same for the same slots however they were written. */
export interface DayPlan {
  stationId: string
  date: string
  slots: PlannedSlot[]
  hash: string
}

export function planOf(schedule: StationDaySchedule): DayPlan {
  const slots = schedule.slots.map((slot, index): PlannedSlot => {
    const start = Date.parse(slot.startsAt)
    return {
      index, start, end: start + slot.durationSeconds * 1000, durationSeconds: slot.durationSeconds,
      contentId: slot.contentId ?? null, localProgramme: slot.localProgramme ?? null, source: slot.source,
    }
  }).sort((a, b) => a.start - b.start || a.index - b.index)
  const canonical = JSON.stringify(slots.map((s) => [s.start, s.durationSeconds, s.contentId, s.localProgramme, s.source]))
  return { stationId: schedule.stationId, date: schedule.date, slots, hash: createHash('sha256').update(canonical).digest('base64url') }
}

/** The days a schedule may be pushed for: a late plan (after an outage) is taken for a week, and plans are made a month ahead at most. */
export function pushWindow(now: Date): { first: string, last: string } {
  const today = vietnamDay(now.getTime())
  return { first: dayDate(today - SCHEDULE_DAYS_BACK), last: dayDate(today + SCHEDULE_DAYS_AHEAD) }
}

const clock = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(11, 19)

/** What the province's registry and content hold for a batch's references. */
export interface References {
  stations: Set<string>
  contents: { known: Set<string>, visible: Set<string> }
}

/**
 * Every reason a batch cannot be applied, each named by JSON pointer: a day outside the window,
 * a station-day twice, a station the province does not have, a slot without content, with an
 * item the province was not sent, outside its day, or overlapping an earlier slot of the day.
 */
export async function planProblems(plans: DayPlan[], province: string, references: References, now: Date): Promise<FieldErrors> {
  const errors: FieldErrors = []
  const fail = (pointer: string, message: string) => errors.push({ in: 'body', pointer, message })
  const window = pushWindow(now)
  const seen = new Set<string>()
  await inSlices(plans, (plan, i) => {
    const at = `/schedules/${i}`
    const key = `${plan.stationId}/${plan.date}`
    if (seen.has(key)) fail(at, `station ${plan.stationId} on ${plan.date} appears more than once in the batch`)
    seen.add(key)
    if (plan.date < window.first || plan.date > window.last) {
      fail(`${at}/date`, `schedules are taken for ${window.first} to ${window.last} (Vietnam time), not ${plan.date}`)
      return
    }
    if (!references.stations.has(plan.stationId)) fail(`${at}/stationId`, `province ${province} has no station ${plan.stationId}`)
    const dayStart = vietnamDayStart(dateDay(plan.date))
    const dayEnd = dayStart + 86_400_000
    let latest: PlannedSlot | undefined
    for (const slot of plan.slots) {
      const where = `${at}/slots/${slot.index}`
      if (!slot.contentId && !slot.localProgramme) fail(where, 'name what is played by contentId or localProgramme')
      if (slot.contentId && !references.contents.known.has(slot.contentId)) fail(`${where}/contentId`, `no content item ${slot.contentId}`)
      else if (slot.contentId && !references.contents.visible.has(slot.contentId)) {
        fail(`${where}/contentId`, `content item ${slot.contentId} was not sent to province ${province}, nor shared by it`)
      }
      if (slot.start < dayStart || slot.end > dayEnd) {
        fail(where, `the slot ${clock(slot.start)}–${clock(slot.end)} is not within ${plan.date} (Vietnam time): a programme across midnight is a slot in each day`)
        continue
      }
      if (latest && slot.start < latest.end) {
        fail(where, `the slot ${clock(slot.start)}–${clock(slot.end)} overlaps ${at}/slots/${latest.index} (${clock(latest.start)}–${clock(latest.end)})`)
      }
      if (!latest || slot.end > latest.end) latest = slot
    }
  })
  return errors
}

function refusal(errors: FieldErrors): HttpProblem {
  const summary = errors.slice(0, 3).map((e) => `${e.pointer}: ${e.message}`).join('; ')
  const more = errors.length > 3 ? `; and ${errors.length - 3} more` : ''
  const listed = errors.length > MAX_SCHEDULE_ERRORS ? ` (the first ${MAX_SCHEDULE_ERRORS} are listed)` : ''
  return new HttpProblem('rule-violated', `nothing was written: ${summary}${more}${listed}`, { errors: errors.slice(0, MAX_SCHEDULE_ERRORS) })
}

/** The Vietnam days of a cross-check, checked before any query uses them. */
export function crossCheckDays(from: string, to: string): { from: number, to: number } {
  const first = dateDay(from)
  const last = dateDay(to)
  if (last < first) throw new HttpProblem('rule-violated', `to (${to}) comes before from (${from})`)
  if (last - first + 1 > MAX_CROSS_CHECK_DAYS) {
    throw new HttpProblem('rule-violated', `a cross-check covers at most ${MAX_CROSS_CHECK_DAYS} days, not ${last - first + 1}`)
  }
  return { from: first, to: last }
}

/**
 * Pushes of schedules: a batch is applied whole or not at all; each station-day's slots replace
 * the stored ones, under a new version when they differ and untouched when they do not.
 */
export class ScheduleService {
  constructor(private readonly store: ScheduleStore, private readonly contents: ContentStore) {}

  async push(trx: Db, province: string, schedules: StationDaySchedule[], now: Date): Promise<Outcome[]> {
    // Before reading the versions: a concurrent push of the province, or a log batch, waits for this one to commit.
    await lockProvinceBroadcasts(trx, province)
    const plans = schedules.map(planOf)
    const contentIds = [...new Set(plans.flatMap((p) => p.slots.flatMap((s) => (s.contentId ? [s.contentId] : []))))]
    const [stations, contents, stored] = await Promise.all([
      this.store.stations(trx, province, [...new Set(plans.map((p) => p.stationId))]),
      this.contents.visibility(contentIds, province, trx),
      this.store.versions(trx, province, plans),
    ])
    const errors = await planProblems(plans, province, { stations, contents }, now)
    if (errors.length > 0) throw refusal(errors)

    const changed: (DayPlan & { version: number })[] = []
    const outcomes = plans.map((plan): Outcome => {
      const current = stored.get(`${plan.stationId}/${plan.date}`)
      const outcome = { stationId: plan.stationId, date: plan.date, slots: plan.slots.length }
      if (current?.hash === plan.hash) return { ...outcome, version: current.version, result: 'unchanged' }
      const version = (current?.version ?? 0) + 1
      changed.push({ ...plan, version })
      return { ...outcome, version, result: current ? 'updated' : 'created' }
    })
    await this.store.replace(trx, province, changed, now)
    return outcomes
  }
}
