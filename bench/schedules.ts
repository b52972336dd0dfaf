/**
 * What broadcast schedules cost, on PostgreSQL: a province of BENCH_STATIONS stations (300) with
 * BENCH_SLOTS slots a day (15), every slot played, over BENCH_DAYS days (30), after two months of
 * another province's logs so the planner knows the tables. Measured: pushing a day of every
 * station, the log batches of a scheduled day (the database then refreshes the cross-check of the
 * station-days they touch) beside the same batches of a province without schedules and with the
 * schedules' trigger disabled, cross-checks of 1, 7 and 31 days, a day pushed again after its
 * logs, and the summary's read.
 *
 *   npm run bench:schedules        (BENCH_DATABASE_URL, BENCH_STATIONS, BENCH_SLOTS, BENCH_DAYS)
 */
import { sql } from 'kysely'
import { openPostgres } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { runPart } from '../src/db/parts.js'
import { ScheduleStore } from '../src/modules/schedules/store.js'
import { SummariesStore } from '../src/modules/summaries/store.js'
import { dayDate, vietnamDay } from '../src/modules/status/periods.js'
import { createBenchDatabase, recordResult } from './support.js'

const STATIONS = Number(process.env.BENCH_STATIONS ?? 300)
const SLOTS = Number(process.env.BENCH_SLOTS ?? 15)
const DAYS = Number(process.env.BENCH_DAYS ?? 30)
const bench = await createBenchDatabase('ttn_bench_schedules')
const database = openPostgres({ url: bench.url, statementTimeoutMs: 600_000 })
const db = database.db
await migrateToLatest(db)
const today = vietnamDay(Date.now())
const dayStart = (d: number) => d * 86_400_000 - 7 * 3_600_000
const p50 = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10
const results: Record<string, number> = {}
const time = async (label: string, f: () => Promise<unknown>) => {
  const t0 = performance.now()
  await f()
  results[label] = Math.round((performance.now() - t0) * 10) / 10
  console.log(`${label}: ${results[label]} ms`)
}
const record = (label: string, ms: number) => { results[label] = ms; console.log(`${label}: p50 ${ms} ms`) }

for (const [province, commune] of [['79', '26740'], ['01', '00004']]) {
  await sql`insert into stations (province_code, id, commune_code, commune_verified, name, kind, status, operator, content_hash, has_integration_device)
    select ${province}, 'st-' || i, ${commune}, false, 'x', 'ip', 'operating', '{}'::jsonb, 'h', false from generate_series(1, ${STATIONS}) i`.execute(db)
}
const store = new ScheduleStore(db)
// Slots every hour from 05:00, 20 minutes each; each played from a minute late for 19 minutes.
const plan = (d: number, version: number, title: string) => Array.from({ length: STATIONS }, (_, s) => ({
  stationId: `st-${s + 1}`, date: dayDate(d), hash: title, version,
  slots: Array.from({ length: SLOTS }, (_, k) => {
    const start = dayStart(d) + (5 + k) * 3_600_000
    return { index: k, start, end: start + 1_200_000, durationSeconds: 1200, contentId: null, localProgramme: title, source: 'local' as const }
  }),
}))
const plays = (province: string, d: number) => Array.from({ length: STATIONS }, (_, s) => s + 1).flatMap((s) => Array.from({ length: SLOTS }, (_, k) => {
  const start = dayStart(d) + (5 + k) * 3_600_000 + 60_000
  return {
    province_code: province, station_id: `st-${s}`, started_at: new Date(start), ended_at: new Date(start + 1_140_000),
    content_id: null, local_ref: 'x', clusters_reached: null, source: 'commune' as const,
  }
}))
const batches = async (province: string, days: number[]) => {
  const took: number[] = []
  for (const d of days) {
    const rows = plays(province, d)
    for (let i = 0; i < rows.length; i += 5000) {
      const t0 = performance.now()
      await db.insertInto('broadcast_logs').values(rows.slice(i, i + 5000)).execute()
      took.push(performance.now() - t0)
    }
  }
  return took
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

// A history first, as a running service has, so the planner knows the tables.
await batches('01', range(today - 60, today - DAYS - 1))
await time(`push ${DAYS} days of ${STATIONS} stations x ${SLOTS} slots, a day per transaction, before their logs`, async () => {
  for (const d of range(today - DAYS, today)) await db.transaction().execute((trx) => store.replace(trx, '79', plan(d, 1, 'p'), new Date()))
})
await sql`analyze`.execute(db)
record(`log batch of ${STATIONS * SLOTS} plays onto scheduled days`, p50(await batches('79', range(today - DAYS, today))))
record('the same onto days of a province without schedules', p50(await batches('01', range(today - DAYS, today))))
await sql`alter table broadcast_logs disable trigger broadcast_logs_scheduled_insert`.execute(db)
await sql`delete from broadcast_logs where province_code = '01' and started_at >= ${new Date(dayStart(today - DAYS))}`.execute(db)
record('the same without the schedules\' trigger', p50(await batches('01', range(today - DAYS, today))))
await sql`alter table broadcast_logs enable trigger broadcast_logs_scheduled_insert`.execute(db)
await sql`analyze`.execute(db)
for (const days of [1, 7, 31]) {
  await time(`cross-check of ${days} days, first page`, () => store.crossCheck({ province: '79', from: today - days, to: today - 1, checkedAt: new Date(), limit: 100, after: undefined }))
}
await time(`a day of every station pushed again, changed, after its logs`, () => db.transaction().execute((trx) => store.replace(trx, '79', plan(today - 3, 2, 'q'), new Date())))
await time('the summary\'s schedules, nationally', () => runPart(db, new SummariesStore(db).schedules(new Date())))
// Every slot played, every play planned: the figures kept say so.
const figures = (await sql<{ slots: number, aired: number, logs: number, matched_logs: number }>`
  select sum(slots)::int as slots, sum(aired)::int as aired, sum(logs)::int as logs, sum(matched_logs)::int as matched_logs
  from broadcast_schedule_daily where province_code = '79'`.execute(db)).rows[0]!
if (new Set([figures.slots, figures.aired, figures.logs, figures.matched_logs, DAYS * STATIONS * SLOTS]).size !== 1) throw new Error(`figures off: ${JSON.stringify(figures)}`)
await database.close()
await bench.drop()
await recordResult('schedules', { stations: STATIONS, slotsPerDay: SLOTS, days: DAYS, milliseconds: results })
