import t, { type Test } from 'tap'
import { calendarPeriods, deadlineOf } from '../../src/modules/reports/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const indicators = (overrides: Record<string, unknown> = {}) => ({
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 2 },
  clusters: { ip: 3, fm: 0, wired: 0 },
  investment: { newStations: 1, clustersReplaced: 0, clustersAddedToVillages: 2 },
  bulletinBoards: 1,
  informationWorkers: { total: 120, trained: 40 },
  bulletins: { produced: 300, aired: 320, airtimeHours: 410.5 },
  fundingMillionVnd: { newRuralDevelopment: 1200, sustainablePovertyReduction: 300, localBudget: 450.5, other: 0 },
  ...overrides,
})

/** A date `days` from today, in Vietnam time. */
const vietnamDate = (days: number) => new Date(Date.now() + 7 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10)

async function setup(t: Test) {
  const built = await buildTestApp(t)
  return { ...built, hcm: await registerSystem(built.database, 'province-79'), central: await registerSystem(built.database, 'central-portal') }
}

t.test('deadlines are the end of the due date in Vietnam time', async (t) => {
  t.equal(deadlineOf('2026-06-15').toISOString(), '2026-06-15T17:00:00.000Z')
  t.equal(deadlineOf('2026-12-31').toISOString(), '2026-12-31T17:00:00.000Z')
  t.same(calendarPeriods(2026).map((p) => [p.id, p.asOf, p.dueOn, p.forms.join('+')]), [
    ['2026-H1', '2026-05-30', '2026-06-15', 'indicators'],
    ['2026-RADIO', null, '2026-11-15', 'appendix-02+appendix-03'],
    ['2026-Y', '2026-11-30', '2026-12-15', 'indicators'],
  ])
})

t.test('the yearly calendar, and extra periods opened by central', async (t) => {
  const { app, hcm, central } = await setup(t)
  const periods = await signedInject(app, hcm, { method: 'GET', url: '/v2/report-periods?year=2027' })
  t.same(periods.json().items.map((p: { id: string, deadline: string }) => [p.id, p.deadline]), [
    ['2027-H1', '2027-06-15T17:00:00.000Z'], ['2027-RADIO', '2027-11-15T17:00:00.000Z'], ['2027-Y', '2027-12-15T17:00:00.000Z'],
  ])
  const extra = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: '2027-Q3', title: 'Số liệu quý III', asOf: '2027-09-30', dueOn: '2027-10-10', forms: ['indicators'] } })
  t.equal(extra.statusCode, 201)
  t.match(extra.json(), { id: '2027-Q3', kind: 'extra', year: 2027, deadline: '2027-10-10T17:00:00.000Z' })
  t.equal((await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: '2027-Q3', title: 'x', dueOn: '2027-10-10', forms: ['indicators'] } })).statusCode, 409)
  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/report-periods', body: { id: '2027-Q4', title: 'x', dueOn: '2027-10-10', forms: ['indicators'] } })).statusCode, 403)
})

t.test('on time until the end of the due date in UTC+7, late after; late ones are accepted and marked', async (t) => {
  const { app, hcm, central } = await setup(t)
  for (const [id, dueOn] of [['DUE-TODAY', vietnamDate(0)], ['DUE-YESTERDAY', vietnamDate(-1)]]) {
    await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id, title: id, dueOn: dueOn!, forms: ['indicators'] } })
  }
  const onTime = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/DUE-TODAY/indicators', body: indicators() })
  t.equal(onTime.statusCode, 201)
  t.match(onTime.json(), { submission: { version: 1, onTime: true, state: 'submitted' }, receipt: { jws: String } })
  const late = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/DUE-YESTERDAY/indicators', body: indicators() })
  t.equal(late.statusCode, 201)
  t.equal(late.json().submission.onTime, false)

  const status = await signedInject(app, central, { method: 'GET', url: '/v2/report-periods/DUE-YESTERDAY/status' })
  const byProvince = Object.fromEntries(status.json().provinces.map((p: { province: string, forms: { status: string }[] }) => [p.province, p.forms[0]!.status]))
  t.equal(byProvince['79'], 'late')
  t.equal(byProvince['01'], 'missing')
  t.equal(Object.keys(byProvince).length, 34)
})

t.test('versions: each submission is kept, the latest counts; central accepts or returns it', async (t) => {
  const { app, hcm, central } = await setup(t)
  await signedInject(app, hcm, { method: 'GET', url: '/v2/report-periods?year=2030' })
  const url = '/v2/provinces/79/reports/2030-H1/indicators'
  await signedInject(app, hcm, { method: 'PUT', url, body: indicators() })
  const second = await signedInject(app, hcm, { method: 'PUT', url, body: indicators({ bulletinBoards: 2 }) })
  t.equal(second.json().submission.version, 2)

  const stale = await signedInject(app, central, { method: 'POST', url: `${url}/versions/1/review`, body: { decision: 'accept' } })
  t.equal(stale.statusCode, 409, 'only the latest version is decided on')
  const noComment = await signedInject(app, central, { method: 'POST', url: `${url}/versions/2/review`, body: { decision: 'return' } })
  t.equal(noComment.statusCode, 422)
  const returned = await signedInject(app, central, { method: 'POST', url: `${url}/versions/2/review`, body: { decision: 'return', comment: 'Số cụm loa chưa khớp với hệ thống.' } })
  t.match(returned.json(), { version: 2, state: 'returned', reviewComment: 'Số cụm loa chưa khớp với hệ thống.', reviewedAt: String })

  const seen = await signedInject(app, hcm, { method: 'GET', url })
  t.match(seen.json().latest, { version: 2, state: 'returned', reviewComment: /chưa khớp/ }, 'the province sees the decision')
  t.same(seen.json().versions.map((v: { version: number }) => v.version), [2, 1])
  t.equal(seen.json().versions[0].data.bulletinBoards, 2)

  const third = await signedInject(app, hcm, { method: 'PUT', url, body: indicators() })
  const accepted = await signedInject(app, central, { method: 'POST', url: `${url}/versions/${third.json().submission.version}/review`, body: { decision: 'accept' } })
  t.equal(accepted.json().state, 'accepted')
  const status = await signedInject(app, central, { method: 'GET', url: '/v2/report-periods/2030-H1/status' })
  t.match(status.json().provinces.find((p: { province: string }) => p.province === '79'), { forms: [{ form: 'indicators', status: 'accepted', version: 3 }] })
  t.equal((await signedInject(app, central, { method: 'POST', url: `${url}/versions/9/review`, body: { decision: 'accept' } })).statusCode, 404)
})

t.test('a submission is compared with the registry, device status and broadcast logs; differences are warnings', async (t) => {
  const { app, hcm, central } = await setup(t)
  await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry',
    body: {
      stations: [{ id: 's1', communeCode: '26740', name: 'A', kind: 'ip', status: 'operating' }, { id: 's2', communeCode: '26740', name: 'B', kind: 'ip', status: 'operating' }, { id: 's3', communeCode: '26743', name: 'C', kind: 'wired', status: 'decommissioned' }],
      clusters: [{ id: 'c1', stationId: 's1', kind: 'ip', status: 'operating' }, { id: 'c2', stationId: 's1', kind: 'ip', status: 'operating' }, { id: 'c3', stationId: 's2', kind: 'fm', status: 'operating' }],
      boards: [{ id: 'b1', communeCode: '26740', placement: 'outdoor', status: 'operating' }],
    },
  })
  const now = new Date()
  await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/status-events', body: { events: [{ deviceType: 'station', deviceId: 's1', state: 'online', observedAt: now.toISOString() }] } })
  const twoHoursAgo = new Date(now.getTime() - 2 * 3_600_000)
  await signedInject(app, hcm, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries: [{ stationId: 's1', localRef: 'ban-tin', startedAt: twoHoursAgo.toISOString(), endedAt: now.toISOString(), source: 'province' }] } })
  // A period of this year whose data run to today, so today's logs fall inside it.
  const today = vietnamDate(0)
  const opened = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: 'CHECK', title: 'Kiểm tra', asOf: today, dueOn: `${today.slice(0, 4)}-12-31`, forms: ['indicators'] } })
  t.equal(opened.statusCode, 201)
  const response = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/reports/CHECK/indicators',
    body: indicators({ informationWorkers: { total: 10, trained: 12 }, bulletins: { produced: 3, aired: 3, airtimeHours: 1.5 } }),
  })
  t.equal(response.statusCode, 201)
  t.same(response.json().submission.warnings.map((w: { pointer: string, reported: number, observed: number }) => [w.pointer, w.reported, w.observed]), [
    ['/clusters/ip', 3, 2],
    ['/clusters/fm', 0, 1],
    ['/informationWorkers/trained', 12, 10],
    ['/stations/ip', 2, 1],
    ['/bulletins/airtimeHours', 1.5, 2],
  ])
  t.match(response.json().submission.warnings.at(-1).message, /broadcast logs record 2 hours/)
})

t.test('forms are checked: the wrong form for a period, unknown fields, negative figures', async (t) => {
  const { app, hcm } = await setup(t)
  await signedInject(app, hcm, { method: 'GET', url: '/v2/report-periods?year=2032' })
  const wrongForm = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-H1/appendix-02', body: { newStations: { communes: 1, stations: 1, clusters: 1 }, replacement: { communes: 0, stations: 0, clusters: 0 }, extension: { communes: 0, stations: 0, clusters: 0, villages: 0 } } })
  t.equal(wrongForm.statusCode, 422)
  const appendix = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-RADIO/appendix-03', body: { bySource: [{ source: 'new_rural_development', newStations: 2, clustersReplaced: 5, clustersAdded: 9, amountMillionVnd: 1500 }] } })
  t.equal(appendix.statusCode, 201)
  const negative = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-H1/indicators', body: indicators({ bulletinBoards: -1, colour: 'red' }) })
  t.equal(negative.statusCode, 400)
  t.same(negative.json().errors.map((e: { pointer: string }) => e.pointer).sort(), ['/bulletinBoards', '/colour'])
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/NOPE/indicators', body: indicators() })).statusCode, 404)
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/01/reports/2032-H1/indicators', body: indicators() })).statusCode, 403)
})
