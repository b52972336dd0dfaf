import fc from 'fast-check'
import { sql } from 'kysely'
import t from 'tap'
import type { DeviceState, StatusEvent } from '../../schemas/status.js'
import { MonthlyPartitions } from '../../src/modules/status/partitions.js'
import { StatusStore } from '../../src/modules/status/store.js'
import { testDatabase } from '../helpers/database.js'

/**
 * What a status report leaves behind, checked against a model written from the rules as the
 * contract states them, one report at a time, and against the stored rows themselves: after
 * random streams of heartbeats, state changes, silences across the stale threshold, Vietnam
 * midnights, repeated batches and late reports, the periods, the current states and every
 * maintained daily count are exactly what the rules give, and the daily counts can be computed
 * again from the periods alone.
 */

const STALE = 600_000
const DAY = 86_400_000
const VN = 7 * 3_600_000
const STATES: DeviceState[] = ['online', 'online', 'online', 'playing', 'fault', 'offline', 'idle']
/** 23:40 in Vietnam, so that streams cross midnight. */
const BASE = Date.UTC(2026, 10, 20, 16, 40)
const KINDS = ['online', 'offline', 'playing', 'idle', 'fault', 'silent'] as const
type Kind = typeof KINDS[number]

interface Tally { ms: Record<Kind, number>, faults: number, lastSeenAt: number | undefined }
interface ModelPeriod { state: DeviceState, start: number, last: number, late: boolean }
interface ModelDevice { periods: ModelPeriod[], open: ModelPeriod | undefined, days: Map<string, Tally> }

const dayOf = (ms: number) => new Date(ms + VN).toISOString().slice(0, 10)
const tally = (device: ModelDevice, day: string) => {
  let found = device.days.get(day)
  if (!found) device.days.set(day, found = { ms: { online: 0, offline: 0, playing: 0, idle: 0, fault: 0, silent: 0 }, faults: 0, lastSeenAt: undefined })
  return found
}
/** Adds time day by day: each Vietnam midnight between `from` and `to` cuts it. */
function spend(days: (day: string) => Tally, kind: Kind, from: number, to: number) {
  let at = from
  while (at < to) {
    const midnight = Math.floor((at + VN) / DAY + 1) * DAY - VN
    const until = Math.min(to, midnight)
    days(dayOf(at)).ms[kind] += until - at
    at = until
  }
}
const seen = (device: ModelDevice, at: number) => {
  const day = tally(device, dayOf(at))
  day.lastSeenAt = Math.max(day.lastSeenAt ?? at, at)
}

/** The rules, one report at a time; answers whether the report added something. */
function apply(device: ModelDevice, state: DeviceState, at: number): boolean {
  const open = device.open
  const begin = () => {
    const period = { state, start: at, last: at, late: false }
    device.periods.push(period)
    device.open = period
    if (state === 'fault') tally(device, dayOf(at)).faults += 1
    seen(device, at)
  }
  if (!open) {
    begin()
    return true
  }
  if (at < open.last || (at === open.last && state !== open.state)) {
    const covering = device.periods.filter((p) => !p.late && p.start <= at).sort((a, b) => b.start - a.start)[0]
    if (covering && covering.state === state && at <= covering.last) return false
    if (device.periods.some((p) => p.start === at && p.state === state)) return false
    device.periods.push({ state, start: at, last: at, late: true })
    if (state === 'fault') tally(device, dayOf(at)).faults += 1
    seen(device, at)
    return true
  }
  if (at === open.last) return false
  if (state === open.state && at - open.last <= STALE && dayOf(at) === dayOf(open.last)) {
    open.last = at
    return true
  }
  const heardUntil = Math.min(at, open.last + STALE)
  spend((day) => tally(device, day), open.state, open.start, heardUntil)
  spend((day) => tally(device, day), 'silent', heardUntil, at)
  seen(device, open.last)
  begin()
  return true
}

const report = fc.record({
  step: fc.constantFrom(1000, 30_000, 60_000, 60_000, 60_000, STALE - 1, STALE, STALE + 1, 3 * 3_600_000),
  state: fc.constantFrom(...STATES),
  /** 0: sent in its turn; more: that many batches late. */
  delay: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 3),
  repeated: fc.constantFrom(false, false, false, false, true),
  twinState: fc.option(fc.constantFrom(...STATES), { freq: 12 }),
})
const stream = fc.record({
  devices: fc.array(fc.array(report, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 3 }),
  batchSize: fc.integer({ min: 1, max: 12 }),
})

t.test('periods, current states and daily counts are exactly what the rules give, and follow from the periods alone', async (t) => {
  const database = await testDatabase(t)
  const { db } = database
  const store = new StatusStore(db)
  await MonthlyPartitions.history(db).ensure(['202611', '202612', '202701'])
  await MonthlyPartitions.days(db).ensure(['202611', '202612', '202701'])
  let run = 0
  const received = new Date(BASE + 400 * DAY)

  await fc.assert(fc.asyncProperty(stream, async ({ devices, batchSize }) => {
    run += 1
    const province = String(run % 100).padStart(2, '0')
    const ids = devices.map((_, d) => `run${run}-dev${d}`)
    // Each device's reports in time order, each sent once or twice, some late, some with a twin at the same instant.
    const sends: { event: StatusEvent, slot: number }[] = []
    devices.forEach((reports, d) => {
      let at = BASE
      reports.forEach((r, i) => {
        at += r.step
        const event = (state: DeviceState): StatusEvent => ({ deviceType: 'cluster', deviceId: ids[d]!, state, observedAt: new Date(at).toISOString() })
        const slot = Math.floor(i / batchSize)
        sends.push({ event: event(r.state), slot: slot + r.delay })
        if (r.repeated) sends.push({ event: event(r.state), slot: slot + 2 })
        if (r.twinState) sends.push({ event: event(r.twinState), slot })
      })
    })
    const slots = [...new Set(sends.map((s) => s.slot))].sort((a, b) => a - b)
    const model = new Map(ids.map((id) => [id, { periods: [], open: undefined, days: new Map() } as ModelDevice]))
    for (const slot of slots) {
      const batch = sends.filter((s) => s.slot === slot).map((s) => s.event)
      let added = 0
      // The contract: a batch's reports of one device are taken in observedAt order (then by state).
      const ordered = [...batch].sort((a, b) => a.deviceId.localeCompare(b.deviceId) || Date.parse(a.observedAt) - Date.parse(b.observedAt) || (a.state < b.state ? -1 : a.state > b.state ? 1 : 0))
      for (const event of ordered) if (apply(model.get(event.deviceId)!, event.state, Date.parse(event.observedAt))) added += 1
      const stored = await db.transaction().execute((trx) => store.write(trx, province, batch.map((e) => ({ ...e })), received, STALE, () => undefined))
      if (stored.accepted !== added || stored.duplicate !== batch.length - added) {
        throw new Error(`batch ${slot}: stored ${JSON.stringify(stored)}, the rules give ${added} added of ${batch.length}`)
      }
    }

    for (const id of ids) {
      const device = model.get(id)!
      const periods = (await sql<{ state: DeviceState, started: Date, last: Date, late: boolean }>`
        select h.state, h.observed_at as started, greatest(h.last_seen_at, d.observed_at) as last, h.late
        from device_status_history h left join device_status d on d.province_code = h.province_code and d.device_type = h.device_type
          and d.device_id = h.device_id and d.run_started_at = h.observed_at and d.state = h.state
        where h.province_code = ${province} and h.device_id = ${id} order by h.observed_at, h.state`.execute(db)).rows
      const expected = [...device.periods].sort((a, b) => a.start - b.start || (a.state < b.state ? -1 : 1))
      t.same(periods.map((p) => [p.state, p.started.getTime(), p.last.getTime(), p.late]), expected.map((p) => [p.state, p.start, p.last, p.late]), `${id}: the periods`)

      const current = (await sql<{ state: DeviceState, observed_at: Date, run_started_at: Date }>`
        select state, observed_at, run_started_at from device_status where province_code = ${province} and device_id = ${id}`.execute(db)).rows[0]
      t.same(current && [current.state, current.observed_at.getTime(), current.run_started_at.getTime()], [device.open!.state, device.open!.last, device.open!.start], `${id}: the current state`)

      const stored = await storedDays(province, id)
      t.same(stored, normalised(device.days), `${id}: the daily counts`)

      // From the stored rows alone: time from the in-order periods, faults and last reports from every period.
      const fromRows = new Map<string, Tally>()
      const dayTally = (day: string) => tally({ periods: [], open: undefined, days: fromRows }, day)
      const inOrder = periods.filter((p) => !p.late)
      inOrder.slice(0, -1).forEach((period, i) => {
        const next = inOrder[i + 1]!.started.getTime()
        const heardUntil = Math.min(next, period.last.getTime() + STALE)
        spend(dayTally, period.state, period.started.getTime(), heardUntil)
        spend(dayTally, 'silent', heardUntil, next)
      })
      for (const period of periods) {
        if (period.state === 'fault') dayTally(dayOf(period.started.getTime())).faults += 1
        const last = period === inOrder.at(-1) ? period.started.getTime() : period.last.getTime()
        for (const at of [period.started.getTime(), last]) {
          const day = dayTally(dayOf(at))
          day.lastSeenAt = Math.max(day.lastSeenAt ?? at, at)
        }
      }
      t.same(stored, normalised(fromRows), `${id}: the daily counts computed again from the periods`)
    }
    const provinceDays = (await sql<{ day: string, ms: string, faults: number }>`
      select day::text as day, (online_ms + offline_ms + playing_ms + idle_ms + fault_ms + silent_ms)::text as ms, faults, last_seen_at
      from province_status_days where province_code = ${province} order by day`.execute(db)).rows
    const deviceDays = (await sql<{ day: string, ms: string, faults: number }>`
      select day::text as day, sum(online_ms + offline_ms + playing_ms + idle_ms + fault_ms + silent_ms)::text as ms, sum(faults)::int as faults,
        max(last_seen_at) as last_seen_at
      from device_status_days where province_code = ${province} group by day order by day`.execute(db)).rows
    t.same(provinceDays, deviceDays, 'the province\'s days are the sum of its devices\' days')
    await sql`delete from province_status_days where province_code = ${province}`.execute(db)
    return true
  }), { numRuns: 25 })

  async function storedDays(province: string, id: string) {
    const rows = (await sql<Record<`${Kind}_ms`, string> & { day: string, faults: number, last_seen_at: Date | null }>`
      select day::text as day, online_ms, offline_ms, playing_ms, idle_ms, fault_ms, silent_ms, faults, last_seen_at
      from device_status_days where province_code = ${province} and device_id = ${id}`.execute(db)).rows
    return normalised(new Map(rows.map((row) => [row.day, {
      ms: Object.fromEntries(KINDS.map((kind) => [kind, Number(row[`${kind}_ms`])])) as Record<Kind, number>,
      faults: row.faults, lastSeenAt: row.last_seen_at?.getTime(),
    }])))
  }
})

/** Days that hold anything, by date, for comparison. */
function normalised(days: Map<string, Tally>) {
  return Object.fromEntries([...days].filter(([, d]) => d.faults > 0 || d.lastSeenAt !== undefined || KINDS.some((k) => d.ms[k] > 0))
    .sort(([a], [b]) => a.localeCompare(b)).map(([day, d]) => [day, { ...d.ms, faults: d.faults, lastSeenAt: d.lastSeenAt ?? null }]))
}
