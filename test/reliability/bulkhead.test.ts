import { request as httpRequest } from 'node:http'
import t from 'tap'
import { Pool } from 'undici'
import { signCall } from '../../src/client/sign.js'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl } from '../helpers/database.js'
import { registerSystem, type TestSystem } from '../helpers/systems.js'

/**
 * One province floods the service with concurrent maximum-size batches of every kind while
 * another makes small calls. The other's calls must all succeed and readiness must stay 200;
 * the flooding province is answered 200 or 429 with Retry-After, never 5xx. (How much slower the
 * small calls get is measured by bench/isolation.ts, not asserted here.)
 */
// Longer than the suite's per-file limit: the file asks the runner for the time its one test may take.
t.setTimeout(600_000)

t.test('a province\'s flood of maximum-size batches leaves another province\'s calls and readiness untouched', { timeout: 600_000 }, async (t) => {
  const concurrent = serverUrl ? 50 : 8
  const { app, database } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '100000', UNVERIFIED_RATE_PER_MINUTE: '100000' } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const pool = new Pool(base, { connections: concurrent * 3 + 8, pipelining: 1 })
  t.teardown(() => pool.close())
  const flooder = await registerSystem(database, 'province-79')
  const victim = await registerSystem(database, 'province-01')

  const call = async (system: TestSystem, method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const token = await signCall({ issuer: system.id, audience: 'ttn-central', key: system.key, method, pathAndQuery: path, body: payload })
    const response = await pool.request({
      method, path, body: payload, headersTimeout: 0, bodyTimeout: 0,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    })
    await response.body.dump()
    return { status: response.statusCode, retryAfter: response.headers['retry-after'] }
  }

  const stations = Array.from({ length: 1000 }, (_, i) => ({ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' }))
  t.equal((await call(flooder, 'PUT', '/v2/provinces/79/stations', { items: stations })).status, 200)
  const now = Date.now()
  const events = Array.from({ length: 5000 }, (_, i) => ({ deviceType: 'station', deviceId: `st-${i % 1000}`, state: 'online', observedAt: new Date(now - 60_000 + i).toISOString() }))
  const logs = Array.from({ length: 5000 }, (_, i) => ({
    stationId: `st-${i % 1000}`, localRef: `local-${i}`, source: 'province',
    startedAt: new Date(now - 86_400_000 + i * 60_000).toISOString(), endedAt: new Date(now - 86_400_000 + i * 60_000 + 30_000).toISOString(),
  }))

  let flooding = true
  const flood = Promise.all(Array.from({ length: concurrent }, (_, i) => [
    call(flooder, 'PUT', '/v2/provinces/79/stations', { items: stations.map((s) => ({ ...s, name: `${s.name} v${i}` })) }),
    call(flooder, 'POST', '/v2/provinces/79/status-events', { events }),
    call(flooder, 'POST', '/v2/provinces/79/broadcast-logs', { entries: logs }),
  ]).flat()).finally(() => { flooding = false })

  const victimAnswers: number[] = []
  const readiness: number[] = []
  let n = 0
  while (flooding || n < 10) {
    victimAnswers.push((await call(victim, 'GET', '/v2/systems/province-01')).status)
    victimAnswers.push((await call(victim, 'PUT', '/v2/provinces/01/stations', { items: [{ id: `v-${n++}`, communeCode: '00004', name: 'Đài', kind: 'ip', status: 'operating' }] })).status)
    readiness.push((await pool.request({ method: 'GET', path: '/health/ready' }).then(async (r) => { await r.body.dump(); return r.statusCode })))
  }
  const flooded = await flood

  t.ok(victimAnswers.length >= 20)
  t.same([...new Set(victimAnswers)], [200], `all ${victimAnswers.length} calls of the other province succeeded`)
  t.same([...new Set(readiness)], [200], `readiness stayed 200 (${readiness.length} probes)`)
  const statuses = flooded.map((a) => a.status)
  t.ok(statuses.every((s) => s === 200 || s === 429), `the flooding province got only 200 and 429: ${[...new Set(statuses)].join(', ')}`)
  t.ok(flooded.filter((a) => a.status === 429).every((a) => a.retryAfter), 'every 429 says when to retry')
  t.comment(`flood: ${statuses.filter((s) => s === 200).length} batches applied, ${statuses.filter((s) => s === 429).length} refused with 429; other province: ${victimAnswers.length} calls, all 200`)
})

/**
 * Clients that give up (a timeout, a closed connection) while their requests run or wait their
 * turn must give their slots back: a careless caller is otherwise locked out of the instance
 * for good. Each request here is abandoned the moment it is sent.
 */
t.test('abandoned requests give their slots back, whether they were running or waiting', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { CALLER_CONCURRENCY: '1', CALLER_QUEUE: '8', RATE_LIMIT_PER_MINUTE: '100000' } })
  const base = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  const province = await registerSystem(database, 'province-79')
  const path = '/v2/provinces/79/stations'
  const body = JSON.stringify({ items: Array.from({ length: 1000 }, (_, i) => ({ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' })) })

  const abandoned = await Promise.all(Array.from({ length: 6 }, async () => {
    const token = await signCall({ issuer: province.id, audience: 'ttn-central', key: province.key, method: 'PUT', pathAndQuery: path, body })
    return new Promise<void>((resolve) => {
      const request = httpRequest({ host: base.hostname, port: base.port, method: 'PUT', path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      request.on('error', () => resolve())
      request.end(body, () => setImmediate(() => { request.destroy(); resolve() }))
    })
  }))
  t.equal(abandoned.length, 6)

  const pool = new Pool(base.origin, { connections: 1 })
  t.teardown(() => pool.close())
  const started = Date.now()
  let status = 0
  // The abandoned batches still finish their work one by one; then the caller's own next call runs.
  while (status !== 200 && Date.now() - started < 30_000) {
    const token = await signCall({ issuer: province.id, audience: 'ttn-central', key: province.key, method: 'GET', pathAndQuery: '/v2/systems/province-79' })
    const response = await pool.request({ method: 'GET', path: '/v2/systems/province-79', headers: { authorization: `Bearer ${token}` } })
    await response.body.dump()
    status = response.statusCode
  }
  t.equal(status, 200, `the caller is served again after ${Date.now() - started} ms`)
})
