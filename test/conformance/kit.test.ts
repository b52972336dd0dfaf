import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { signCall } from '../../src/client/sign.js'
import { Contract } from '../../src/conformance/contract.js'
import { ApiConformance } from '../../src/conformance/runner.js'
import { projectPath } from '../../src/paths.js'
import type { PublicJwk } from '../../schemas/trust.js'
import type { App } from '../../src/app-type.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import type { Teardown } from '../helpers/database.js'
import { ttn } from '../helpers/cli.js'
import { registerSystem } from '../helpers/systems.js'

const PROVINCE = 'province-79'
const CENTRAL = 'central-conformance'
// The kit sends thousands of calls, many deliberately unsigned or forged, from one address.
const env = { RATE_LIMIT_PER_MINUTE: '1000000', UNVERIFIED_RATE_PER_MINUTE: '1000000' }

/** The service with a provincial and a central system registered, their private keys in files as an integrator has them. */
async function serviceWithCallers(t: Teardown, options: { broken?: (app: App) => void } = {}) {
  const service = await buildTestApp(t, { env, ...options.broken ? { beforeReady: options.broken } : {} })
  const folder = await mkdtemp(join(tmpdir(), 'ttn-conformance-'))
  const callers = await Promise.all([PROVINCE, CENTRAL].map(async (id) => {
    const { privateJwk, publicJwk } = await generateKey()
    await registerSystem(service.database, id, { extra: { jwks: { keys: [publicJwk as PublicJwk] } } })
    const keyFile = join(folder, `${id}.jwk.json`)
    await writeFile(keyFile, JSON.stringify(privateJwk))
    return { systemId: id, keyFile, key: await importSigningKey(privateJwk) }
  }))
  return { ...service, folder, province: callers[0]!, central: callers[1]! }
}

async function listen(app: TestApp['app']): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 })
}

t.test('the kit passes against our own service with over 1,000 generated requests', async (t) => {
  const service = await serviceWithCallers(t)
  const url = await listen(service.app)
  const junitFile = join(service.folder, 'conformance.xml')
  const started = Date.now()
  const result = await ttn([
    'conformance', '--target', url, '--system-id', PROVINCE, '--key', service.province.keyFile,
    '--central-system-id', CENTRAL, '--central-key', service.central.keyFile, '--seed', '20261201', '--junit', junitFile,
  ])
  const seconds = (Date.now() - started) / 1000
  t.equal(result.code, 0, result.stdout + result.stderr)
  const [, passed, failed, requests] = /(\d+) passed, (\d+) failed; (\d+) requests/.exec(result.stdout) ?? []
  t.equal(Number(failed), 0, 'no check failed')
  t.ok(Number(passed) > 500, `${passed} checks passed`)
  t.ok(Number(requests) >= 1000, `${requests} generated requests in ${seconds.toFixed(1)} s`)
  t.match(result.stdout, /pass token:replayed: \d+ operations passed/)
  t.match(result.stdout, /pass invalid-body:unknown-field/)
  const junit = await readFile(junitFile, 'utf8')
  t.match(junit, /<testsuites [^>]*failures="0"/)
  t.match(junit, /<testcase classname="token:alg-none" name="listSystems"/)
})

/** Runs the kit in-process against a variant of the service and returns its summary. */
async function runKit(url: string, service: Awaited<ReturnType<typeof serviceWithCallers>>) {
  const kit = new ApiConformance({
    target: url,
    contract: await Contract.read(projectPath('openapi', 'openapi.json')),
    province: service.province,
    central: service.central,
    audience: service.config.SERVICE_ID,
    seed: 7,
    runs: 2,
  })
  const log = await kit.run()
  return { log, summary: log.summary('variant') }
}

t.test('it fails, naming the check, against a variant that answers 500 on bad input', async (t) => {
  const service = await serviceWithCallers(t, {
    broken: (app) => app.addHook('onSend', async (request, reply, payload) => {
      if (request.routeOptions.url === '/v2/provinces/:code/stations' && request.method === 'PUT' && reply.statusCode === 400) reply.code(500)
      return payload
    }),
  })
  const { log, summary } = await runKit(await listen(service.app), service)
  t.notOk(log.passed)
  t.match(summary, /FAIL invalid-body:unknown-field pushStations: expected a 4xx problem document, got 500/)
  t.match(summary, /FAIL invalid-body:malformed-json pushStations/)
  t.notMatch(summary, /FAIL \S+ (?!pushStations)\w+:/, 'only the broken operation fails')
  t.notMatch(summary, /0 failed;/)
})

t.test('it fails, naming the check, against a variant that ignores the token on one route', async (t) => {
  const service = await serviceWithCallers(t)
  // In front of the service: whatever token a call to GET /v2/systems carries, it is swapped for a valid one.
  const front = http.createServer((request, response) => {
    void (async () => {
      if (request.method === 'GET' && (request.url === '/v2/systems' || request.url?.startsWith('/v2/systems?'))) {
        request.headers.authorization = `Bearer ${await signCall({
          issuer: CENTRAL, audience: service.config.SERVICE_ID, key: service.central.key, method: 'GET', pathAndQuery: request.url!,
        })}`
      }
      service.app.routing(request, response)
    })()
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => front.close(resolve)))
  const { log, summary } = await runKit(`http://127.0.0.1:${(front.address() as AddressInfo).port}`, service)
  t.notOk(log.passed)
  for (const attack of ['token-missing', 'alg-none', 'expired', 'wrong-audience', 'replayed']) {
    t.match(summary, new RegExp(`FAIL token:${attack} listSystems: .*expected 401 or 403, got 200`))
  }
  t.notMatch(summary, /FAIL token:\S+ (?!listSystems)\w+:/, 'only the broken operation fails')
})
