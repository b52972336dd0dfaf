import { request as httpRequest } from 'node:http'
import t from 'tap'
import { Pool } from 'undici'
import { signCall } from '../../src/client/sign.js'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl } from '../helpers/database.js'
import { newKey, registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

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

/**
 * The work a call costs grows with its body: each system has a budget of request-body bytes a
 * second, and a body beyond it is refused, after a pause and unread, with the wait in
 * Retry-After. Forged calls in a system's name spend none of its budget; calls without a body
 * are never refused for bytes.
 */
t.test('a province over its body budget is refused before its body is read, and only it', async (t) => {
  const pauseMs = 200
  const { app, database } = await buildTestApp(t, {
    env: { CALLER_BODY_BYTES_PER_SECOND: '1024', CALLER_BODY_BURST_BYTES: '200000', CALLER_REFUSAL_DELAY_MS: String(pauseMs), RATE_LIMIT_PER_MINUTE: '100000' },
  })
  const flooder = await registerSystem(database, 'province-79')
  const other = await registerSystem(database, 'province-01')
  const batch = (province: string, version: number) => ({
    items: Array.from({ length: 1000 }, (_, i) => ({ id: `st-${i}`, communeCode: province === '79' ? '26740' : '00004', name: `Đài ${i} v${version}`, kind: 'ip', status: 'operating' })),
  })
  const bytes = Buffer.byteLength(JSON.stringify(batch('79', 1)))
  t.ok(bytes > 80_000 && bytes < 100_000, `a batch of 1000 stations is ${bytes} bytes: two fit in the burst, three do not`)
  const put = (system: TestSystem, province: string, version: number) =>
    signedInject(app, system, { method: 'PUT', url: `/v2/provinces/${province}/stations`, body: batch(province, version) })

  t.equal((await put(flooder, '79', 1)).statusCode, 200)
  t.equal((await put(flooder, '79', 2)).statusCode, 200)
  const started = performance.now()
  const refused = await put(flooder, '79', 3)
  const waited = performance.now() - started
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().type, '/problems/body-rate-exceeded')
  t.equal(refused.headers.connection, 'close', 'the connection closes: the body is not received')
  const owed = bytes - (200_000 - 2 * bytes)
  t.ok(Math.abs(Number(refused.headers['retry-after']) - Math.ceil(owed / 1024)) <= 1, `Retry-After ${String(refused.headers['retry-after'])} s: the ${owed} bytes short at 1 KiB a second`)
  t.ok(waited >= pauseMs * 0.9, `the refusal was held back ${waited.toFixed(0)} ms`)
  const names = await database.db.selectFrom('stations').select('name').where('province_code', '=', '79').where('id', '=', 'st-0').execute()
  t.same(names.map((row) => row.name), ['Đài 0 v2'], 'nothing of the refused batch was written')

  t.equal((await signedInject(app, flooder, { method: 'GET', url: '/v2/systems/province-79' })).statusCode, 200, 'a call without a body is not refused for bytes')

  const forger = await newKey()
  for (let i = 0; i < 5; i++) {
    const forged = await signedInject(app, { ...other, key: forger }, { method: 'PUT', url: '/v2/provinces/01/stations', body: batch('01', 0) })
    t.equal(forged.statusCode, 401, 'a forged call in another province\'s name is refused for its signature')
  }
  t.equal((await put(other, '01', 1)).statusCode, 200, 'and spent none of that province\'s budget')
  t.equal((await put(other, '01', 2)).statusCode, 200)
  t.equal((await put(other, '01', 3)).statusCode, 429, 'whose own third batch is over its budget')
})

t.test('a body of unknown length counts as the largest accepted: let in on a full budget, then paid back', async (t) => {
  const { app, database } = await buildTestApp(t, {
    env: { CALLER_BODY_BYTES_PER_SECOND: '1024', CALLER_BODY_BURST_BYTES: '65536', BODY_LIMIT_BYTES: '1048576', CALLER_REFUSAL_DELAY_MS: '0' },
  })
  const province = await registerSystem(database, 'province-79')
  const base = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  const path = '/v2/provinces/79/stations'
  const body = JSON.stringify({ items: [{ id: 'st-1', communeCode: '26740', name: 'Đài', kind: 'ip', status: 'operating' }] })
  const chunked = async () => {
    const token = await signCall({ issuer: province.id, audience: 'ttn-central', key: province.key, method: 'PUT', pathAndQuery: path, body })
    return new Promise<{ status: number, retryAfter?: string }>((resolve, reject) => {
      const request = httpRequest({ host: base.hostname, port: base.port, method: 'PUT', path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (response) => {
        response.resume()
        response.on('end', () => resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'] }))
      })
      request.on('error', reject)
      request.end(body)
    })
  }
  t.equal((await chunked()).status, 200, 'let in on a full budget')
  const second = await chunked()
  t.equal(second.status, 429, 'then the caller owes the rest of the largest body')
  t.ok(Number(second.retryAfter) >= 1000, `Retry-After ${String(second.retryAfter)} s: a MiB less the burst, at 1 KiB a second`)
})
