import t, { type Test } from 'tap'
import { parse } from 'csv-parse/sync'
import { summaryColumns } from '../../src/modules/summaries/sheets.js'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'
import { smallProvinceIndicators as indicators } from '../helpers/reports.js'

const station = (id: string, kind: string, status = 'operating') => ({ id, communeCode: '26740', name: `Đài ${id}`, kind, status })
const cluster = (id: string, stationId: string, kind = 'ip') => ({ id, stationId, kind, status: 'operating', village: 'Ấp 1' })

async function setup(t: Test, env: Record<string, string> = { SUMMARY_CACHE_SECONDS: '0' }, options: Omit<TestAppOptions, 'env'> = {}) {
  const built = await buildTestApp(t, { env, ...options })
  const hcm = await registerSystem(built.database, 'province-79')
  const hanoi = await registerSystem(built.database, 'province-01')
  const central = await registerSystem(built.database, 'central-portal')
  const get = (system: TestSystem, url: string, headers: Record<string, string> = {}) => signedInject(built.app, system, { method: 'GET', url, headers })
  const put = async (system: TestSystem, url: string, body: unknown) => {
    const response = await signedInject(built.app, system, { method: 'PUT', url, body })
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.body}`)
  }
  return { ...built, hcm, hanoi, central, get, put }
}

/** A registry with every kind and condition that the summary separates. */
async function seedRegistry({ put, hcm, hanoi }: Awaited<ReturnType<typeof setup>>) {
  await put(hcm, '/v2/provinces/79/stations', { items: [station('ip-1', 'ip'), station('wired-1', 'wired', 'degraded'), station('fm-old', 'fm', 'decommissioned')] })
  await put(hcm, '/v2/provinces/79/clusters', { items: [cluster('c-1', 'ip-1'), cluster('c-2', 'ip-1'), cluster('c-3', 'wired-1', 'wired')] })
  await put(hcm, '/v2/provinces/79/boards', { items: [{ id: 'b-1', communeCode: '26740', placement: 'outdoor', status: 'operating' }] })
  await put(hanoi, '/v2/provinces/01/stations', { items: [{ ...station('h-1', 'wired_fm', 'out_of_service'), communeCode: '00004' }] })
}

t.test('the national summary counts the registry by province and in total, with report states for the period', async (t) => {
  const context = await setup(t)
  const { get, put, hcm, central } = context
  await seedRegistry(context)
  await put(hcm, '/v2/provinces/79/reports/2030-Y/indicators', indicators)

  const response = await get(central, '/v2/summaries/national?periodId=2030-Y')
  t.equal(response.statusCode, 200)
  const summary = response.json()
  t.equal(summary.period.id, '2030-Y')
  t.equal(summary.provinces.length, 34, 'every active province, even one that sent nothing')
  const hcmRow = summary.provinces.find((p: { province: string }) => p.province === '79')
  t.same(hcmRow.stations, { total: 2, wired: 1, fm: 0, wiredFm: 0, ip: 1, operating: 1, degraded: 1, outOfService: 0, decommissioned: 1, ipShare: 0.5 })
  t.same(hcmRow.clusters, { total: 3, ip: 2, fm: 0, wired: 1 })
  t.same(hcmRow.boards, { total: 1 })
  t.same(hcmRow.reports, { indicators: 'submitted', feedback: 'missing' })
  const hanoiRow = summary.provinces.find((p: { province: string }) => p.province === '01')
  t.same(hanoiRow.reports, { indicators: 'missing', feedback: 'missing' })
  t.match(hanoiRow.stations, { total: 1, wiredFm: 1, outOfService: 1, ipShare: 0 })
  t.match(summary.total.stations, { total: 3, ip: 1, wired: 1, wiredFm: 1, decommissioned: 1, ipShare: 0.3333 })
  t.same(summary.total.clusters, { total: 3, ip: 2, fm: 0, wired: 1 })
})

t.test('the CSV form reads back to the same figures as the JSON, with a byte-order mark for spreadsheets', async (t) => {
  const context = await setup(t)
  const { get, central, hcm } = context
  await seedRegistry(context)
  const json = (await get(central, '/v2/summaries/national?periodId=2030-Y')).json()

  for (const [how, response] of [
    ['format=csv', await get(central, '/v2/summaries/national?periodId=2030-Y&format=csv')],
    ['Accept: text/csv', await get(central, '/v2/summaries/national?periodId=2030-Y', { accept: 'text/csv' })],
  ] as const) {
    t.equal(response.statusCode, 200, how)
    t.match(response.headers['content-type'], /^text\/csv; charset=utf-8/)
    t.match(response.headers['content-disposition'], /^attachment; filename="national-summary-2030-Y-\d{4}-\d{2}-\d{2}\.csv"$/)
    t.ok(response.body.startsWith('\uFEFF'), 'starts with a byte-order mark')
    const rows: Record<string, string>[] = parse(response.body, { bom: true, columns: true })
    t.same(Object.keys(rows[0]!), ['period', 'generatedAt', ...summaryColumns.map(({ key }) => key)])
    t.ok(rows.every((row) => row.period === '2030-Y' && row.generatedAt!.endsWith('+07:00')), 'every row says its period and when it was made, in Vietnam time')
    t.equal(rows.length, 35, 'one row per province and one for the whole country')
    const expected = [...json.provinces, { province: '', name: 'Toàn quốc', ...json.total }]
    rows.forEach((row, i) => {
      const want = expected[i]
      t.equal(row.province, want.province)
      t.equal(row.name, want.name)
      for (const column of summaryColumns.map(({ key }) => key).filter((c) => !['province', 'name'].includes(c) && !c.startsWith('reports.'))) {
        const [section, field] = column.split('.') as [string, string]
        if (Number(row[column]) !== want[section][field]) t.fail(`${want.province || 'total'} ${column}: ${row[column]} in CSV, ${want[section][field]} in JSON`)
      }
      if (want.reports) for (const form of ['indicators', 'appendix-02', 'appendix-03']) t.equal(row[`reports.${form}`], want.reports[form] ?? '')
    })
    t.match(rows.at(-1), { 'reports.indicators': '0/34', 'reports.feedback': '0/34', 'reports.appendix-02': '' }, 'the nation counts the provinces that sent each form the period asks')
  }
  t.equal(rows79(await get(hcm, '/v2/summaries/provinces/79?format=csv')).name, 'Hồ Chí Minh', 'Vietnamese text survives')
})

const rows79 = (response: { body: string }) => (parse(response.body, { bom: true, columns: true }) as Record<string, string>[])[0]!

t.test('a province reads its own summary, central reads any; a province cannot read the national one or another province\'s', async (t) => {
  const context = await setup(t)
  const { get, hcm, central } = context
  await seedRegistry(context)
  const own = await get(hcm, '/v2/summaries/provinces/79')
  t.equal(own.statusCode, 200)
  t.match(own.json(), { staleAfterSeconds: Number, province: { province: '79', stations: { total: 2 } } })
  t.equal((await get(central, '/v2/summaries/provinces/79')).json().province.clusters.total, 3)
  t.equal((await get(hcm, '/v2/summaries/provinces/01')).statusCode, 403)
  t.equal((await get(hcm, '/v2/summaries/national')).statusCode, 403)
  t.equal((await get(central, '/v2/summaries/provinces/98')).statusCode, 404, 'no active province 98')
  t.equal((await get(central, '/v2/summaries/national?periodId=a%20b')).statusCode, 400, 'a malformed period id')
  const unknown = await get(central, '/v2/summaries/national?periodId=2031-EXTRA')
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal((await get(central, '/v2/summaries/national?format=xml')).statusCode, 400)
})

t.test('without a period the summary speaks of the first one whose deadline has not passed', async (t) => {
  const { get, central } = await setup(t)
  const summary = (await get(central, '/v2/summaries/national')).json()
  t.ok(new Date(summary.period.deadline) >= new Date(summary.generatedAt), `${summary.period.id} is still open`)
})

t.test('a summary is reused for SUMMARY_CACHE_SECONDS, then computed again', async (t) => {
  const context = await setup(t, { SUMMARY_CACHE_SECONDS: '60' })
  const { get, central } = context
  const [a, b] = await Promise.all([get(central, '/v2/summaries/national'), get(central, '/v2/summaries/national')])
  t.equal(a.json().generatedAt, b.json().generatedAt, 'concurrent readers share one computation')
  await seedRegistry(context)
  t.equal((await get(central, '/v2/summaries/national')).json().total.stations.total, 0, 'still the cached figures')
  const fresh = await setup(t)
  await seedRegistry(fresh)
  t.equal((await fresh.get(fresh.central, '/v2/summaries/national')).json().total.stations.total, 3, 'with 0 seconds, always fresh')
})

t.test('with a read replica configured, the figures come from it', async (t) => {
  const replica = await testDatabase(t)
  const writer = await setup(t, undefined, { database: replica })
  await seedRegistry(writer)
  const context = await setup(t, undefined, { readDatabase: replica })
  await context.put(context.hcm, '/v2/provinces/79/stations', { items: [station('only-on-primary', 'ip')] })
  const summary = (await context.get(context.central, '/v2/summaries/national?periodId=2030-Y')).json()
  t.equal(summary.total.stations.total, 3, 'what the replica holds, not the primary')
  t.equal(summary.period.id, '2030-Y')
})

t.test('devices count as online, offline, stale or never reported, with staleness decided when the summary is read', async (t) => {
  const context = await setup(t, { SUMMARY_CACHE_SECONDS: '0', STALE_AFTER_SECONDS: '600' })
  const { get, hcm, central, app } = context
  await seedRegistry(context)
  const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString()
  const sent = await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/status-events', body: { events: [
    { deviceType: 'station', deviceId: 'ip-1', state: 'online', observedAt: ago(1) },
    { deviceType: 'board', deviceId: 'b-1', state: 'playing', observedAt: ago(2) },
    { deviceType: 'cluster', deviceId: 'c-1', state: 'offline', observedAt: ago(3) },
    { deviceType: 'cluster', deviceId: 'c-3', state: 'fault', observedAt: ago(4), faultCode: 'AMP' },
    { deviceType: 'cluster', deviceId: 'c-2', state: 'online', observedAt: ago(20) },
  ] } })
  t.equal(sent.json().accepted, 5)
  const hcmDevices = { registered: 6, online: 2, offline: 2, stale: 1, neverReported: 1 }
  t.same((await get(hcm, '/v2/summaries/provinces/79')).json().province.devices, hcmDevices, 'the decommissioned station is not counted')
  const national = (await get(central, '/v2/summaries/national')).json()
  t.same(national.total.devices, { ...hcmDevices, registered: 7, neverReported: 2 }, 'Hà Nội\'s one station never reported')
  t.equal(national.staleAfterSeconds, 600)
})

t.test('airtime sums the broadcast logs of the last 7 and 30 days; reach follows central\'s items to each target province', async (t) => {
  const context = await setup(t)
  const { get, hcm, hanoi, central, app } = context
  await seedRegistry(context)
  const post = async (system: TestSystem, url: string, body: unknown) => {
    const response = await signedInject(app, system, { method: 'POST', url, body })
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.body}`)
    return response.json()
  }
  const toAll = (await post(central, '/v2/contents', { title: 'Cảnh báo bão', topic: 'disasters-fire-epidemics', priority: 'emergency', targets: 'all' })).content.id
  await post(central, '/v2/contents', { title: 'Chỉ Hà Nội', topic: 'disasters-fire-epidemics', priority: 'normal', targets: ['01'] })
  await post(hcm, `/v2/contents/${toAll}/acks`, { receivedAt: new Date().toISOString() })

  const daysAgo = (days: number, hour: number) => new Date(Date.now() - days * 86_400_000 - hour * 3_600_000)
  const play = (stationId: string, start: Date, minutes: number, extra: Record<string, unknown>) =>
    ({ stationId, startedAt: start.toISOString(), endedAt: new Date(start.getTime() + minutes * 60_000).toISOString(), source: 'central', ...extra })
  const logged = await post(hcm, '/v2/provinces/79/broadcast-logs', { entries: [
    play('ip-1', daysAgo(0, 2), 30, { contentId: toAll }),
    play('wired-1', daysAgo(2, 2), 90, { localRef: 'ban-tin-sang' }),
    play('ip-1', daysAgo(12, 2), 120, { localRef: 'ban-tin-toi' }),
    play('ip-1', daysAgo(45, 2), 60, { localRef: 'too-old-for-30-days' }),
  ] })
  t.equal(logged.accepted, 4)
  await post(hanoi, '/v2/provinces/01/broadcast-logs', { entries: [play('h-1', daysAgo(1, 2), 45, { localRef: 'x' })] })

  const summary = (await get(central, '/v2/summaries/national')).json()
  const row = (code: string) => summary.provinces.find((p: { province: string }) => p.province === code)
  t.same(row('79').broadcast, { hoursLast7Days: 2, hoursLast30Days: 4 })
  t.same(row('01').broadcast, { hoursLast7Days: 0.75, hoursLast30Days: 0.75 })
  t.same(summary.total.broadcast, { hoursLast7Days: 2.75, hoursLast30Days: 4.75 })
  t.same(row('79').content, { items: 1, delivered: 1, acknowledged: 1, played: 1 }, 'acknowledged counts as delivered')
  t.same(row('01').content, { items: 2, delivered: 0, acknowledged: 0, played: 0 })
  t.same(row('48').content, { items: 1, delivered: 0, acknowledged: 0, played: 0 })
  t.same(summary.total.content, { items: 35, delivered: 1, acknowledged: 1, played: 1 })
})

t.test('exercises and their plays are counted apart: the ordinary figures are what they were without them', async (t) => {
  const context = await setup(t)
  const { get, hcm, central, app } = context
  await seedRegistry(context)
  const send = async (system: TestSystem, method: 'POST' | 'PUT', url: string, body: unknown) => signedInject(app, system, { method, url, body })
  const post = async (system: TestSystem, url: string, body: unknown) => {
    const response = await send(system, 'POST', url, body)
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.body}`)
    return response.json()
  }
  const bulletin = (overrides: Record<string, unknown>) => ({ title: 'Bản tin', topic: 'disasters-fire-epidemics', priority: 'normal', ...overrides })
  const ago = (days: number, hours: number) => new Date(Date.now() - days * 86_400_000 - hours * 3_600_000)
  const play = (stationId: string, start: Date, minutes: number, extra: Record<string, unknown>) =>
    ({ stationId, startedAt: start.toISOString(), endedAt: new Date(start.getTime() + minutes * 60_000).toISOString(), source: 'central', ...extra })

  const real = (await post(central, '/v2/contents', bulletin({ targets: ['79'] }))).content.id
  await post(hcm, '/v2/provinces/79/broadcast-logs', { entries: [play('ip-1', ago(0, 2), 30, { contentId: real }), play('wired-1', ago(10, 2), 60, { localRef: 'ban-tin-xa' })] })
  const without = (await get(central, '/v2/summaries/national')).json()

  const drill = (await post(central, '/v2/contents', bulletin({ title: 'Diễn tập báo động lũ', targets: 'all', test: true }))).content.id
  await post(central, '/v2/contents', bulletin({ title: 'Thử nghiệm loa phường', targets: [], communes: ['26740'], test: true }))
  await post(hcm, `/v2/contents/${drill}/acks`, { receivedAt: new Date().toISOString() })
  const logged = await post(hcm, '/v2/provinces/79/broadcast-logs', { entries: [
    play('wired-1', ago(0, 1), 20, { contentId: drill }), play('ip-1', ago(2, 2), 15, { contentId: drill }), play('ip-1', ago(20, 2), 45, { contentId: drill }),
  ] })
  t.equal(logged.accepted, 3, 'plays of an exercise on air are recorded')
  const summary = (await get(central, '/v2/summaries/national')).json()
  const row = (of: typeof summary, code: string) => of.provinces.find((p: { province: string }) => p.province === code)

  t.same(row(summary, '79').content, { items: 1, delivered: 0, acknowledged: 0, played: 1 }, 'the real item alone')
  t.same(row(summary, '79').broadcast, { hoursLast7Days: 0.5, hoursLast30Days: 1.5 }, 'the real item\'s half hour and the local hour, no exercise')
  t.same(row(summary, '79').exercises, { items: 2, delivered: 1, acknowledged: 1, played: 1, playsLast30Days: 3, hoursLast7Days: 0.58, hoursLast30Days: 1.33 },
    'two exercises for the province, one acknowledged and played; 35 minutes of it in the last 7 days, 80 in the last 30')
  t.same(row(summary, '48').exercises, { items: 1, delivered: 0, acknowledged: 0, played: 0, playsLast30Days: 0, hoursLast7Days: 0, hoursLast30Days: 0 })
  t.same(summary.total.exercises, { items: 35, delivered: 1, acknowledged: 1, played: 1, playsLast30Days: 3, hoursLast7Days: 0.58, hoursLast30Days: 1.33 }, 'the exercise to all in 34 provinces, the one for a commune in one')
  for (const section of ['content', 'broadcast'] as const) {
    t.same(summary.total[section], without.total[section], `national ${section} figures unchanged by the exercises`)
    t.same(summary.provinces.map((p: Record<string, unknown>) => p[section]), without.provinces.map((p: Record<string, unknown>) => p[section]), `every province's ${section} figures unchanged`)
  }
  t.same((await get(hcm, '/v2/summaries/provinces/79')).json().province.exercises, row(summary, '79').exercises, 'the provincial summary counts them alike')

  const reach = (await get(central, `/v2/contents/${drill}/reach`)).json()
  t.match(reach, { test: true, plays: 3, stationsPlayed: 2 }, 'the reach of an exercise says so')
  t.equal((await get(central, `/v2/contents/${real}/reach`)).json().test, false)
  const trends = (await get(hcm, '/v2/provinces/79/trends?days=30')).json().days as { contentPlays: number }[]
  t.equal(trends.reduce((n, d) => n + d.contentPlays, 0), 1, 'the trends count the real item\'s play, not the exercise\'s')

  t.match((await send(central, 'PUT', `/v2/contents/${drill}`, bulletin({ targets: 'all' }))).json(), { status: 422, code: 'rule-violated', detail: /is an exercise/ }, 'an exercise stays one')
  t.match((await send(central, 'PUT', `/v2/contents/${real}`, bulletin({ targets: ['79'], test: true }))).json(), { status: 422, detail: /cannot become one/ }, 'and a real item never becomes one')
  t.equal((await send(central, 'PUT', `/v2/contents/${drill}`, bulletin({ targets: 'all', test: true }))).statusCode, 200)
})
