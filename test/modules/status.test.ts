import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { MonthlyPartitions, monthOf } from '../../src/modules/status/partitions.js'
import { monthOfDay, vietnamDay } from '../../src/modules/status/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

const MINUTE = 60_000
const DAY = 86_400_000
const ago = (ms: number) => new Date(Date.now() - ms).toISOString()

async function setup(t: Test, env: Record<string, string> = {}) {
  const built = await buildTestApp(t, { env })
  const hcm = await registerSystem(built.database, 'province-79')
  const hanoi = await registerSystem(built.database, 'province-01')
  const central = await registerSystem(built.database, 'central-portal')
  const { app } = built
  const registry = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry', body: {
      stations: [
        { id: 'st-1', communeCode: '26740', name: 'Đài phường Sài Gòn', kind: 'ip', status: 'operating' },
        { id: 'st-2', communeCode: '26737', name: 'Đài phường Tân Định', kind: 'ip', status: 'operating' },
      ],
      clusters: [
        { id: 'cl-1', stationId: 'st-1', kind: 'ip', status: 'operating' },
        { id: 'cl-2', stationId: 'st-1', kind: 'ip', status: 'operating' },
        { id: 'cl-3', stationId: 'st-2', kind: 'ip', status: 'operating' },
      ],
      boards: [{ id: 'bt-1', communeCode: '26737', placement: 'outdoor', status: 'operating' }],
    },
  })
  t.equal(registry.statusCode, 200, registry.statusCode === 200 ? 'the registry is pushed' : registry.body)
  const send = (events: unknown[], system: TestSystem = hcm, province = '79') =>
    signedInject(app, system, { method: 'POST', url: `/v2/provinces/${province}/status-events`, body: { events } })
  const get = (url: string, system: TestSystem = hcm) => signedInject(app, system, { method: 'GET', url })
  const count = async (table: 'device_status' | 'device_status_history' | 'device_status_days') =>
    Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(built.database.db)).rows[0]!.n)
  return { ...built, hcm, hanoi, central, send, get, count }
}

const event = (deviceId: string, state: string, observedAt: string, extra: Record<string, unknown> = {}) =>
  ({ deviceType: deviceId.startsWith('st') ? 'station' : deviceId.startsWith('bt') ? 'board' : 'cluster', deviceId, state, observedAt, ...extra })

t.test('batches arriving out of order leave each device at its newest state', async (t) => {
  const { send, get, count } = await setup(t)
  const newer = await send([event('cl-1', 'playing', ago(2 * MINUTE), { volumePercent: 80, signalDbm: -70 }), event('cl-2', 'idle', ago(MINUTE))])
  t.equal(newer.statusCode, 200, newer.body)
  t.match(newer.json(), { accepted: 2, duplicate: 0, rejected: 0, rejections: [], receipt: { id: String, jws: String } })

  const older = await send([event('cl-1', 'offline', ago(5 * MINUTE)), event('cl-2', 'fault', ago(3 * MINUTE), { faultCode: 'AMP-01', faultMessage: 'Amplifier overheated' })])
  t.match(older.json(), { accepted: 2, duplicate: 0, rejected: 0 })

  const current = await get('/v2/provinces/79/status')
  t.equal(current.statusCode, 200)
  t.same(current.json().items.map((d: { deviceId: string, state: string }) => `${d.deviceId}:${d.state}`), ['cl-1:playing', 'cl-2:idle'])
  t.match(current.json().items[0], { deviceType: 'cluster', volumePercent: 80, signalDbm: -70, stale: false })
  t.notOk('faultCode' in current.json().items[1], 'the older fault event did not overwrite the newer state')
  t.equal(await count('device_status_history'), 4, 'each state change is a period; the late ones are kept as periods of one report')

  const history = await get('/v2/provinces/79/devices/cluster/cl-2/status-history')
  t.same(history.json().items.map((e: { state: string }) => e.state), ['idle', 'fault'], 'newest first')
  t.match(history.json().items[1], { faultCode: 'AMP-01', faultMessage: 'Amplifier overheated' })
})

t.test('a repeated event is a duplicate, stored once, whatever offset spells its time', async (t) => {
  const { send, count } = await setup(t)
  const at = new Date(Date.now() - 10 * MINUTE)
  const batch = [event('st-1', 'online', at.toISOString()), event('cl-1', 'playing', at.toISOString()), event('bt-1', 'online', at.toISOString())]
  t.match((await send(batch)).json(), { accepted: 3, duplicate: 0 })
  t.match((await send(batch)).json(), { accepted: 0, duplicate: 3, rejected: 0 }, 'the same batch again')

  const inHanoiTime = new Date(at.getTime() + 7 * 3_600_000).toISOString().replace('Z', '+07:00')
  const again = await send([event('st-1', 'online', inHanoiTime), event('cl-1', 'idle', at.toISOString()), event('cl-1', 'idle', at.toISOString())])
  t.match(again.json(), { accepted: 1, duplicate: 2, rejected: 0 }, 'the same instant with another offset, and a repeat within the batch')
  t.equal(await count('device_status_history'), 4)
  t.equal(await count('device_status'), 3)
})

t.test('a batch is accepted in part: every rejected event is named by index and reason', async (t) => {
  const { app, send, count } = await setup(t)
  const response = await send([
    event('cl-1', 'online', ago(MINUTE)),
    event('cl-404', 'online', ago(MINUTE)),
    event('cl-2', 'online', new Date(Date.now() + 10 * MINUTE).toISOString()),
    event('cl-3', 'online', ago(500 * DAY)),
    event('cl-3', 'online', ago(MINUTE), { volumePercent: 200 }),
    event('st-1', 'asleep', ago(MINUTE)),
    { ...event('st-2', 'online', ago(MINUTE)), colour: 'red' },
    'not an event',
    event('bt-1', 'online', ago(MINUTE), { temperatureC: 41.5, supplyVoltage: 12.1 }),
    { ...event('st-2', 'online', ago(MINUTE)), observedAt: 'yesterday' },
    event('station-9', 'online', ago(MINUTE), { deviceType: 'station' }),
    event('st-2', 'online', ago(30 * 1000)),
    event('st-2', 'online', '2026-06-30T23:59:60Z'),
  ])
  t.equal(response.statusCode, 200, response.body)
  const body = response.json()
  t.match(body, { accepted: 3, duplicate: 0, rejected: 10, receipt: { jws: String } })
  t.same(body.rejections.map((r: { index: number, reason: string }) => [r.index, r.reason]), [
    [1, 'unknown-device'], [2, 'future-timestamp'], [3, 'too-old'], [4, 'bad-value'], [5, 'bad-value'], [6, 'bad-value'],
    [7, 'bad-value'], [9, 'bad-value'], [10, 'unknown-device'], [12, 'bad-value'],
  ])
  const pointers = Object.fromEntries(body.rejections.filter((r: { pointer?: string }) => r.pointer).map((r: { index: number, pointer: string }) => [r.index, r.pointer]))
  t.same(pointers, { 4: '/events/4/volumePercent', 5: '/events/5/state', 6: '/events/6/colour', 7: '/events/7', 9: '/events/9/observedAt', 12: '/events/12/observedAt' })
  t.match(body.rejections[0].message, /cluster cl-404 is not in the registry of province 79/)
  t.equal(body.rejections[4].message, 'must be one of online, offline, playing, idle, fault')
  t.equal(await count('device_status_history'), 3)

  const metrics = { body: await app.metrics.metrics() }
  t.match(metrics.body, /ttn_status_events_total\{outcome="accepted"\} 3/)
  t.match(metrics.body, /ttn_status_events_total\{outcome="rejected"\} 10/)
  t.match(metrics.body, /ttn_status_rejections_total\{reason="bad-value"\} 6/)
  t.match(metrics.body, /ttn_status_rejections_total\{reason="unknown-device"\} 2/)
})

t.test('batch limits and envelope: problem documents, nothing stored', async (t) => {
  const { send, hcm, app, count } = await setup(t)
  const tooMany = await send(Array.from({ length: 5001 }, (_, i) => event('cl-1', 'online', new Date(Date.now() - i * 1000).toISOString())))
  t.equal(tooMany.statusCode, 400)
  t.match(tooMany.json(), { code: 'validation-failed', errors: [{ pointer: '/events', message: /5000/ }] })
  t.equal((await send([])).statusCode, 400)
  const extra = await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/status-events', body: { events: [event('cl-1', 'online', ago(1))], note: 'x' } })
  t.match(extra.json(), { status: 400, errors: [{ pointer: '/note' }] })
  const notAnObject = await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/status-events', body: [1] })
  t.equal(notAnObject.statusCode, 400)
  t.equal(await count('device_status_history'), 0)

  const full = await send(Array.from({ length: 5000 }, (_, i) => event('cl-1', 'online', new Date(Date.now() - i * 1000).toISOString())))
  t.match(full.json(), { accepted: 5000, rejected: 0 }, '5000 events are one batch')
})

t.test('stale is computed when read, from STALE_AFTER_SECONDS', async (t) => {
  const { send, get, central, hcm, hanoi } = await setup(t, { STALE_AFTER_SECONDS: '600' })
  await send([
    event('cl-1', 'playing', ago(MINUTE)),
    event('cl-2', 'online', ago(11 * MINUTE)),
    event('cl-3', 'fault', ago(20 * MINUTE)),
    event('st-1', 'online', ago(2 * MINUTE)),
  ])
  const all = (await get('/v2/provinces/79/status')).json().items
  t.same(all.map((d: { deviceId: string, stale: boolean }) => `${d.deviceId}:${d.stale}`), ['cl-1:false', 'cl-2:true', 'cl-3:true', 'st-1:false'])
  t.same((await get('/v2/provinces/79/status?stale=true')).json().items.map((d: { deviceId: string }) => d.deviceId), ['cl-2', 'cl-3'])
  t.same((await get('/v2/provinces/79/status?stale=false&type=cluster')).json().items.map((d: { deviceId: string }) => d.deviceId), ['cl-1'])
  t.same((await get('/v2/provinces/79/status?state=fault')).json().items.map((d: { deviceId: string }) => d.deviceId), ['cl-3'])
  t.same((await get('/v2/provinces/79/status?commune=26737')).json().items.map((d: { deviceId: string }) => d.deviceId), ['cl-3'], 'a cluster is in its station\'s commune')
  t.same((await get('/v2/provinces/79/status?commune=26740')).json().items.map((d: { deviceId: string }) => d.deviceId), ['cl-1', 'cl-2', 'st-1'])

  const pages: string[][] = []
  let cursor: string | null = null
  do {
    const page: { items: { deviceId: string }[], nextCursor: string | null } = (await get(`/v2/provinces/79/status?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json()
    pages.push(page.items.map((d) => d.deviceId))
    cursor = page.nextCursor
  } while (cursor)
  t.same(pages, [['cl-1', 'cl-2', 'cl-3'], ['st-1']])
  t.equal((await get('/v2/provinces/79/status?cursor=bm9wZQ')).json().code, 'invalid-cursor')

  const overview = await get('/v2/status/overview', central)
  t.equal(overview.statusCode, 200, overview.body)
  t.match(overview.json(), { staleAfterSeconds: 600, provinces: [{ province: '79', devices: 4, byState: { online: 2, playing: 1, fault: 1, idle: 0, offline: 0 }, stale: 2 }] })
  t.equal(overview.json().provinces[0].lastReportAt.slice(0, 16), ago(MINUTE).slice(0, 16))
  t.equal((await get('/v2/status/overview', hcm)).statusCode, 403, 'the overview is central\'s')
  t.equal((await get('/v2/provinces/79/status', central)).statusCode, 200, 'central reads any province')
  t.equal((await get('/v2/provinces/79/status', hanoi)).statusCode, 403)
})

t.test('another province\'s devices are refused', async (t) => {
  const { send, hanoi, get, count } = await setup(t)
  const onPath = await send([event('cl-1', 'online', ago(MINUTE))], hanoi, '79')
  t.equal(onPath.statusCode, 403)
  t.equal(onPath.json().code, 'scope-forbidden')
  const ownPath = await send([event('cl-1', 'online', ago(MINUTE)), event('st-1', 'online', ago(MINUTE))], hanoi, '01')
  t.match(ownPath.json(), { accepted: 0, rejected: 2, rejections: [{ index: 0, reason: 'unknown-device' }, { index: 1, reason: 'unknown-device' }] })
  t.equal(await count('device_status'), 0)
  t.equal((await get('/v2/provinces/79/devices/cluster/cl-1/status-history', hanoi)).statusCode, 403)
})

t.test('a deleted device is unknown; history reads page by cursor within a time range', async (t) => {
  const { app, hcm, send, get } = await setup(t)
  t.equal((await signedInject(app, hcm, { method: 'DELETE', url: '/v2/provinces/79/boards/bt-1' })).statusCode, 200)
  t.match((await send([event('bt-1', 'online', ago(MINUTE))])).json(), { rejections: [{ reason: 'unknown-device' }] })

  const times = Array.from({ length: 7 }, (_, i) => ago((i + 1) * 10 * MINUTE))
  await send(times.map((at, i) => event('cl-1', i % 2 ? 'idle' : 'playing', at)))
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v2/provinces/79/devices/cluster/cl-1/status-history?limit=2&from=${encodeURIComponent(times[5]!)}&to=${encodeURIComponent(times[0]!)}${cursor ? `&cursor=${cursor}` : ''}`
    const page: { items: { observedAt: string }[], nextCursor: string | null } = (await get(url)).json()
    seen.push(...page.items.map((e) => e.observedAt))
    cursor = page.nextCursor
  } while (cursor)
  t.same(seen, times.slice(1, 6), 'from is inclusive, to exclusive, newest first, every event once')
  t.equal((await get('/v2/provinces/79/devices/cluster/cl-9/status-history')).statusCode, 404)
  t.same((await get('/v2/provinces/79/devices/station/st-2/status-history')).json(), { items: [], nextCursor: null }, 'a known device that never reported')
})

t.test('history lives in monthly partitions; prune drops whole old months and deletes older rows', async (t) => {
  const { database, send, count } = await setup(t)
  const partitions = MonthlyPartitions.history(database.db)
  const old = [ago(200 * DAY), ago(120 * DAY), ago(45 * DAY), ago(DAY)]
  t.match((await send(old.map((at) => event('cl-1', 'online', at)))).json(), { accepted: 4 })
  const names = async () => (await sql<{ name: string }>`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'device_status_history'::regclass order by 1`.execute(database.db)).rows.map((r) => r.name)
  const months = [...new Set(old.map((at) => monthOf(new Date(at))))]
  t.same((await names()).filter((n) => months.some((m) => n.endsWith(m))).length, months.length, 'a partition for every month touched')

  const cutoff = new Date(Date.now() - 100 * DAY)
  const result = await partitions.prune(cutoff)
  t.ok(result.droppedPartitions.includes(`device_status_history_${monthOf(new Date(old[0]!))}`), 'the oldest month is dropped whole')
  t.notOk((await names()).includes(`device_status_history_${monthOf(new Date(old[0]!))}`))
  t.equal(await count('device_status_history'), 2, 'what is older than the cutoff is gone, the rest stays')
  t.equal(await count('device_status'), 1, 'the current state is kept')
  const days = MonthlyPartitions.days(database.db)
  const daysBefore = Number((await sql<{ n: number }>`select count(*)::int as n from device_status_days where day < ${cutoff.toISOString().slice(0, 10)}::date`.execute(database.db)).rows[0]!.n)
  t.ok(daysBefore > 0, `the silences between the old events filled ${daysBefore} days before the cutoff`)
  const prunedDays = await days.prune(cutoff)
  t.ok(prunedDays.droppedPartitions.includes(`device_status_days_${monthOfDay(vietnamDay(Date.parse(old[0]!)))}`), 'the oldest month of days is dropped whole')
  t.equal(Number((await sql<{ n: number }>`select count(*)::int as n from device_status_days where day < ${cutoff.toISOString().slice(0, 10)}::date`.execute(database.db)).rows[0]!.n), 0)
  t.match((await send([event('cl-2', 'online', old[0]!)])).json(), { accepted: 1 }, 'a month dropped behind the service\'s back is made again')
  await partitions.ensureAhead()
  t.ok((await names()).includes(`device_status_history_${monthOf(new Date())}`))

  const url = (database as { url?: string }).url
  if (url) {
    const cli = await ttn(['prune', '--days', '30'], { DATABASE_URL: url })
    t.equal(cli.code, 0, cli.stderr)
    t.match(cli.stdout, /status history before .* removed: \d+ monthly partitions dropped.*, \d+ older rows deleted/)
    t.match(cli.stdout, /daily availability before .* removed: \d+ monthly partitions dropped.*, \d+ older rows deleted/)
    t.match(cli.stdout, /media removed: 0 files no item in force uses \(0 bytes\); 0 expired uploads/)
    t.equal(await count('device_status_history'), 1, 'only the event of yesterday is left')
  }
})
