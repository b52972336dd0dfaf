import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { cliCaller } from '../helpers/cli-caller.js'
import { signedInject } from '../helpers/systems.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-reports-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const { app, database } = await buildTestApp(t)
const address = await app.listen({ port: 0, host: '127.0.0.1' })

const central = await cliCaller(database, dir, address, 'central-portal')
const hcm = await cliCaller(database, dir, address, 'province-79')

const indicators = {
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 2 },
  clusters: { ip: 3, fm: 0, wired: 0 },
  investment: { newStations: 1, clustersReplaced: 0, clustersAddedToVillages: 2 },
  bulletinBoards: 1,
  informationWorkers: { total: 120, trained: 40 },
  bulletins: { produced: 300, aired: 320, airtimeHours: 410.5 },
  fundingMillionVnd: { newRuralDevelopment: 1200, sustainablePovertyReduction: 300, localBudget: 450.5, other: 0 },
}

t.test('ttn period list and status, and ttn report review accepting or returning the latest version', async (t) => {
  const opened = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: '2030-Q1', title: 'Số liệu quý I', dueOn: '2030-04-10', forms: ['indicators'] } })
  t.equal(opened.statusCode, 201, opened.body)
  const listed = await ttn(['period', 'list', '--year', '2030', '--json'], central.env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout), [{ id: '2030-Q1', dueOn: '2030-04-10', forms: ['indicators'] }])
  t.match((await ttn(['period', 'list', '--year', '2030'], central.env)).stdout, /^period\s+kind\s+due on\s+forms\s+title\n2030-Q1\s+extra\s+2030-04-10\s+indicators\s+Số liệu quý I\n2030-H1\s+six_month\s/)

  const nothing = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--accept'], central.env)
  t.equal(nothing.code, 1)
  t.match(nothing.stderr, 'ttn: province 79 has submitted no indicators for 2030-Q1')

  const url = '/v2/provinces/79/reports/2030-Q1/indicators'
  t.equal((await signedInject(app, hcm, { method: 'PUT', url, body: indicators })).statusCode, 201)
  const returned = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--return', '--comment', 'Thiếu số liệu kinh phí'], central.env)
  t.equal(returned.code, 0, returned.stderr)
  t.equal(returned.stdout, 'version 1 of indicators of province 79 for 2030-Q1 returned\n')
  t.equal((await signedInject(app, hcm, { method: 'PUT', url, body: indicators })).statusCode, 201)
  const accepted = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--accept'], central.env)
  t.equal(accepted.code, 0, accepted.stderr)
  t.equal(accepted.stdout, 'version 2 of indicators of province 79 for 2030-Q1 accepted\n')
  const neither = await ttn(['report', 'review', '2030-Q1', '79', 'indicators'], central.env)
  t.equal(neither.code, 1)
  t.match(neither.stderr, 'say --accept or --return')

  const status = await ttn(['period', 'status', '2030-Q1'], central.env)
  t.equal(status.code, 0, status.stderr)
  const lines = status.stdout.trim().split('\n')
  t.equal(lines[0], '2030-Q1 Số liệu quý I, due on 2030-04-10')
  t.match(lines[1], /^province\s+indicators$/)
  t.ok(lines.includes('79        accepted v2'), 'province 79 accepted at version 2')
  t.ok(lines.some((line) => /^01\s+missing$/.test(line)), 'a province that sent nothing is missing')
  const json = JSON.parse((await ttn(['period', 'status', '2030-Q1', '--json'], central.env)).stdout) as { provinces: { province: string }[] }
  t.equal(json.provinces.length, 34)
})
