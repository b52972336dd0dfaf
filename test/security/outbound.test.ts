import { createServer as createHttpServer } from 'node:http'
import net from 'node:net'
import t, { type Test } from 'tap'
import { signCall } from '../../src/client/sign.js'
import { OutboundClient, outboundPolicy, type Resolver } from '../../src/http/outbound.js'
import { buildTestApp } from '../helpers/app.js'
import { until } from '../helpers/receiver.js'
import { newKey, registerSystem, signedInject } from '../helpers/systems.js'

/** A listener of the test's own on loopback: it counts every connection anything opens to it. */
async function listener(t: Test) {
  const state = { connections: 0 }
  const server = net.createServer((socket) => { state.connections++; socket.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { state, port: (server.address() as net.AddressInfo).port }
}

t.test('every URL that would reach a non-public address is refused with its own code, and nothing connects', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { OUTBOUND_ALLOWED_HOSTS: '' } })
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-79')
  const { state, port } = await listener(t)
  const cases: [string, string][] = [
    [`http://ttn.hcm.example/hook`, 'outbound-url-insecure'],
    [`http://127.0.0.1:${port}/hook`, 'outbound-url-insecure'],
    [`https://127.0.0.1:${port}/hook`, 'outbound-address-forbidden'],
    [`https://localhost:${port}/hook`, 'outbound-address-forbidden'],
    [`https://[::1]:${port}/hook`, 'outbound-address-forbidden'],
    [`https://[::ffff:127.0.0.1]:${port}/hook`, 'outbound-address-forbidden'],
    [`https://2130706433:${port}/hook`, 'outbound-address-forbidden'],
    [`https://0x7f.0.0.1:${port}/hook`, 'outbound-address-forbidden'],
    ['https://169.254.169.254/latest/meta-data', 'outbound-address-forbidden'],
    ['https://10.1.2.3/hook', 'outbound-address-forbidden'],
    ['https://192.168.1.1/hook', 'outbound-address-forbidden'],
    ['https://172.16.0.1/hook', 'outbound-address-forbidden'],
    ['https://100.64.0.1/hook', 'outbound-address-forbidden'],
    ['https://[fd00::1]/hook', 'outbound-address-forbidden'],
    ['https://[fe80::1]/hook', 'outbound-address-forbidden'],
    ['https://224.0.0.1/hook', 'outbound-address-forbidden'],
    ['https://intranet/hook', 'outbound-address-forbidden'],
    ['https://user:secret@ttn.hcm.example/hook', 'outbound-url-invalid'],
  ]
  for (const [url, code] of cases) {
    const patched = await signedInject(app, province, { method: 'PATCH', url: '/v2/systems/province-79', body: { webhookUrl: url } })
    t.equal(patched.statusCode, 422, url)
    t.equal(patched.json().code, code, `${url}: ${code}`)
    const registered = await signedInject(app, central, {
      method: 'POST', url: '/v2/systems', body: { id: 'province-01', role: 'province', provinceCode: '01', name: 'Hà Nội', jwksUri: url },
    })
    t.equal(registered.json().code, code, `jwksUri ${url}`)
  }
  t.equal((await signedInject(app, province, { method: 'PATCH', url: '/v2/systems/province-79', body: { webhookUrl: 'https://ttn.hcm.example/hook' } })).statusCode, 200, 'a public https URL is taken')
  t.equal(state.connections, 0, 'the service opened no connection to the listener')
})

t.test('a name that resolves to a non-public address is refused at connection time, on every attempt, without a connection', async (t) => {
  const { state, port } = await listener(t)
  let answers = 0
  // A resolver that answers a public address first, then a loopback one: DNS rebinding.
  const rebinding: Resolver = (_host, _options, callback) => {
    answers++
    callback(null, [{ address: answers === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }])
  }
  const client = new OutboundClient(outboundPolicy(''), { connectMs: 300, headersMs: 300, totalMs: 600, maxBytes: 1024 }, rebinding)
  t.teardown(() => client.close())
  await t.rejects(client.call(`https://rebind.example:${port}/`, { method: 'GET' }), 'the public answer cannot be reached from here either')
  await t.rejects(client.call(`https://rebind.example:${port}/`, { method: 'GET' }), { code: 'outbound-address-forbidden' })
  t.ok(answers >= 2, 'the name is resolved again for the second connection')
  t.equal(state.connections, 0)
})

t.test('a JWKS server that drips its answer or sends too much is cut off at the limits', async (t) => {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    if (req.url === '/big') return res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(200_000) }))
    const drip = setInterval(() => res.write(' '), 50)
    res.on('close', () => clearInterval(drip))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)) })
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  const client = new OutboundClient(outboundPolicy('127.0.0.1'), { connectMs: 500, headersMs: 500, totalMs: 400, maxBytes: 64 * 1024 })
  t.teardown(() => client.close())
  const started = Date.now()
  await t.rejects(client.call(`${base}/drip`, { method: 'GET' }))
  t.ok(Date.now() - started < 2000, `a dripping answer is cut at the total limit (${Date.now() - started} ms)`)
  await t.rejects(client.call(`${base}/big`, { method: 'GET' }), /more than 65536 bytes/)
})

t.test('forged tokens naming a jwksUri issuer make at most one fetch; unregistered issuers make none', async (t) => {
  const { app, database } = await buildTestApp(t)
  const key = await newKey()
  let fetches = 0
  const server = createHttpServer((_req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  await registerSystem(database, 'province-56', { extra: { jwks: undefined, jwksUri: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/jwks.json` } })
  const forger = await newKey()
  const forged = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const token = await signCall({ issuer: i % 2 ? 'province-56' : `province-nope-${i}`, audience: 'ttn-central', key: forger, method: 'GET', pathAndQuery: '/v2/systems/province-56' })
    return app.inject({ method: 'GET', url: '/v2/systems/province-56', headers: { authorization: `Bearer ${token}` } })
  }))
  t.ok(forged.every((r) => r.statusCode === 401))
  t.equal(fetches, 1, '20 forged tokens, one fetch')
  await Promise.all(Array.from({ length: 10 }, async () => {
    const token = await signCall({ issuer: 'province-56', audience: 'ttn-central', key: forger, method: 'GET', pathAndQuery: '/v2/systems/province-56' })
    return app.inject({ method: 'GET', url: '/v2/systems/province-56', headers: { authorization: `Bearer ${token}` } })
  }))
  t.equal(fetches, 1, 'unknown kids within the refetch interval fetch nothing')
})

t.test('a webhook URL that reaches a forbidden address is not called, and the delivery says why', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { OUTBOUND_ALLOWED_HOSTS: '', WEBHOOK_POLL_MS: '20' } })
  const { state, port } = await listener(t)
  const central = await registerSystem(database, 'central-portal')
  // Set before the rules existed, or by someone with the database: the dispatcher checks again.
  await registerSystem(database, 'province-79', { extra: { webhookUrl: `https://127.0.0.1:${port}/hook` } })
  const published = await signedInject(app, central, {
    method: 'POST', url: '/v2/contents',
    body: { title: 'Bản tin', summary: 's', body: 'b', media: [], topic: 'disasters-fire-epidemics', priority: 'normal', targets: ['79'] },
  })
  t.equal(published.statusCode, 201, published.body)
  await until(async () => (await database.db.selectFrom('webhook_outbox').select('last_error').executeTakeFirst())?.last_error != null, 10_000, 'an attempt')
  const row = await database.db.selectFrom('webhook_outbox').select(['last_error', 'last_status', 'state']).executeTakeFirstOrThrow()
  t.match(row, { state: 'pending', last_status: null, last_error: /^outbound-address-forbidden/ })
  t.equal(state.connections, 0)
})
