import t, { type Test } from 'tap'
import { verifyReceipt } from '../../src/client/verify.js'
import { calendarPeriods, deadlineOf } from '../../src/modules/reports/periods.js'
import { buildTestApp } from '../helpers/app.js'
import { hcmIndicators as indicators } from '../helpers/reports.js'
import { registerSystem, signedInject } from '../helpers/systems.js'


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
    ['2026-H1', '2026-05-30', '2026-06-15', 'indicators+feedback'],
    ['2026-RADIO', null, '2026-11-15', 'appendix-02+appendix-03'],
    ['2026-Y', '2026-11-30', '2026-12-15', 'indicators+feedback'],
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
  t.match(extra.json(), { period: { id: '2027-Q3', kind: 'extra', year: 2027, deadline: '2027-10-10T17:00:00.000Z', extensions: [], customForms: [] }, receipt: { jws: String } })
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
  t.match(returned.json().submission, { version: 2, state: 'returned', reviewComment: 'Số cụm loa chưa khớp với hệ thống.', reviewedAt: String })
  const receipt = await verifyReceipt(returned.json().receipt.jws, app.deps.serviceKeys.jwks, 'ttn-central')
  t.match(receipt, { jti: returned.json().receipt.id, req: { htm: 'POST', htu: `${url}/versions/2/review` }, res: { status: 200, records: [{ entity: 'report', province: '79', periodId: '2030-H1', form: 'indicators', version: 2, state: 'returned' }] } },
    'a decision answers with its signed receipt')

  const seen = await signedInject(app, hcm, { method: 'GET', url })
  t.match(seen.json().latest, { version: 2, state: 'returned', reviewComment: /chưa khớp/ }, 'the province sees the decision')
  t.same(seen.json().versions.map((v: { version: number }) => v.version), [2, 1])
  t.equal(seen.json().versions[0].data.bulletinBoards, 2)

  const third = await signedInject(app, hcm, { method: 'PUT', url, body: indicators() })
  const accepted = await signedInject(app, central, { method: 'POST', url: `${url}/versions/${third.json().submission.version}/review`, body: { decision: 'accept' } })
  t.equal(accepted.json().submission.state, 'accepted')
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
  const line03 = { communeCode: '26740', fundingSource: 'new_rural_development', newStations: 2, clustersReplaced: 5, clustersAdded: 9, amountMillionVnd: 1500 }
  const wrongForm = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-H1/appendix-03', body: { lines: [line03] } })
  t.equal(wrongForm.statusCode, 422)
  const appendix = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-RADIO/appendix-03', body: { lines: [line03] } })
  t.equal(appendix.statusCode, 201)
  const negative = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2032-H1/indicators', body: indicators({ bulletinBoards: -1, colour: 'red' }) })
  t.equal(negative.statusCode, 400)
  t.same(negative.json().errors.map((e: { pointer: string }) => e.pointer).sort(), ['/bulletinBoards', '/colour'])
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/NOPE/indicators', body: indicators() })).statusCode, 404)
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/01/reports/2032-H1/indicators', body: indicators() })).statusCode, 403)
})

t.test('central corrects a period and extends one province\'s deadline, with reasons; submissions are judged again', async (t) => {
  const { app, database, hcm, central } = await setup(t)
  const hanoi = await registerSystem(database, 'province-01')
  await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: 'LATE-ALL', title: 'Báo cáo', dueOn: vietnamDate(-3), forms: ['indicators'] } })
  const late = (await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/LATE-ALL/indicators', body: indicators() })).json()
  t.equal(late.submission.onTime, false)
  t.equal((await signedInject(app, hanoi, { method: 'PUT', url: '/v2/provinces/01/reports/LATE-ALL/indicators', body: indicators() })).json().submission.onTime, false)

  const extension = await signedInject(app, central, {
    method: 'POST', url: '/v2/report-periods/LATE-ALL/extensions', body: { province: '79', dueOn: vietnamDate(2), reason: 'Bão số 5 làm gián đoạn hệ thống' },
  })
  t.equal(extension.statusCode, 200, extension.body)
  t.match(extension.json(), { period: { extensions: [{ province: '79', dueOn: vietnamDate(2), reason: 'Bão số 5 làm gián đoạn hệ thống', grantedBy: 'central-portal' }] }, receipt: { jws: String } })
  const history = (await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/reports/LATE-ALL/indicators' })).json()
  t.equal(history.latest.onTime, true, 'the submission already made is on time under the extension')
  const again = (await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/LATE-ALL/indicators', body: indicators() })).json()
  t.equal(again.submission.onTime, true, 'and so is a new one')
  const status = (await signedInject(app, central, { method: 'GET', url: '/v2/report-periods/LATE-ALL/status' })).json()
  t.match(status.provinces.find((p: { province: string }) => p.province === '01').forms, [{ status: 'late' }], 'another province is still late')
  t.match(status.provinces.find((p: { province: string }) => p.province === '79').forms, [{ status: 'submitted' }])

  const earlier = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods/LATE-ALL/extensions', body: { province: '79', dueOn: vietnamDate(-5), reason: 'an extension that shortens' } })
  t.equal(earlier.statusCode, 422)
  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/report-periods/LATE-ALL/extensions', body: { province: '79', dueOn: vietnamDate(9), reason: 'I give myself time' } })).statusCode, 403)

  const corrected = await signedInject(app, central, { method: 'PATCH', url: '/v2/report-periods/LATE-ALL', body: { dueOn: vietnamDate(1), reason: 'Hạn ghi nhầm trong công văn' } })
  t.equal(corrected.statusCode, 200)
  t.match(corrected.json().period, { dueOn: vietnamDate(1), correctionReason: 'Hạn ghi nhầm trong công văn', correctedAt: String })
  const after = (await signedInject(app, central, { method: 'GET', url: '/v2/report-periods/LATE-ALL/status' })).json()
  t.match(after.provinces.find((p: { province: string }) => p.province === '01').forms, [{ status: 'submitted' }], 'judged again against the corrected date')
  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/report-periods/LATE-ALL', body: { reason: 'nothing else' } })).statusCode, 400, 'a correction changes something')
})

t.test('an extra period with a form central defines as a schema, checked like the built-in ones', async (t) => {
  const { app, hcm, central } = await setup(t)
  const schema = { type: 'object', required: ['clustersDamaged'], properties: { clustersDamaged: { type: 'integer', minimum: 0 }, notes: { type: 'string', maxLength: 200 } } }
  const opened = await signedInject(app, central, {
    method: 'POST', url: '/v2/report-periods',
    body: { id: 'STORM-5', title: 'Thiệt hại do bão số 5', dueOn: vietnamDate(5), forms: ['storm-damage'], customForms: [{ name: 'storm-damage', title: 'Thiệt hại cụm loa', schema }] },
  })
  t.equal(opened.statusCode, 201, opened.body)
  const url = '/v2/provinces/79/reports/STORM-5/forms/storm-damage'
  const good = await signedInject(app, hcm, { method: 'PUT', url, body: { clustersDamaged: 12 }, sign: { actor: { id: 'cb-0042', name: 'Nguyễn Văn An', draftedBy: { id: 'cb-0107', name: 'Trần Thị Bình' } } } })
  t.equal(good.statusCode, 201, good.body)
  t.match(good.json().submission, { form: 'storm-damage', version: 1, onTime: true, approvedBy: { id: 'cb-0042', name: 'Nguyễn Văn An' }, draftedBy: { id: 'cb-0107', name: 'Trần Thị Bình' } })
  const receipt = JSON.parse(Buffer.from(good.json().receipt.jws.split('.')[1], 'base64url').toString())
  t.match(receipt.req.act, { id: 'cb-0042', draftedBy: { id: 'cb-0107' } }, 'the receipt names who acted')
  for (const [body, pointer] of [[{ clustersDamaged: -1 }, '/clustersDamaged'], [{}, '/clustersDamaged'], [{ clustersDamaged: 1, extra: true }, '/extra'], [{ clustersDamaged: '3' }, '/clustersDamaged']] as const) {
    const refused = await signedInject(app, hcm, { method: 'PUT', url, body })
    t.equal(refused.statusCode, 400, JSON.stringify(body))
    t.equal(refused.json().errors[0].pointer, pointer)
  }
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/STORM-5/forms/other', body: {} })).statusCode, 422, 'a form the period does not take')
  const reviewed = await signedInject(app, central, { method: 'POST', url: `${url}/versions/1/review`, body: { decision: 'accept' }, sign: { actor: { id: 'tw-7', name: 'Lê Văn Cường' } } })
  t.match(reviewed.json(), { submission: { state: 'accepted', reviewedBy: { id: 'tw-7', name: 'Lê Văn Cường' } }, receipt: { jws: String } })
  t.equal((await signedInject(app, central, { method: 'GET', url })).statusCode, 200)

  for (const [customForms, forms, detail] of [
    [[{ name: 'indicators', title: 'x', schema }], ['indicators'], /built-in/],
    [[{ name: 'bad', title: 'x', schema: { type: 'array' } }], ['bad'], /must describe an object/],
    [[{ name: 'bad', title: 'x', schema: { type: 'object', properties: { a: { type: 'nonsense' } } } }], ['bad'], /does not compile/],
    [[{ name: 'bad', title: 'x', schema: { type: 'object', $ref: 'https://example.org/schema.json' } }], ['bad'], /does not compile/],
    [[], ['missing'], /neither built in nor in customForms/],
  ] as const) {
    const refused = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: `X-${String(Math.random()).slice(2, 8)}`, title: 'x', dueOn: vietnamDate(5), forms, customForms } })
    t.equal(refused.statusCode, 422, JSON.stringify(customForms).slice(0, 80))
    t.match(refused.json().detail, detail)
  }
})

t.test('an act claim that is not an official\'s id and name is a malformed token', async (t) => {
  const { app, hcm } = await setup(t)
  const { signCall } = await import('../../src/client/sign.js')
  for (const act of [{ name: 'no id' }, { sub: 42 }, { sub: 'a', act: { sub: 'b', act: { sub: 'c' } } }, 'cb-1', { sub: 'x'.repeat(65) }]) {
    const { SignJWT } = await import('jose')
    const token = await new SignJWT({ htm: 'GET', htu: '/v2/report-periods', bsh: (await import('../../src/client/sign.js')).bodyHash(undefined), act })
      .setProtectedHeader({ alg: hcm.key.alg, kid: hcm.key.kid, typ: 'ttn-call+jwt' }).setIssuer(hcm.id).setAudience('ttn-central').setIssuedAt().setExpirationTime('1m').setJti(String(Math.random())).sign(hcm.key.key)
    const response = await app.inject({ method: 'GET', url: '/v2/report-periods', headers: { authorization: `Bearer ${token}` } })
    t.equal(response.json().code, 'token-malformed', JSON.stringify(act))
  }
  const ok = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'GET', pathAndQuery: '/v2/report-periods', actor: { id: 'cb-1' } })
  t.equal((await app.inject({ method: 'GET', url: '/v2/report-periods', headers: { authorization: `Bearer ${ok}` } })).statusCode, 200)
})

t.test('citizen feedback per commune, by channel and topic; its rules named; the summary shows the share answered', async (t) => {
  const { app, hcm, central } = await setup(t)
  await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: 'FB-1', title: 'Phản ánh', dueOn: vietnamDate(3), forms: ['feedback'] } })
  const url = '/v2/provinces/79/reports/FB-1/feedback'
  const form = {
    communes: [
      { communeCode: '26740', byChannel: [{ channel: 'hotline', received: 12, answered: 11 }, { channel: 'portal', received: 5, answered: 5 }], byTopic: [{ topic: 'environment', received: 9, answered: 8 }, { topic: 'land', received: 8, answered: 8 }], averageHoursToAnswer: 30.5 },
      { communeCode: '26743', byChannel: [{ channel: 'in_person', received: 3, answered: 0 }], byTopic: [], averageHoursToAnswer: null },
    ],
  }
  const stored = await signedInject(app, hcm, { method: 'PUT', url, body: form })
  t.equal(stored.statusCode, 201, stored.body)
  const summary = (await signedInject(app, central, { method: 'GET', url: '/v2/summaries/provinces/79?periodId=FB-1' })).json()
  t.same(summary.province.feedback, { received: 20, answered: 16, answeredShare: 0.8 })
  t.equal(summary.province.reports.feedback, 'submitted')

  const bad = {
    communes: [
      { communeCode: '00004', byChannel: [{ channel: 'hotline', received: 1, answered: 2 }], byTopic: [], averageHoursToAnswer: 1 },
      { communeCode: '26740', byChannel: [{ channel: 'hotline', received: 4, answered: 1 }, { channel: 'hotline', received: 1, answered: 1 }], byTopic: [{ topic: 'land', received: 2, answered: 1 }], averageHoursToAnswer: 2 },
      { communeCode: '26740', byChannel: [{ channel: 'radio', received: 1, answered: 1 }], byTopic: [], averageHoursToAnswer: 2 },
    ],
  }
  const refused = await signedInject(app, hcm, { method: 'PUT', url, body: bad })
  t.equal(refused.statusCode, 422)
  t.same(refused.json().errors.map((e: { pointer: string }) => e.pointer), [
    '/communes/0/communeCode', '/communes/0/byChannel/0/answered', '/communes/1/byChannel/1/channel', '/communes/1/byTopic', '/communes/2/communeCode',
  ])
})

t.test('a draft of Phụ lục 03 for a province whose registry holds no funded programme has no lines, and says so in its schema', async (t) => {
  const { app, hcm } = await setup(t)
  await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry',
    body: { stations: [{ id: 'd1', communeCode: '26740', name: 'Đài Sài Gòn', kind: 'ip', status: 'operating' }] },
  })
  const draft = await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/reports/2033-RADIO/appendix-03/draft' })
  t.equal(draft.statusCode, 200, draft.body)
  t.same(draft.json().form, { lines: [] })
  t.match(draft.json().derived, { communes: 0, bySource: [], total: { newStations: 0, clustersReplaced: 0, clustersAdded: 0, amountMillionVnd: 0 } })
  const submitted = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2033-RADIO/appendix-03', body: draft.json().form })
  t.equal(submitted.statusCode, 400, 'a submission needs at least one line')
})

t.test('Phụ lục 02 and 03: a draft built from the registry, lines per commune, totals derived, each line checked against the registry', async (t) => {
  const { app, hcm, central } = await setup(t)
  await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry',
    body: {
      stations: [
        { id: 'd1', communeCode: '26740', name: 'Đài Sài Gòn', kind: 'ip', status: 'operating', programme: 'new_station', fundingSource: 'new_rural_development' },
        { id: 'd2', communeCode: '26743', name: 'Đài Bến Thành', kind: 'wired_fm', status: 'degraded' },
      ],
      clusters: [
        { id: 'old-1', stationId: 'd2', kind: 'fm', status: 'out_of_service' },
        { id: 'new-1', stationId: 'd2', kind: 'ip', status: 'operating', programme: 'replacement', fundingSource: 'local_budget', replaces: ['old-1'] },
        { id: 'ext-1', stationId: 'd1', kind: 'ip', status: 'operating', programme: 'extension', fundingSource: 'new_rural_development', villagesCovered: ['Khu phố 3', 'Khu phố 4'] },
      ],
    },
  })
  const draft02 = (await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/reports/2033-RADIO/appendix-02/draft' })).json()
  const stationLines = draft02.form.lines.filter((l: { stationId: string | null }) => l.stationId)
  t.same(stationLines, [
    { communeCode: '26740', stationId: 'd1', stationKind: 'ip', programme: 'new_station', fundingSource: 'new_rural_development', clusters: { ip: 1, fm: 0, wired: 0 }, clustersReplaced: 0, villagesCovered: 2, status: 'operating' },
    { communeCode: '26743', stationId: 'd2', stationKind: 'wired_fm', programme: null, fundingSource: null, clusters: { ip: 1, fm: 1, wired: 0 }, clustersReplaced: 1, villagesCovered: 0, status: 'degraded' },
  ])
  t.equal(draft02.form.lines.length, 168, 'a line for every commune of the province: 2 with stations, 166 without')
  t.match(draft02.derived, { communes: 168, communesWithoutStation: 166, stations: 2, stationsByKind: { ip: 1, wiredFm: 1 }, clusters: { ip: 2, fm: 1, wired: 0 }, newStations: 1, clustersReplaced: 1, villagesCovered: 2 })

  // The province corrects one figure before submitting: that line comes back with a warning.
  const corrected = structuredClone(draft02.form)
  corrected.lines.find((l: { stationId: string | null }) => l.stationId === 'd1').clusters.ip = 3
  const submitted = (await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2033-RADIO/appendix-02', body: corrected })).json()
  t.match(submitted.submission.derived, { stations: 2, clusters: { ip: 4 } }, 'totals derived from the lines as submitted')
  t.same(submitted.submission.warnings.map((w: { pointer: string, reported: number, observed: number }) => [w.pointer, w.reported, w.observed]),
    [[`/lines/${corrected.lines.findIndex((l: { stationId: string | null }) => l.stationId === 'd1')}/clusters/ip`, 3, 1]])

  const draft03 = (await signedInject(app, central, { method: 'GET', url: '/v2/provinces/79/reports/2033-RADIO/appendix-03/draft' })).json()
  t.same(draft03.form.lines, [
    { communeCode: '26740', fundingSource: 'new_rural_development', newStations: 1, clustersReplaced: 0, clustersAdded: 1, amountMillionVnd: 0 },
    { communeCode: '26743', fundingSource: 'local_budget', newStations: 0, clustersReplaced: 1, clustersAdded: 0, amountMillionVnd: 0 },
  ])
  const withMoney = { lines: draft03.form.lines.map((l: Record<string, unknown>, i: number) => ({ ...l, amountMillionVnd: [850.5, 120][i] })) }
  const stored03 = (await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2033-RADIO/appendix-03', body: withMoney })).json()
  t.same(stored03.submission.warnings, [])
  t.match(stored03.submission.derived, { total: { newStations: 1, clustersReplaced: 1, clustersAdded: 1, amountMillionVnd: 970.5 }, bySource: [{ source: 'local_budget', amountMillionVnd: 120 }, { source: 'new_rural_development', amountMillionVnd: 850.5 }] })

  const twice = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/reports/2033-RADIO/appendix-03', body: { lines: [withMoney.lines[0], withMoney.lines[0], { ...withMoney.lines[1], communeCode: '00004' }] } })
  t.equal(twice.statusCode, 422)
  t.same(twice.json().errors.map((e: { pointer: string }) => e.pointer), ['/lines/1', '/lines/2/communeCode'])
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/reports/2033-H1/appendix-02/draft' })).statusCode, 422, 'a period that does not take the form')
})
