import t from 'tap'
import { ttn } from '../helpers/cli.js'
import { cliTestbed } from '../helpers/cli-caller.js'
import { hcmIndicators } from '../helpers/reports.js'
import { signedInject } from '../helpers/systems.js'

const { app, central, hcm } = await cliTestbed(t, 'reports')

const indicators = hcmIndicators()

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
