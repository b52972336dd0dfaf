import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { parse } from 'csv-parse/sync'
import t, { type Test } from 'tap'
import { dayDate, vietnamDay } from '../../src/modules/status/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

const station = (id: string) => ({ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating' })

/** A Vietnam day relative to today, and an instant of it in Vietnam time. */
const day = (offset: number) => dayDate(vietnamDay(Date.now()) + offset)
const at = (date: string, time: string) => `${date}T${time}+07:00`
const utc = (date: string, time: string) => new Date(at(date, time)).toISOString()

interface Counts { slots: number, aired: number, plannedNotAired: number, upcoming: number, logs: number, matchedLogs: number, airedNotPlanned: number, unscheduled: number }
const counts = (values: Partial<Counts>): Counts =>
  ({ slots: 0, aired: 0, plannedNotAired: 0, upcoming: 0, logs: 0, matchedLogs: 0, airedNotPlanned: 0, unscheduled: 0, ...values })

async function setup(t: Test) {
  const built = await buildTestApp(t, { env: { SUMMARY_CACHE_SECONDS: '0' } })
  const { app, database } = built
  const central = await registerSystem(database, 'central-portal')
  const hcm = await registerSystem(database, 'province-79')
  const hanoi = await registerSystem(database, 'province-01')
  const stations = ['s1', 's2', 's3', ...Array.from({ length: 60 }, (_, i) => `p${i}`)].map(station)
  await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: stations } })
  await signedInject(app, hanoi, { method: 'PUT', url: '/v2/provinces/01/stations', body: { items: [{ ...station('h1'), communeCode: '00004' }] } })
  const publish = async (targets: string[]) => (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ targets }) })).json().content.id as string
  const contentA = await publish(['79'])
  const contentB = await publish(['79', '01'])
  const hanoiOnly = await publish(['01'])
  const push = (schedules: unknown[], system: TestSystem = hcm, code = '79') =>
    signedInject(app, system, { method: 'PUT', url: `/v2/provinces/${code}/broadcast-schedules`, body: { schedules } })
  const logs = async (entries: unknown[]) => {
    const response = await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries } })
    const result = response.json()
    if (result.rejected > 0) throw new Error(`logs refused: ${JSON.stringify(result.rejections)}`)
    return result
  }
  const get = (url: string, system: TestSystem = hcm) => signedInject(app, system, { method: 'GET', url })
  const crossCheck = async (from: string, to: string, query = '', system: TestSystem = hcm) => {
    const response = await get(`/v2/provinces/79/broadcast-schedules/cross-check?from=${from}&to=${to}${query}`, system)
    if (response.statusCode !== 200) throw new Error(`cross-check: ${response.body}`)
    return response.json()
  }
  return { ...built, central, hcm, hanoi, contentA, contentB, hanoiOnly, push, logs, get, crossCheck }
}

const count = async (context: Awaited<ReturnType<typeof setup>>, table: 'broadcast_schedules' | 'broadcast_schedule_slots') =>
  Number((await context.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)

t.test('a day\'s schedule is created, replaced as a whole under a new version, and an unchanged push writes nothing', async (t) => {
  const context = await setup(t)
  const { push, get, central, hanoi, contentA } = context
  const date = day(1)
  const slots = [
    { startsAt: at(date, '18:00:00'), durationSeconds: 1800, localProgramme: 'Thời sự VOV1', source: 'relay-national' },
    { startsAt: at(date, '06:00:00'), durationSeconds: 600, contentId: contentA, source: 'local' },
    { startsAt: at(date, '06:10:00'), durationSeconds: 900, contentId: contentA, localProgramme: 'Bản tin sáng', source: 'local' },
  ]
  const first = await push([{ stationId: 's1', date, slots }, { stationId: 's2', date, slots: [] }])
  t.equal(first.statusCode, 200)
  t.match(first.json(), {
    created: 2, updated: 0, unchanged: 0, receipt: { id: String, jws: String },
    items: [{ stationId: 's1', date, version: 1, slots: 3, result: 'created' }, { stationId: 's2', date, version: 1, slots: 0, result: 'created' }],
  })

  const listed = (await get(`/v2/provinces/79/broadcast-schedules?date=${date}&station=s1`)).json()
  t.equal(listed.nextCursor, null)
  t.same(listed.items.map((s: { stationId: string, version: number }) => [s.stationId, s.version]), [['s1', 1]])
  t.same(listed.items[0].slots, [
    { startsAt: utc(date, '06:00:00'), durationSeconds: 600, contentId: contentA, source: 'local', endsAt: utc(date, '06:10:00') },
    { startsAt: utc(date, '06:10:00'), durationSeconds: 900, contentId: contentA, localProgramme: 'Bản tin sáng', source: 'local', endsAt: utc(date, '06:25:00') },
    { startsAt: utc(date, '18:00:00'), durationSeconds: 1800, localProgramme: 'Thời sự VOV1', source: 'relay-national', endsAt: utc(date, '18:30:00') },
  ], 'slots in order of start, with their end')
  const storedAt = listed.items[0].updatedAt

  // The same slots in another order and notation are the same schedule.
  const again = await push([{ stationId: 's1', date, slots: [...slots].reverse().map((s) => ({ ...s, startsAt: new Date(s.startsAt).toISOString() })) }])
  t.match(again.json(), { created: 0, updated: 0, unchanged: 1, items: [{ version: 1, result: 'unchanged' }] })
  t.equal((await get(`/v2/provinces/79/broadcast-schedules?date=${date}&station=s1`)).json().items[0].updatedAt, storedAt, 'nothing was written')

  const replaced = await push([{ stationId: 's1', date, slots: [{ startsAt: at(date, '05:30:00'), durationSeconds: 3600, localProgramme: 'Tiếp sóng Đài tỉnh', source: 'relay-provincial' }] }])
  t.match(replaced.json(), { updated: 1, items: [{ version: 2, slots: 1, result: 'updated' }] })
  const current = (await get(`/v2/provinces/79/broadcast-schedules?date=${date}&station=s1`, central)).json()
  t.same(current.items[0].slots.map((s: { startsAt: string }) => s.startsAt), [utc(date, '05:30:00')], 'the new version replaces every slot; central reads it')
  t.equal(current.items[0].version, 2)
  t.equal(await count(context, 'broadcast_schedule_slots'), 1)

  const earlier = day(-1)
  await push([{ stationId: 's3', date: earlier, slots: [] }])
  const pages: string[][] = []
  let url = '/v2/provinces/79/broadcast-schedules?limit=2'
  for (;;) {
    const page = (await get(url)).json()
    pages.push(page.items.map((s: { stationId: string, date: string }) => `${s.date} ${s.stationId}`))
    if (!page.nextCursor) break
    url = `/v2/provinces/79/broadcast-schedules?limit=2&cursor=${page.nextCursor}`
  }
  t.same(pages, [[`${date} s1`, `${date} s2`], [`${earlier} s3`]], 'latest day first, then by station, a page at a time')

  t.equal((await get('/v2/provinces/79/broadcast-schedules', hanoi)).statusCode, 403, 'another province reads nothing')
  t.equal((await push([{ stationId: 's1', date, slots: [] }], hanoi)).statusCode, 403, 'nor writes')
  t.equal((await push([{ stationId: 's1', date, slots: [] }], central)).statusCode, 403, 'central does not write schedules')
  t.equal((await get('/v2/provinces/79/broadcast-schedules?cursor=WyIxOTk5LTAxLTAxIiwieCJd')).statusCode, 400, 'a forged cursor is refused')
})

t.test('pushes of one station-day through two instances at once each get a version of their own', async (t) => {
  const context = await setup(t)
  const other = await buildTestApp(t, { database: context.database })
  const date = day(2)
  const slotsAt = (hour: number, minute: number) => [{ startsAt: at(date, `0${hour}:${minute}0:00`), durationSeconds: 600, localProgramme: 'Bản tin', source: 'local' }]
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all([6, 7, 8, 9].map((hour, i) => signedInject(i % 2 ? other.app : context.app, context.hcm, {
      method: 'PUT', url: '/v2/provinces/79/broadcast-schedules', body: { schedules: [{ stationId: 's1', date, slots: slotsAt(hour, round) }] },
    })))
    const versions = answers.map((a) => a.json().items[0].version).sort((a, b) => a - b)
    t.same(versions, [1, 2, 3, 4].map((v) => v + round * 4), `round ${round}: one version each`)
  }
})

t.test('a batch with a bad station-day is refused whole, naming every problem', async (t) => {
  const context = await setup(t)
  const { push, contentA, hanoiOnly } = context
  const date = day(0)
  const valid = { stationId: 's2', date, slots: [{ startsAt: at(date, '06:00:00'), durationSeconds: 600, localProgramme: 'Bản tin', source: 'local' }] }
  const refused = await push([
    valid,
    {
      stationId: 's1', date, slots: [
        { startsAt: at(date, '06:00:00'), durationSeconds: 1800, contentId: contentA, source: 'local' },
        { startsAt: at(date, '06:15:00'), durationSeconds: 1800, localProgramme: 'Thời sự', source: 'relay-national' },
        { startsAt: at(date, '07:00:00'), durationSeconds: 60, contentId: hanoiOnly, source: 'local' },
        { startsAt: at(date, '08:00:00'), durationSeconds: 60, contentId: randomUUID(), source: 'local' },
        { startsAt: at(date, '09:00:00'), durationSeconds: 60, source: 'local' },
        { startsAt: at(date, '23:30:00'), durationSeconds: 3600, localProgramme: 'Ca nhạc', source: 'local' },
      ],
    },
    { stationId: 'nope', date, slots: [] },
    { stationId: 's3', date: day(40), slots: [] },
    valid,
  ])
  t.equal(refused.statusCode, 422)
  const problem = refused.json()
  t.equal(problem.code, 'rule-violated')
  t.match(problem.detail, /^nothing was written/)
  t.same(problem.errors.map((e: { pointer: string }) => e.pointer), [
    '/schedules/1/slots/1', '/schedules/1/slots/2/contentId', '/schedules/1/slots/3/contentId', '/schedules/1/slots/4', '/schedules/1/slots/5',
    '/schedules/2/stationId', '/schedules/3/date', '/schedules/4',
  ])
  const message = (pointer: string) => problem.errors.find((e: { pointer: string }) => e.pointer === pointer).message
  t.match(message('/schedules/1/slots/1'), 'the slot 06:15:00–06:45:00 overlaps /schedules/1/slots/0 (06:00:00–06:30:00)')
  t.match(message('/schedules/1/slots/2/contentId'), `content item ${hanoiOnly} was not sent to province 79`)
  t.match(message('/schedules/1/slots/3/contentId'), 'no content item')
  t.match(message('/schedules/1/slots/4'), 'contentId or localProgramme')
  t.match(message('/schedules/1/slots/5'), 'not within')
  t.match(message('/schedules/2/stationId'), 'province 79 has no station nope')
  t.match(message('/schedules/4'), 'appears more than once')
  t.equal(await count(context, 'broadcast_schedules'), 0, 'not even the valid station-day was written')
  t.equal(await count(context, 'broadcast_schedule_slots'), 0)

  // A programme across midnight is a slot in each day's schedule.
  const split = await push([
    { stationId: 's1', date, slots: [{ startsAt: at(date, '23:30:00'), durationSeconds: 1800, localProgramme: 'Ca nhạc', source: 'local' }] },
    { stationId: 's1', date: day(1), slots: [{ startsAt: at(day(1), '00:00:00'), durationSeconds: 1800, localProgramme: 'Ca nhạc', source: 'local' }] },
  ])
  t.match(split.json(), { created: 2 }, 'a slot may end exactly at midnight')

  const tooMany = await push([{ stationId: 's1', date, slots: Array.from({ length: 201 }, (_, i) => ({ startsAt: at(date, '00:00:00'), durationSeconds: 1 + i, localProgramme: 'x', source: 'local' })) }])
  t.equal(tooMany.statusCode, 400)
  t.equal((await push(Array.from({ length: 501 }, () => valid))).statusCode, 400)
  t.equal((await push([{ ...valid, slots: [{ ...valid.slots[0], volume: 3 }] }])).statusCode, 400, 'an unknown field is refused')
  t.equal((await push([{ ...valid, slots: [{ ...valid.slots[0], durationSeconds: 86_401 }] }])).statusCode, 400)
  t.equal((await push([{ ...valid, date: '9999-12-31' }])).statusCode, 400, 'a day of another century is refused by the contract')
})

/**
 * One day, yesterday, worked by hand. Station s1 (scheduled before its logs arrive):
 *   A 06:00 30 min, item A; played 06:02–06:30 with A: late by 2 min, within the tolerance, 28 min ≥ 15 → aired
 *   B 07:00 10 min, local; nothing played → planned-not-aired
 *   C 12:00 1 min; played 12:05:00–12:06:00: exactly 5 min late, on time by the tolerance, 1 min ≥ 30 s → aired
 *   D 17:00 1 min; played 17:05:01–17:06:01: one second past the tolerance, shares nothing with the slot → planned-not-aired, and the play aired-not-planned
 *   E 18:00 30 min, item A; played 18:00–18:30 with item B: not the item planned → planned-not-aired, and the play aired-not-planned
 *   F 19:00 60 min, relay; joined late, 19:20–20:00: out of the tolerance, shares 40 min ≥ 30 → aired
 *   a play 21:00–21:10 no slot is near → aired-not-planned
 * Station s2 (its logs arrive before its schedule): 06:00 15 min; played 06:00–06:05, 5 min < 7.5 → planned-not-aired, and the play aired-not-planned.
 * Station s3 has no schedule: its play 08:00–08:10 is unscheduled.
 */
async function handWorkedDay(context: Awaited<ReturnType<typeof setup>>) {
  const { push, logs, contentA, contentB } = context
  const d = day(-1)
  const slot = (time: string, seconds: number, what: Record<string, string>, source = 'local') => ({ startsAt: at(d, time), durationSeconds: seconds, ...what, source })
  const play = (stationId: string, from: string, to: string, what: Record<string, string>, source = 'province') => ({ stationId, startedAt: at(d, from), endedAt: at(d, to), ...what, source })
  const pushed = await push([{
    stationId: 's1', date: d, slots: [
      slot('06:00:00', 1800, { contentId: contentA }), slot('07:00:00', 600, { localProgramme: 'Bản tin xã' }), slot('12:00:00', 60, { localProgramme: 'Thông báo' }),
      slot('17:00:00', 60, { localProgramme: 'Thông báo' }), slot('18:00:00', 1800, { contentId: contentA }), slot('19:00:00', 3600, { localProgramme: 'VOV1' }, 'relay-national'),
    ],
  }])
  if (pushed.statusCode !== 200) throw new Error(pushed.body)
  await logs([
    play('s1', '06:02:00', '06:30:00', { contentId: contentA }), play('s1', '12:05:00', '12:06:00', { localRef: 'tb-1' }),
    play('s1', '17:05:01', '17:06:01', { localRef: 'tb-2' }), play('s1', '18:00:00', '18:30:00', { contentId: contentB }),
    play('s1', '19:20:00', '20:00:00', { localRef: 'vov1' }, 'relay'), play('s1', '21:00:00', '21:10:00', { localRef: 'ca-nhac' }, 'commune'),
    play('s2', '06:00:00', '06:05:00', { localRef: 'ban-tin' }), play('s3', '08:00:00', '08:10:00', { localRef: 'ban-tin' }),
  ])
  const late = await push([{ stationId: 's2', date: d, slots: [slot('06:00:00', 900, { localProgramme: 'Bản tin' })] }])
  if (late.statusCode !== 200) throw new Error(late.body)
  return d
}

t.test('the cross-check of a day worked by hand', async (t) => {
  const context = await setup(t)
  const { crossCheck, central } = context
  const d = await handWorkedDay(context)

  const result = await crossCheck(d, d)
  t.same(result.counts, counts({ slots: 7, aired: 3, plannedNotAired: 4, logs: 8, matchedLogs: 3, airedNotPlanned: 4, unscheduled: 1 }))
  t.same(result.stations, [
    { stationId: 's1', counts: counts({ slots: 6, aired: 3, plannedNotAired: 3, logs: 6, matchedLogs: 3, airedNotPlanned: 3 }) },
    { stationId: 's2', counts: counts({ slots: 1, plannedNotAired: 1, logs: 1, airedNotPlanned: 1 }) },
    { stationId: 's3', counts: counts({ logs: 1, unscheduled: 1 }) },
  ])
  const listed = (r: { mismatches: { kind: string, stationId: string, slot?: { startsAt: string }, play?: { startedAt: string } }[] }) =>
    r.mismatches.map((m) => `${m.kind} ${m.stationId} ${m.slot?.startsAt ?? m.play?.startedAt}`)
  const expected = [
    `planned-not-aired s2 ${utc(d, '06:00:00')}`, `aired-not-planned s2 ${utc(d, '06:00:00')}`, `planned-not-aired s1 ${utc(d, '07:00:00')}`,
    `planned-not-aired s1 ${utc(d, '17:00:00')}`, `aired-not-planned s1 ${utc(d, '17:05:01')}`, `planned-not-aired s1 ${utc(d, '18:00:00')}`,
    `aired-not-planned s1 ${utc(d, '18:00:00')}`, `aired-not-planned s1 ${utc(d, '21:00:00')}`,
  ]
  t.same(listed(result), expected)
  t.match(result.mismatches[0], { date: d, slot: { durationSeconds: 900, localProgramme: 'Bản tin', source: 'local', endsAt: utc(d, '06:15:00') } })
  t.match(result.mismatches[1], { date: d, play: { stationId: 's2', localRef: 'ban-tin', endedAt: utc(d, '06:05:00'), source: 'province', receivedAt: String } })
  t.equal(result.nextCursor, null)

  const pages: Awaited<ReturnType<typeof crossCheck>>[] = []
  let page = await crossCheck(d, d, '&limit=3', central)
  for (;;) {
    pages.push(page)
    if (!page.nextCursor) break
    page = await crossCheck(d, d, `&limit=3&cursor=${page.nextCursor}`, central)
  }
  t.same(pages.map((p) => p.mismatches.length), [3, 3, 2], 'central pages through the mismatches')
  t.same(pages.flatMap(listed), expected)
  t.ok(pages.every((p) => p.checkedAt === pages[0].checkedAt && p.counts.slots === 7), 'every page belongs to the same check')
})

t.test('the cross-check follows replaced schedules and logs that come later, across midnight and in the future', async (t) => {
  const context = await setup(t)
  const { push, logs, crossCheck } = context
  const d = await handWorkedDay(context)
  const next = day(0)

  // D moved to when it was played: its play is matched now.
  const moved = await push([{ stationId: 's1', date: d, slots: [{ startsAt: at(d, '17:05:01'), durationSeconds: 60, localProgramme: 'Thông báo', source: 'local' }] }])
  t.match(moved.json(), { items: [{ version: 2, result: 'updated' }] })
  t.same((await crossCheck(d, d)).stations[0], { stationId: 's1', counts: counts({ slots: 1, aired: 1, logs: 6, matchedLogs: 1, airedNotPlanned: 5 }) })

  // A programme across midnight, planned as a slot in each day, played in one go: both slots are aired; the play counts on the day it starts.
  await push([
    { stationId: 's2', date: d, slots: [{ startsAt: at(d, '23:30:00'), durationSeconds: 1800, localProgramme: 'Ca nhạc', source: 'local' }] },
    { stationId: 's2', date: next, slots: [{ startsAt: at(next, '00:00:00'), durationSeconds: 1800, localProgramme: 'Ca nhạc', source: 'local' }] },
  ])
  await logs([{ stationId: 's2', localRef: 'ca-nhac', startedAt: at(d, '23:30:00'), endedAt: at(next, '00:30:00'), source: 'commune' }])
  const both = await crossCheck(d, next)
  t.same(both.stations.find((s: { stationId: string }) => s.stationId === 's2').counts, counts({ slots: 2, aired: 2, logs: 2, matchedLogs: 1, airedNotPlanned: 1 }))
  t.same((await crossCheck(next, next)).counts, counts({ slots: 1, aired: 1 }), 'the next day alone: its slot is aired by the play of the day before')

  // An empty schedule plans nothing: the day's plays are compared, and none was planned.
  await push([{ stationId: 's3', date: d, slots: [] }])
  const s3 = async () => (await crossCheck(d, d)).stations.find((s: { stationId: string }) => s.stationId === 's3').counts
  t.same(await s3(), counts({ logs: 1, airedNotPlanned: 1 }))

  // Plays logged before the next day's schedule is pushed: one starting 2 minutes before midnight, on time for a slot at midnight,
  // and one that started in the evening and runs into the night; each counts on its own day, and is matched once the next day's slots arrive.
  await logs([
    { stationId: 's1', localRef: 'thoi-su', startedAt: at(d, '23:58:00'), endedAt: at(next, '00:08:00'), source: 'commune' },
    { stationId: 's3', localRef: 'tiep-song', startedAt: at(d, '20:00:00'), endedAt: at(next, '02:00:00'), source: 'relay' },
  ])
  const s1 = async () => (await crossCheck(d, d)).stations.find((s: { stationId: string }) => s.stationId === 's1').counts
  t.same(await s1(), counts({ slots: 1, aired: 1, logs: 7, matchedLogs: 1, airedNotPlanned: 6 }))
  t.same(await s3(), counts({ logs: 2, airedNotPlanned: 2 }))
  await push([
    { stationId: 's1', date: next, slots: [{ startsAt: at(next, '00:00:00'), durationSeconds: 600, localProgramme: 'Thời sự', source: 'local' }] },
    { stationId: 's3', date: next, slots: [{ startsAt: at(next, '00:30:00'), durationSeconds: 1800, localProgramme: 'Tiếp sóng', source: 'relay-provincial' }] },
  ])
  t.same(await s1(), counts({ slots: 1, aired: 1, logs: 7, matchedLogs: 2, airedNotPlanned: 5 }), 'the play before midnight airs the slot at midnight')
  t.same(await s3(), counts({ logs: 2, matchedLogs: 1, airedNotPlanned: 1 }), 'the evening relay airs the slot after midnight')

  // However long ago a play began, it airs a slot it covers: a relay of 27 hours, logged before the schedule of the day it ends in (s2) or after (s3).
  const [start, end] = [day(-6), day(-4)]
  const relay = (stationId: string) => ({ stationId, localRef: 'tiep-song-dai', startedAt: at(start, '22:00:00'), endedAt: at(end, '01:00:00'), source: 'relay' })
  const endOfRelay = (stationId: string) => ({ stationId, date: end, slots: [{ startsAt: at(end, '00:00:00'), durationSeconds: 3600, localProgramme: 'Tiếp sóng', source: 'relay-provincial' }] })
  await push([{ stationId: 's2', date: start, slots: [] }, { stationId: 's3', date: start, slots: [] }, endOfRelay('s3')])
  await logs([relay('s2'), relay('s3')])
  await push([endOfRelay('s2')])
  t.same((await crossCheck(start, end)).counts, counts({ slots: 2, aired: 2, logs: 2, matchedLogs: 2 }))

  const tomorrow = day(1)
  await push([{ stationId: 's1', date: tomorrow, slots: [{ startsAt: at(tomorrow, '06:00:00'), durationSeconds: 600, localProgramme: 'Bản tin', source: 'local' }] }])
  const ahead = await crossCheck(tomorrow, tomorrow)
  t.same(ahead.counts, counts({ slots: 1, upcoming: 1 }), 'a slot still to come is not counted as missed')
  t.same(ahead.mismatches, [])

  const quiet = await crossCheck(day(-5), day(-5))
  t.same(quiet.counts, counts({}), 'a day with neither schedule nor logs')
  t.same(quiet.stations, [])
  t.same(quiet.mismatches, [])

  for (const [from, to] of [[d, day(-2)], [day(-31), day(0)]] as const) {
    const refused = await context.get(`/v2/provinces/79/broadcast-schedules/cross-check?from=${from}&to=${to}`)
    t.equal(refused.statusCode, 422, `${from} to ${to} is refused`)
    t.equal(refused.json().code, 'rule-violated')
  }
  t.equal((await crossCheck(day(-30), day(0))).counts.slots, 7, '31 days are taken')
  t.equal((await context.get(`/v2/provinces/79/broadcast-schedules/cross-check?from=${d}&to=${d}`, context.hanoi)).statusCode, 403)
})

t.test('the summaries count the schedules of the 7 days before today', async (t) => {
  const context = await setup(t)
  const { get, central, push } = context
  await handWorkedDay(context)
  await push([{ stationId: 's1', date: day(0), slots: [{ startsAt: at(day(0), '00:00:00'), durationSeconds: 60, localProgramme: 'Hôm nay', source: 'local' }] }])
  await push([{ stationId: 's1', date: day(-7), slots: [{ startsAt: at(day(-7), '06:00:00'), durationSeconds: 60, localProgramme: 'Tuần trước', source: 'local' }] }])
  const province = (await get('/v2/summaries/provinces/79')).json()
  t.same(province.province.schedules, { slots: 8, aired: 3, plannedNotAired: 5, airedNotPlanned: 4 }, 'yesterday and 7 days ago, not today; s3 is not compared')
  const national = (await get('/v2/summaries/national', central)).json()
  t.same(national.total.schedules, { slots: 8, aired: 3, plannedNotAired: 5, airedNotPlanned: 4 })
  t.same(national.provinces.find((p: { province: string }) => p.province === '01').schedules, { slots: 0, aired: 0, plannedNotAired: 0, airedNotPlanned: 0 })
  const csv = await signedInject(context.app, central, { method: 'GET', url: '/v2/summaries/national?format=csv' })
  const [header] = parse(csv.body, { bom: true, to_line: 1 }) as string[][]
  t.match(header!.filter((column) => column.startsWith('schedules.')), ['schedules.slots', 'schedules.aired', 'schedules.plannedNotAired', 'schedules.airedNotPlanned'])
})

interface Interval { start: number, end: number, content: 'A' | 'B' | null }

/** The matching rule of the contract, written out here to check the service against. */
function airs(slot: Interval, play: Interval): boolean {
  if (slot.content !== null && play.content !== slot.content) return false
  const duration = slot.end - slot.start
  const covered = Math.abs(play.start - slot.start) <= 300_000
    ? Math.min(play.end - play.start, duration)
    : Math.max(0, Math.min(play.end, slot.end) - Math.max(play.start, slot.start))
  return 2 * covered >= duration
}

/** Intervals that do not overlap, from `from` (ms from a day's start): gaps and lengths in seconds. */
const intervals = (from: number, maxGap: number, maxLength: number) => fc.array(
  fc.record({ gap: fc.integer({ min: 0, max: maxGap }), length: fc.integer({ min: 1, max: maxLength }), content: fc.constantFrom<Interval['content']>('A', 'B', null) }),
  { maxLength: 12 },
).map((parts) => {
  let cursor = from
  return parts.map((p) => {
    const start = cursor + p.gap * 1000
    cursor = start + p.length * 1000
    return { start, end: cursor, content: p.content }
  })
})

const DAY_MS = 86_400_000

t.test('for any slots and plays, sent in any order or at once, every slot is aired or not and every play matched or not, as the rule says', async (t) => {
  const context = await setup(t)
  const { push, logs, crossCheck, contentA, contentB } = context
  const contentOf = { A: contentA, B: contentB }
  let run = 0
  await fc.assert(fc.asyncProperty(
    intervals(3_600_000, 3600, 3600).map((slots) => slots.filter((s) => s.end <= DAY_MS)),
    intervals(3_000_000, 4000, 4000).map((plays) => plays.filter((p) => p.start < DAY_MS)),
    fc.constantFrom('schedule first', 'plays first', 'at once'),
    async (offsetSlots, offsetPlays, order) => {
      // A station of its own each run, on one of the last 7 days, so the day's mismatches stay within one page.
      const stationId = `p${run}`
      const d = day(-1 - (run++ % 7))
      const dayStart = Date.parse(at(d, '00:00:00'))
      const slots = offsetSlots.map((s) => ({ ...s, start: dayStart + s.start, end: dayStart + s.end }))
      const plays = offsetPlays.map((p) => ({ ...p, start: dayStart + p.start, end: dayStart + p.end }))
      const pushSchedule = async () => {
        const response = await push([{
          stationId, date: d, slots: slots.map((s) => ({
            startsAt: new Date(s.start).toISOString(), durationSeconds: (s.end - s.start) / 1000, source: 'local',
            ...(s.content ? { contentId: contentOf[s.content] } : { localProgramme: 'Chương trình' }),
          })),
        }])
        if (response.statusCode !== 200) throw new Error(response.body)
      }
      const sendPlays = () => plays.length === 0 ? Promise.resolve() : logs(plays.map((p) => ({
        stationId, startedAt: new Date(p.start).toISOString(), endedAt: new Date(p.end).toISOString(), source: 'commune',
        ...(p.content ? { contentId: contentOf[p.content] } : { localRef: 'chuong-trinh' }),
      })))
      if (order === 'schedule first') { await pushSchedule(); await sendPlays() }
      if (order === 'plays first') { await sendPlays(); await pushSchedule() }
      if (order === 'at once') await Promise.all([pushSchedule(), sendPlays()])

      const result = await crossCheck(d, d, '&limit=1000')
      const mine = result.stations.find((s: { stationId: string }) => s.stationId === stationId)?.counts ?? counts({})
      const aired = slots.filter((s) => plays.some((p) => airs(s, p))).length
      const matched = plays.filter((p) => slots.some((s) => airs(s, p))).length
      const listed = result.mismatches.filter((m: { stationId: string }) => m.stationId === stationId)
      return [
        t.equal(result.nextCursor, null, 'one page'),
        t.equal(mine.aired + mine.plannedNotAired, slots.length, 'aired + planned-not-aired = slots'),
        t.equal(mine.matchedLogs + mine.airedNotPlanned, plays.length, 'matched + aired-not-planned = plays'),
        t.same(mine, counts({ slots: slots.length, aired, plannedNotAired: slots.length - aired, logs: plays.length, matchedLogs: matched, airedNotPlanned: plays.length - matched }), 'as the rule says'),
        t.equal(listed.length, mine.plannedNotAired + mine.airedNotPlanned, 'every mismatch is listed'),
      ].every(Boolean)
    },
  ), { numRuns: 40 })
})
