import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Contract } from '../../src/conformance/contract.js'
import { projectPath } from '../../src/paths.js'
import { ttn } from '../helpers/cli.js'
import { prefixGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/service.js'
import { signedInject } from '../helpers/systems.js'
import { CENTRAL, PROVINCE, listen, serviceWithCallers } from '../helpers/conformance.js'

t.test('the kit passes against our own service, every operation with a success answer, with over 1,000 generated requests', async (t) => {
  const service = await serviceWithCallers(t)
  const url = await listen(service.app)
  const junitFile = join(service.folder, 'conformance.xml')
  const htmlFile = join(service.folder, 'conformance.html')
  const started = Date.now()
  const result = await ttn([
    'conformance', '--target', url, '--system-id', PROVINCE, '--key', service.province.keyFile,
    '--central-system-id', CENTRAL, '--central-key', service.central.keyFile, '--seed', '20261201', '--runs', '3', '--junit', junitFile, '--html', htmlFile,
  ])
  const seconds = (Date.now() - started) / 1000
  t.equal(result.code, 0, result.stdout + result.stderr)
  const [, passed, failed, requests] = /(\d+) passed, (\d+) failed; (\d+) requests/.exec(result.stdout) ?? []
  t.equal(Number(failed), 0, 'no check failed')
  t.ok(Number(passed) > 500, `${passed} checks passed`)
  t.ok(Number(requests) >= 1000, `${requests} generated requests in ${seconds.toFixed(1)} s`)
  const contract = await Contract.read(projectPath('openapi', 'openapi.json'))
  const withoutSuccess = contract.operations.map((o) => o.id).filter((id) => new RegExp(`FAIL success ${id}:`).test(result.stdout))
  t.same(withoutSuccess, [], 'every operation of the contract got a success answer whose body matched its schema')
  t.match(result.stdout, new RegExp(`pass success: ${contract.operations.length} operations passed`))
  t.match(result.stdout, new RegExp(`pass headers: ${contract.operations.length} operations passed`))
  t.match(result.stdout, /pass receipt: \d+ operations passed/)
  t.match(result.stderr, /ttn conformance: scenario \d+\/\d+, \d+ requests, 0 failing checks/, 'progress on standard error')
  t.match(result.stderr, /ttn conformance: operations \d+\/\d+/)
  t.match(result.stdout, /pass token:replayed: \d+ operations passed/)
  t.match(result.stdout, /pass invalid-body:unknown-field/)
  const junit = await readFile(junitFile, 'utf8')
  t.match(junit, /<testsuites [^>]*failures="0"/)
  t.match(junit, /<testcase classname="token:alg-none" name="listSystems"/)
  t.match(junit, /<testcase classname="success" name="publishContent"/)
  const html = await readFile(htmlFile, 'utf8')
  t.match(html, /<td>20261201 \(repeat with <code>--seed 20261201<\/code>\)<\/td>/)
  t.match(html, new RegExp(`version ${contract.document.info!.version}`))
  t.match(html, /<summary class="pass">publishContent: pass<\/summary>/)
  t.match(html, /<tr class="pass"><td>receipt<\/td><td>pass<\/td>/)
})

t.test('a --target with a path, a gateway prefix: every path is sent and signed under it', async (t) => {
  const service = await serviceWithCallers(t, { env: { PUBLIC_BASE_PATH: '/ttn' } })
  const url = await prefixGateway(t, await listen(service.app), '/ttn')
  const result = await ttn([
    'conformance', '--target', `${url}/`, '--system-id', PROVINCE, '--key', service.province.keyFile, '--central-system-id', CENTRAL,
    '--central-key', service.central.keyFile, '--seed', '7', '--runs', '1', '--operation', 'getSystem,pushStations,publishContent',
  ])
  t.equal(result.code, 0, result.stdout + result.stderr)
  t.match(result.stdout, /pass success: \d+ operations passed/)
  t.match(result.stdout, / 0 failed; /)
  t.match(result.stdout, /pass receipt: \d+ operations passed/, 'receipts attest the prefixed path the kit signed')
  t.match(result.stdout, /pass token:wrong-path: 3 operations passed/)
})

t.test('a target that cannot be reached stops the run at once with one line', async (t) => {
  const service = await serviceWithCallers(t)
  const url = `http://127.0.0.1:${await freePort()}`
  const result = await ttn(['conformance', '--target', url, '--system-id', PROVINCE, '--key', service.province.keyFile])
  t.equal(result.code, 2)
  t.equal(result.stderr, `ttn conformance: cannot reach ${url}: ECONNREFUSED\n`)
  t.equal(result.stdout, '')
})

t.test('--cleanup deletes the records and withdraws the content the run made', async (t) => {
  const service = await serviceWithCallers(t)
  const url = await listen(service.app)
  const result = await ttn([
    'conformance', '--target', url, '--system-id', PROVINCE, '--key', service.province.keyFile, '--central-system-id', CENTRAL,
    '--central-key', service.central.keyFile, '--seed', '5', '--runs', '3', '--operation', 'pushStations,pushBoards,publishContent', '--cleanup',
  ])
  t.equal(result.code, 0, result.stdout + result.stderr)
  const [, undone, of] = /clean-up: (\d+) of (\d+) writes undone/.exec(result.stdout) ?? []
  t.ok(Number(of) > 3, `${of} writes to undo`)
  t.equal(undone, of)
  const province = { id: PROVINCE, key: service.province.key }
  const central = { id: CENTRAL, key: service.central.key }
  t.same((await signedInject(service.app, province, { method: 'GET', url: '/v2/provinces/79/stations' })).json().items, [], 'no station left')
  t.same((await signedInject(service.app, province, { method: 'GET', url: '/v2/provinces/79/boards' })).json().items, [], 'no board left')
  const contents = (await signedInject(service.app, central, { method: 'GET', url: '/v2/contents' })).json().items as { status: string }[]
  t.ok(contents.length > 0 && contents.every((item) => item.status === 'withdrawn'), 'every item withdrawn')
})
