import t from 'tap'
import { vietnamDay, vietnamDayStart, dayDate } from '../../src/modules/status/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const MINUTE = 60_000
const today = vietnamDay(Date.now())
const yesterday = dayDate(today - 1)
const dayBefore = dayDate(today - 2)
/** 10:00 yesterday, Vietnam time. */
const T0 = vietnamDayStart(today - 1) + 10 * 60 * MINUTE
const yesterdayEnd = vietnamDayStart(today)
const at = (ms: number) => new Date(ms).toISOString()

t.test('availability over a window: time by state, silence after the stale limit, faults, per province, commune and device, JSON and CSV', async (t) => {
  const { app, database } = await buildTestApp(t)
  const hcm = await registerSystem(database, 'province-79')
  const hanoi = await registerSystem(database, 'province-01')
  const central = await registerSystem(database, 'central-portal')
  const registry = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry', body: {
      stations: [{ id: 'st-1', communeCode: '26740', name: 'Đài phường Sài Gòn', kind: 'ip', status: 'operating' }, { id: 'st-2', communeCode: '26737', name: 'Đài phường Tân Định', kind: 'ip', status: 'operating' }],
      clusters: [{ id: 'cl-1', stationId: 'st-2', kind: 'ip', status: 'operating' }],
    },
  })
  t.equal(registry.statusCode, 200)
  const midnight = vietnamDayStart(today - 1)
  const sent = await signedInject(app, hcm, {
    method: 'POST', url: '/v2/provinces/79/status-events', body: {
      events: [
        // cl-1: online 10 min, a fault for 5, online again, then silence.
        { deviceType: 'cluster', deviceId: 'cl-1', state: 'online', observedAt: at(T0) },
        { deviceType: 'cluster', deviceId: 'cl-1', state: 'online', observedAt: at(T0 + 5 * MINUTE) },
        { deviceType: 'cluster', deviceId: 'cl-1', state: 'fault', observedAt: at(T0 + 10 * MINUTE), faultCode: 'AMP-01' },
        { deviceType: 'cluster', deviceId: 'cl-1', state: 'online', observedAt: at(T0 + 15 * MINUTE) },
        // st-1: reports across midnight, 8 minutes apart, then silence.
        { deviceType: 'station', deviceId: 'st-1', state: 'online', observedAt: at(midnight - 5 * MINUTE) },
        { deviceType: 'station', deviceId: 'st-1', state: 'online', observedAt: at(midnight + 3 * MINUTE) },
      ],
    },
  })
  t.match(sent.json(), { accepted: 6, duplicate: 0 })

  const get = (url: string, system = hcm) => signedInject(app, system, { method: 'GET', url })
  const cl1 = { onlineMs: 20 * MINUTE, faultMs: 5 * MINUTE, silentMs: yesterdayEnd - (T0 + 25 * MINUTE), faults: 1, lastSeenAt: at(T0 + 15 * MINUTE) }
  const st1 = { onlineMs: 13 * MINUTE, faultMs: 0, silentMs: yesterdayEnd - (midnight + 13 * MINUTE), faults: 0, lastSeenAt: at(midnight + 3 * MINUTE) }
  const sum = (key: 'onlineMs' | 'faultMs' | 'silentMs' | 'faults') => cl1[key] + st1[key]
  const accounted = sum('onlineMs') + sum('faultMs') + sum('silentMs')

  const province = await get(`/v2/provinces/79/availability?from=${yesterday}&to=${yesterday}`)
  t.equal(province.statusCode, 200, province.body)
  t.match(province.json(), {
    province: '79', from: yesterday, to: yesterday, by: 'province', items: [], nextCursor: null,
    total: { onlineMs: sum('onlineMs'), faultMs: sum('faultMs'), silentMs: sum('silentMs'), offlineMs: 0, playingMs: 0, idleMs: 0, accountedMs: accounted, faults: 1, lastSeenAt: cl1.lastSeenAt },
  })
  t.equal(province.json().total.upShare, Number((sum('onlineMs') / accounted).toFixed(6)))

  const before = (await get(`/v2/provinces/79/availability?from=${dayBefore}&to=${dayBefore}`)).json()
  t.match(before.total, { onlineMs: 5 * MINUTE, silentMs: 0, accountedMs: 5 * MINUTE, upShare: 1, lastSeenAt: at(midnight - 5 * MINUTE) }, 'the five minutes before midnight count on their own day')

  const communes = (await get(`/v2/provinces/79/availability?from=${yesterday}&to=${yesterday}&by=commune`)).json()
  t.match(communes.items, [{ communeCode: '26737', figures: cl1 }, { communeCode: '26740', figures: st1 }], 'a cluster counts in its station\'s commune')

  const devices: unknown[] = []
  let cursor: string | null = null
  do {
    const page: { items: unknown[], nextCursor: string | null } = (await get(`/v2/provinces/79/availability?from=${yesterday}&to=${yesterday}&by=device&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()
    devices.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  t.match(devices, [{ deviceType: 'cluster', deviceId: 'cl-1', communeCode: '26737', figures: cl1 }, { deviceType: 'station', deviceId: 'st-1', communeCode: '26740', figures: st1 }], 'one device a page, by type and id')

  const month = await get(`/v2/provinces/79/availability?month=${yesterday.slice(0, 7)}`)
  t.equal(month.statusCode, 200)
  t.ok(month.json().total.accountedMs >= accounted, 'the month holds yesterday')

  const csv = await get(`/v2/provinces/79/availability?from=${yesterday}&to=${yesterday}&by=commune&format=csv`)
  t.equal(csv.headers['content-type'], 'text/csv; charset=utf-8')
  const lines = csv.body.replace(/^\uFEFF/, '').trim().split('\r\n')
  t.equal(lines[0], '"from","to","generatedAt","province","communeCode","onlineMs","playingMs","idleMs","offlineMs","faultMs","silentMs","accountedMs","upShare","faults","lastSeenAt"')
  t.equal(lines.length, 4, 'a header, two communes and the total')
  t.match(lines[1], new RegExp(`^"${yesterday}","${yesterday}","[^"]+\\+07:00","79","26737",${cl1.onlineMs},0,0,0,${cl1.faultMs},`), 'codes stay text')

  const national = await get(`/v2/availability?from=${yesterday}&to=${yesterday}`, central)
  t.equal(national.statusCode, 200, national.body)
  t.same(national.json().provinces.map((p: { province: string }) => p.province), ['79'])
  t.same(national.json().total, province.json().total, 'the nation is the sum of its provinces')

  const week = (await get(`/v2/provinces/79/availability?from=${dayDate(today - 6)}&to=${dayDate(today)}`)).json().total
  const summary = (await get('/v2/summaries/provinces/79')).json().province.availability
  t.match(summary, { upHoursLast7Days: Math.round((week.onlineMs + week.playingMs + week.idleMs) / 36_000) / 100, faultsLast30Days: 1 }, 'the summary\'s availability is the same figures')
  t.ok(summary.upShareLast7Days > 0 && summary.upShareLast7Days < 1)
  const nationalSummary = (await get('/v2/summaries/national', central)).json()
  t.same(nationalSummary.total.availability, summary, 'one province: the nation\'s availability is that province\'s')

  t.equal((await get(`/v2/provinces/79/availability?month=2026-01&from=${yesterday}&to=${yesterday}`)).statusCode, 400, 'one way to name the window')
  t.equal((await get(`/v2/provinces/79/availability?from=${yesterday}&to=${dayBefore}`)).statusCode, 400, 'to before from')
  t.equal((await get('/v2/provinces/79/availability?from=2025-01-01&to=2026-12-31')).statusCode, 400, 'more than 400 days')
  t.equal((await get(`/v2/provinces/79/availability?from=${yesterday}`)).statusCode, 400, 'from without to')
  t.equal((await get('/v2/provinces/79/availability?periodId=2026-NOPE')).statusCode, 404)
  t.equal((await get('/v2/provinces/79/availability', hanoi)).statusCode, 403, 'another province\'s figures are not Hà Nội\'s to read')
  t.equal((await get('/v2/availability', hcm)).statusCode, 403, 'the nation\'s figures are central\'s')
  t.equal((await get('/v2/provinces/79/availability?periodId=2026-Y')).statusCode, 200, 'a report period: its year to its asOf')
})
