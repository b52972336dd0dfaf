import { Writable } from 'node:stream'
import t from 'tap'
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { ephemeralServiceKeys } from '../../src/auth/service-keys.js'
import { loadConfig } from '../../src/config.js'
import { serveMetrics } from '../../src/observability/metrics.js'
import { testDatabase } from '../helpers/database.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

t.test('metrics and request logs an operator can run on', async (t) => {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({ write(chunk, _encoding, done) { for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line)); done() } })
  const database = await testDatabase(t)
  const app = await buildApp({ config: loadConfig({ OVERLOAD_EVENT_LOOP_DELAY_MS: '0' }), database, serviceKeys: await ephemeralServiceKeys(), logger: pino({ level: 'info' }, sink) })
  t.teardown(() => app.close())
  await app.ready()
  const province = await registerSystem(database, 'province-79')
  const ok = await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79', headers: { 'x-request-id': 'trace-42' } })
  t.equal(ok.statusCode, 200)
  await app.inject({ method: 'GET', url: '/v2/systems/province-79' })

  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'not on the API port')
  const listener = await serveMetrics(app.metrics, '127.0.0.1', 0)
  t.teardown(() => listener.close())
  const response = await fetch(listener.address)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /text\/plain/)
  const metrics = { body: await response.text() }
  t.match(metrics.body, /ttn_http_requests_total\{route="\/v2\/systems\/:id",method="GET",status="200"\} 1/)
  t.match(metrics.body, /ttn_http_requests_total\{route="\/v2\/systems\/:id",method="GET",status="401"\} 1/)
  t.match(metrics.body, /ttn_problems_total\{code="token-missing"\} 1/)
  t.match(metrics.body, /ttn_http_request_duration_seconds_bucket\{le="0.1",route="\/v2\/systems\/:id",method="GET"\}/)
  t.match(metrics.body, /ttn_database_pool_connections\{state="total"\}/)
  t.match(metrics.body, /ttn_process_resident_memory_bytes/)

  const completed = lines.filter((l) => l.msg === 'request completed')
  const traced = completed.find((l) => l.reqId === 'trace-42')
  t.ok(traced, 'the caller\'s request id is the log\'s')
  t.equal(traced?.caller, 'province-79', 'the verified caller is in the request log')
  const smuggled = await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79?access_token=eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIxIn0.c2ln' })
  t.equal(smuggled.statusCode, 400, 'a token in the query string is refused')
  t.equal(smuggled.json().code, 'token-in-query')
  t.notMatch(JSON.stringify(lines), /eyJ[A-Za-z0-9_-]{10,}/, 'no token reaches the logs')
})
