import t from 'tap'
import { bulletin } from '../helpers/content.js'
import { dayDate, vietnamDay, vietnamDayStart } from '../../src/modules/status/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const MINUTE = 60_000
const today = vietnamDay(Date.now())
const at = (ms: number) => new Date(ms).toISOString()

t.test('daily trends: up share, airtime, content played and reports submitted, every day present, per province and national', async (t) => {
  const { app, database } = await buildTestApp(t)
  const hcm = await registerSystem(database, 'province-79')
  const central = await registerSystem(database, 'central-portal')
  const call = async (system: typeof hcm, method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown) => {
    const response = await signedInject(app, system, { method, url, body })
    t.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode === 200 ? 'ok' : response.body}`)
    return response.json()
  }
  await call(hcm, 'PUT', '/v2/provinces/79/registry', {
    stations: [{ id: 'st-1', communeCode: '26740', name: 'Đài phường Sài Gòn', kind: 'ip', status: 'operating' }],
    clusters: [{ id: 'cl-1', stationId: 'st-1', kind: 'ip', status: 'operating' }],
  })
  // Two days ago: cl-1 reports online at 10:00, a fault at 10:30, online at 10:40, then nothing.
  const twoDaysAgo = vietnamDayStart(today - 2)
  const T0 = twoDaysAgo + 10 * 60 * MINUTE
  await call(hcm, 'POST', '/v2/provinces/79/status-events', {
    events: [
      { deviceType: 'cluster', deviceId: 'cl-1', state: 'online', observedAt: at(T0) },
      { deviceType: 'cluster', deviceId: 'cl-1', state: 'fault', observedAt: at(T0 + 30 * MINUTE) },
      { deviceType: 'cluster', deviceId: 'cl-1', state: 'online', observedAt: at(T0 + 40 * MINUTE) },
    ],
  })
  const content = (await call(central, 'POST', '/v2/contents', bulletin({ title: 'Bản tin', targets: ['79'] }))).content.id as string
  await call(hcm, 'POST', '/v2/provinces/79/broadcast-logs', {
    entries: [
      { stationId: 'st-1', contentId: content, startedAt: at(T0), endedAt: at(T0 + 30 * MINUTE), source: 'central' },
      { stationId: 'st-1', localRef: 'xa-1', startedAt: at(T0 + 60 * MINUTE), endedAt: at(T0 + 90 * MINUTE), source: 'commune' },
    ],
  })

  const province = await call(hcm, 'GET', '/v2/provinces/79/trends?days=5')
  t.equal(province.province, '79')
  t.same(province.days.map((d: { day: string }) => d.day), [4, 3, 2, 1, 0].map((n) => dayDate(today - n)), 'five days, oldest first, today last')
  const day = province.days[2]
  const accounted = vietnamDayStart(today - 1) - T0
  t.match(day, { day: dayDate(today - 2), airtimeHours: 1, contentPlays: 1, reportsSubmitted: 0 })
  // Each report is heard for STALE_AFTER_SECONDS (10 min) unless the next comes first: online 10 min, silent 20, fault 10, online 10, then silent.
  t.equal(day.upShare, Number((20 * MINUTE / accounted).toFixed(6)), 'up 20 minutes of the time since the first report')
  t.same(province.days[0], { day: dayDate(today - 4), upShare: null, airtimeHours: 0, contentPlays: 0, reportsSubmitted: 0 }, 'a day before any report')
  t.equal(province.days[3].upShare, 0, 'yesterday the device was silent all day')

  const national = await call(central, 'GET', '/v2/trends?days=5')
  t.equal(national.province, null)
  t.same(national.days, province.days, 'one province: the nation is that province')
  t.equal((await call(hcm, 'GET', '/v2/provinces/79/trends')).days.length, 90, '90 days by default')
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/trends' })).statusCode, 403)
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/trends?days=401' })).statusCode, 400)
})
