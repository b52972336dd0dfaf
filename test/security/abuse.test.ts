import { createServer } from 'node:http'
import net from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { sql } from 'kysely'
import { Pool } from 'undici'
import { ReplayStore } from '../../src/auth/replay-store.js'
import { signCall } from '../../src/client/sign.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { newKey, registerSystem, signedInject } from '../helpers/systems.js'

setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void
/** Live heap after a full collection: what the service keeps, not the garbage it has yet to free. */
const liveHeap = () => {
  collect()
  return process.memoryUsage().heapUsed
}

const badToken = (i: number) => `Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6InR0bi1jYWxsK2p3dCIsImtpZCI6IngifQ.${Buffer.from(JSON.stringify({ iss: `nobody-${i}`, jti: String(i) })).toString('base64url')}.c2ln`

/** Calls over a real socket: light-my-request's inject keeps every request it made alive, which would hide what the service keeps. */
async function overHttp(app: Awaited<ReturnType<typeof buildTestApp>>['app']) {
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const pool = new Pool(base, { connections: 8 })
  return {
    get: async (path: string, headers: Record<string, string> = {}) => {
      const response = await pool.request({ method: 'GET', path, headers })
      const body = await response.body.text()
      return { statusCode: response.statusCode, body }
    },
    close: () => pool.close(),
  }
}

t.test('10,000 bad-token calls from one address: 429 once its allowance is spent, a bounded audit log and heap', async (t) => {
  const { app, database, config } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79' })).statusCode, 200)
  const http = await overHttp(app)
  t.teardown(() => http.close())
  await http.get('/v2/admin-units/79')
  const heapBefore = liveHeap()
  const statuses = new Map<number, number>()
  for (let batch = 0; batch < 100; batch++) {
    await Promise.all(Array.from({ length: 100 }, async (_, j) => {
      const response = await http.get('/v2/systems/province-79', { authorization: badToken(batch * 100 + j) })
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
    }))
  }
  await app.audit.flush()
  const heapGrowth = liveHeap() - heapBefore
  const allowance = config.UNVERIFIED_RATE_PER_MINUTE - 1
  t.equal(statuses.get(401), allowance, `the first ${allowance} (after one public read) are checked and refused`)
  t.equal(statuses.get(429), 10_000 - allowance, 'the rest are refused before any work')
  const { rows: [audit] } = await sql<{ entries: number, calls: number }>`select count(*)::int as entries, sum(coalesce(refusals, 1))::int as calls from audit_log where verified is not true`.execute(database.db)
  t.ok(audit!.entries <= config.AUDIT_UNVERIFIED_SAMPLE + 5, `${audit!.entries} audit entries for 10,000 calls`)
  t.equal(audit!.calls, 10_001, 'and every call counted')
  t.ok(heapGrowth < 8 * 1024 * 1024, `live heap grew by ${(heapGrowth / 1024 / 1024).toFixed(1)} MB`)
  t.comment(`10,000 bad-token calls: ${audit!.entries} audit entries, live heap ${heapGrowth >= 0 ? '+' : ''}${(heapGrowth / 1024 / 1024).toFixed(1)} MB`)
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79' })).statusCode, 200, 'a system verified from that address keeps calling')
})

t.test('3,000 random issuer names are remembered in bounded memory', async (t) => {
  const { app } = await buildTestApp(t, { env: { UNVERIFIED_RATE_PER_MINUTE: '1000000' } })
  const http = await overHttp(app)
  t.teardown(() => http.close())
  const key = await newKey()
  const tokens = await Promise.all(Array.from({ length: 3_000 }, (_, i) =>
    signCall({ issuer: `random-${i}-${'x'.repeat(40)}`, audience: 'ttn-central', key, method: 'GET', pathAndQuery: '/v2/systems/a1' })))
  await http.get('/v2/systems/a1', { authorization: `Bearer ${tokens[0]}` })
  const before = liveHeap()
  for (let batch = 0; batch < 30; batch++) {
    await Promise.all(tokens.slice(batch * 100, batch * 100 + 100).map(async (token) => {
      const response = await http.get('/v2/systems/a1', { authorization: `Bearer ${token}` })
      if (!response.body.includes('issuer-unknown')) t.fail(response.body)
    }))
  }
  const growth = liveHeap() - before
  t.ok(growth < 8 * 1024 * 1024, `live heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB`)
})

t.test('behind a load balancer named in TRUST_PROXY the client address counts; otherwise X-Forwarded-For is ignored', async (t) => {
  for (const trusted of [true, false]) {
    const { app } = await buildTestApp(t, { env: { UNVERIFIED_RATE_PER_MINUTE: '3', ...(trusted ? { TRUST_PROXY: '127.0.0.1' } : {}) } })
    const from = (address: string) => app.inject({ method: 'GET', url: '/v2/admin-units/79', headers: { 'x-forwarded-for': address } })
    for (let i = 0; i < 3; i++) await from('203.0.113.5')
    t.equal((await from('203.0.113.5')).statusCode, 429)
    t.equal((await from('198.51.100.7')).statusCode, trusted ? 200 : 429, trusted ? 'another client keeps its own allowance' : 'a header anyone can send changes nothing')
  }
})

t.test('a token sent in the query string is refused, kept out of the audit log and spent', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  const token = await signCall({ issuer: province.id, audience: 'ttn-central', key: province.key, method: 'GET', pathAndQuery: '/v2/systems/province-79' })
  const smuggled = await app.inject({ method: 'GET', url: `/v2/systems/province-79?access_token=${token}` })
  t.equal(smuggled.json().code, 'token-in-query')
  const replayed = await app.inject({ method: 'GET', url: '/v2/systems/province-79', headers: { authorization: `Bearer ${token}` } })
  t.equal(replayed.json().code, 'token-replayed', 'whoever read it cannot use it')
  await app.audit.flush()
  const paths = (await database.db.selectFrom('audit_log').select('path').execute()).map((r) => r.path)
  t.notMatch(JSON.stringify(paths), /eyJ/, 'the token is in no audit entry')
})

t.test('NUL characters and forged cursors are a 400, never a 500', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  const nulBody = await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [{ id: 'a\u0000b', communeCode: '26740', name: 'x', kind: 'ip', status: 'operating' }] } })
  t.equal(nulBody.statusCode, 400)
  t.match(nulBody.json().detail, /NUL/)
  const escaped = await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [{ id: 'st-1', communeCode: '26740', name: 'a \\u0000 is text here', kind: 'ip', status: 'operating' }] } })
  t.equal(escaped.statusCode, 200, 'an escaped backslash before u0000 is ordinary text')
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/provinces/79/stations?commune=%00' })).statusCode, 400)
  const forged = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url')
  for (const cursor of [forged(['79', 'a\u0000']), forged([1, 2]), forged(['79']), 'AAAA']) {
    const response = await signedInject(app, province, { method: 'GET', url: `/v2/provinces/79/stations?cursor=${cursor}` })
    t.equal(response.statusCode, 400, cursor)
  }
})

t.test('a province cannot log plays of content that was not sent to it', async (t) => {
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-79')
  await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [{ id: 'st-1', communeCode: '26740', name: 'x', kind: 'ip', status: 'operating' }] } })
  const forHanoi = (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ targets: ['01'] }) })).json().content.id
  const forHcm = (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ targets: ['79'] }) })).json().content.id
  const play = (contentId: string, hour: number) => ({ stationId: 'st-1', contentId, startedAt: `2026-11-30T0${hour}:00:00Z`, endedAt: `2026-11-30T0${hour}:05:00Z`, source: 'central' })
  const logged = await signedInject(app, province, { method: 'POST', url: '/v2/provinces/79/broadcast-logs', body: { entries: [play(forHanoi, 1), play(forHcm, 2)] } })
  t.equal(logged.statusCode, 200)
  t.match(logged.json(), { accepted: 1, rejected: 1, rejections: [{ index: 0, reason: 'content-not-sent' }] })
})

t.test('a key published only at a jwksUri can be retired, and is then refused while still published', async (t) => {
  const { app, database } = await buildTestApp(t)
  const [first, second] = [await newKey(), await newKey()]
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [first.publicJwk, second.publicJwk] })))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  await registerSystem(database, 'province-56', { extra: { jwks: undefined, jwksUri: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/jwks.json` } })
  const asFirst = { id: 'province-56', key: first }
  const asSecond = { id: 'province-56', key: second }
  t.equal((await signedInject(app, asFirst, { method: 'GET', url: '/v2/systems/province-56' })).statusCode, 200)
  const retired = await signedInject(app, asSecond, { method: 'DELETE', url: `/v2/systems/province-56/keys/${first.kid}` })
  t.equal(retired.statusCode, 200, retired.body)
  t.equal((await signedInject(app, asFirst, { method: 'GET', url: '/v2/systems/province-56' })).json().code, 'key-retired')
  t.equal((await signedInject(app, asSecond, { method: 'GET', url: '/v2/systems/province-56' })).statusCode, 200)
})

t.test('replay pruning follows the instance clock that verification judges expiry by', async (t) => {
  const { database } = await buildTestApp(t)
  const replays = new ReplayStore(database.db)
  const expiresAt = new Date(Date.now() + 100_000)
  t.ok(await replays.firstUse('province-79', 'jti-1', expiresAt))
  t.equal(await replays.prune(new Date(expiresAt.getTime() - 1)), 0, 'a token not yet expired by the instance clock is kept')
  t.equal(await replays.prune(new Date(expiresAt.getTime() + 1)), 1)
})

t.test('a client dribbling its headers is cut off, and connections beyond the cap are closed', async (t) => {
  const { app } = await buildTestApp(t, { env: { HEADERS_TIMEOUT_MS: '1000', MAX_CONNECTIONS: '4' } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as net.AddressInfo
  const started = Date.now()
  const slow = net.connect(port, '127.0.0.1')
  slow.on('error', () => {})
  await new Promise((resolve) => slow.once('connect', resolve))
  const drip = setInterval(() => slow.write('X'), 100)
  slow.write('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  await new Promise((resolve) => slow.once('close', resolve))
  clearInterval(drip)
  t.ok(Date.now() - started < 5000, `cut after ${Date.now() - started} ms`)

  const held = await Promise.all(Array.from({ length: 4 }, () => new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', () => {})
  })))
  t.teardown(() => { for (const socket of held) socket.destroy() })
  const extra = net.connect(port, '127.0.0.1')
  extra.on('error', () => {})
  const closed = await new Promise<boolean>((resolve) => {
    extra.once('close', () => resolve(true))
    extra.once('data', () => resolve(false))
    extra.once('connect', () => extra.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'))
  })
  t.ok(closed, 'the fifth connection is closed without an answer')
})
