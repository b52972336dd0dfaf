import { createServer } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { KeyDirectory } from '../../src/auth/key-directory.js'
import { OutboundClient, outboundPolicy } from '../../src/http/outbound.js'
import { applySystemsFile, systemsFileWarnings } from '../../src/modules/systems/file.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from '../helpers/app.js'
import { newKey, registerSystem, signedInject } from '../helpers/systems.js'

t.test('central registers, lists and reads systems; each write has a receipt', async (t) => {
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  const key = await newKey('EdDSA')
  const registration = { id: 'province-79', role: 'province', provinceCode: '79', name: 'HTTTN TP. Hồ Chí Minh', jwks: { keys: [key.publicJwk] }, webhookUrl: 'https://ttn.hcm.example/hooks' }
  const created = await signedInject(app, central, { method: 'POST', url: '/v2/systems', body: registration })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { system: { id: 'province-79', role: 'province', provinceCode: '79', status: 'active', version: 1, keys: [{ kid: key.kid, alg: 'EdDSA', status: 'active' }] }, receipt: { id: String } })

  const again = await signedInject(app, central, { method: 'POST', url: '/v2/systems', body: registration })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'conflict')

  for (const [body, detail] of [
    [{ ...registration, id: 'province-01' }, /province-79/],
    [{ id: 'province-02', role: 'province', provinceCode: '02', name: 'Hà Giang', jwks: { keys: [key.publicJwk] } }, /not a province since 1 July 2025/],
    [{ id: 'portal-2', role: 'central', provinceCode: '01', name: 'x', jwks: { keys: [key.publicJwk] } }, /no provinceCode/],
    [{ id: 'portal-3', role: 'central', name: 'x' }, /jwks or jwksUri/],
    [{ id: 'portal-4', role: 'central', name: 'x', jwks: { keys: [key.publicJwk] }, jwksUri: 'https://x.example/jwks' }, /not both/],
  ] as const) {
    const refused = await signedInject(app, central, { method: 'POST', url: '/v2/systems', body })
    t.equal(refused.statusCode, 422, JSON.stringify(body).slice(0, 60))
    t.match(refused.json(), { code: 'rule-violated', detail })
  }

  const privateKey = await signedInject(app, central, { method: 'POST', url: '/v2/systems', body: { ...registration, id: 'portal-5', role: 'central', provinceCode: undefined, jwks: { keys: [{ ...key.publicJwk, d: 'secret' }] } } })
  t.equal(privateKey.statusCode, 400, 'a private key member is refused')

  const list = await signedInject(app, central, { method: 'GET', url: '/v2/systems?limit=1' })
  t.equal(list.json().items.length, 1)
  t.ok(list.json().nextCursor)
  const second = await signedInject(app, central, { method: 'GET', url: `/v2/systems?limit=1&cursor=${list.json().nextCursor}` })
  t.same([list.json().items[0].id, second.json().items[0].id], ['central-portal', 'province-79'])
})

t.test('a province rotates its key: add, use, retire; the old key is then refused', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-31')
  const next = await newKey('EdDSA')
  const added = await signedInject(app, province, { method: 'POST', url: `/v2/systems/${province.id}/keys`, body: next.publicJwk })
  t.equal(added.statusCode, 201)
  t.equal(added.json().system.keys.length, 2)

  const withNew = { id: province.id, key: next }
  t.equal((await signedInject(app, withNew, { method: 'GET', url: `/v2/systems/${province.id}` })).statusCode, 200, 'the new key works at once')
  const retired = await signedInject(app, withNew, { method: 'DELETE', url: `/v2/systems/${province.id}/keys/${province.key.kid}` })
  t.equal(retired.statusCode, 200)
  t.match(retired.json().system.keys.find((k: { kid: string }) => k.kid === province.key.kid), { status: 'retired', retiredAt: String })

  const old = await signedInject(app, province, { method: 'GET', url: `/v2/systems/${province.id}` })
  t.equal(old.statusCode, 401)
  t.equal(old.json().code, 'key-retired')

  const last = await signedInject(app, withNew, { method: 'DELETE', url: `/v2/systems/${province.id}/keys/${next.kid}` })
  t.equal(last.statusCode, 422, 'a system cannot retire its last active key')
  const unknown = await signedInject(app, withNew, { method: 'DELETE', url: `/v2/systems/${province.id}/keys/nope` })
  t.equal(unknown.statusCode, 404)
  const duplicate = await signedInject(app, withNew, { method: 'POST', url: `/v2/systems/${province.id}/keys`, body: next.publicJwk })
  t.equal(duplicate.statusCode, 409)
})

t.test('central suspends a system and its calls are refused at once; reactivating lets it back', async (t) => {
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-46')
  const call = () => signedInject(app, province, { method: 'GET', url: `/v2/systems/${province.id}` })
  t.equal((await call()).statusCode, 200)
  const suspend = await signedInject(app, central, { method: 'PATCH', url: `/v2/systems/${province.id}`, body: { status: 'suspended' } })
  t.equal(suspend.json().system.status, 'suspended')
  const refused = await call()
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'issuer-suspended')
  await signedInject(app, central, { method: 'PATCH', url: `/v2/systems/${province.id}`, body: { status: 'active' } })
  t.equal((await call()).statusCode, 200)
})

/** A loopback server publishing a JWKS that the test changes, counting how often it is fetched. */
async function jwksServer(t: Test, keys: object[]) {
  const state = { keys, fetches: 0 }
  const server = createServer((req, res) => {
    state.fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { state, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json` }
}

t.test('keys published at a jwksUri are fetched, cached, and refetched on an unknown kid at a bounded rate', async (t) => {
  const { app, database } = await buildTestApp(t)
  const first = await newKey()
  const jwks = await jwksServer(t, [first.publicJwk])
  await registerSystem(database, 'province-56', { extra: { jwks: undefined, jwksUri: jwks.url } })
  const province = { id: 'province-56', key: first }
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-56' })).statusCode, 200, 'a call with a published key passes')
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-56' })).statusCode, 200)
  t.equal(jwks.state.fetches, 1, 'the JWKS is fetched once and cached')

  let clock = Date.now()
  const outbound = new OutboundClient(outboundPolicy('127.0.0.1'), { connectMs: 1000, headersMs: 1000, totalMs: 2000, maxBytes: 65536 })
  t.teardown(() => outbound.close())
  const directory = new KeyDirectory(new SystemsStore(database.db), { cacheMs: 0, jwksRefreshSeconds: 600, now: () => clock, outbound })
  const issuer = (await directory.issuer('province-56'))!
  const second = await newKey()
  const fetchesBefore = jwks.state.fetches
  t.match(await directory.key(issuer, first.kid), { found: true })
  t.equal(jwks.state.fetches, fetchesBefore + 1)
  jwks.state.keys = [first.publicJwk, second.publicJwk]
  clock += 5_000
  t.match(await directory.key(issuer, second.kid), { found: false, reason: 'key-unknown' }, 'a key published since is not seen yet')
  t.match(await directory.key(issuer, 'another-made-up-kid'), { found: false, reason: 'key-unknown' })
  t.equal(jwks.state.fetches, fetchesBefore + 1, 'unknown kids within 30 s do not make it fetch again')
  clock += 31_000
  t.match(await directory.key(issuer, second.kid), { found: true }, 'a new key is found once the bound has passed')
  t.equal(jwks.state.fetches, fetchesBefore + 2)

  await database.db.insertInto('system_keys').values({ system_id: 'province-56', kid: first.kid, alg: 'ES256', jwk: JSON.stringify(first.publicJwk), status: 'retired' }).execute()
  directory.invalidate('province-56')
  t.match(await directory.key((await directory.issuer('province-56'))!, first.kid), { found: false, reason: 'key-retired' }, 'a key retired in the registry stays refused while still published')
})

t.test('SYSTEMS_FILE registers what is missing, never reverts the API, and reports each conflict in one line while the rest applies', async (t) => {
  const { app, database } = await buildTestApp(t)
  const dir = await mkdtemp(join(tmpdir(), 'ttn-systems-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'systems.json')
  const key = await newKey()
  const systems = [
    { id: 'central-portal', role: 'central', name: 'Cổng trung ương', jwks: { keys: [key.publicJwk] } },
    { id: 'province-79', role: 'province', provinceCode: '79', name: 'HCM', jwksUri: 'https://hcm.example/jwks.json' },
  ]
  await writeFile(file, JSON.stringify(systems))
  t.match(await applySystemsFile(file, database.db), { registered: ['central-portal', 'province-79'], kept: [], refused: [] })
  t.match(await applySystemsFile(file, database.db), { registered: [], unchanged: ['central-portal', 'province-79'] })

  // Changed through the API since: a restart with the same file keeps the change.
  const central = { id: 'central-portal', key }
  await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/central-portal', body: { name: 'Cổng TTCS' } })
  const kept = await applySystemsFile(file, database.db)
  t.same(kept.kept, [{ id: 'central-portal', fields: ['name'] }])
  t.equal((await new SystemsStore(database.db).get('central-portal'))!.name, 'Cổng TTCS', 'the API\'s change stands')
  t.same(systemsFileWarnings(kept), ['SYSTEMS_FILE: central-portal is registered with another name; the registry is kept (change it through the API)'])

  // Bad entries and conflicts are named, one line each, and the good entries still apply.
  await writeFile(file, JSON.stringify([
    { id: 'province-79', role: 'province', provinceCode: '79', name: 'x', jwksUri: 'https://x.example' },
    { id: 'province-80', role: 'province', provinceCode: '79', name: 'x', jwksUri: 'https://x.example' },
    { id: 'province-01', role: 'province', provinceCode: '01', name: 'x', jwksUri: 'https://x.example', extra: 1 },
    { id: 'province-48', role: 'province', provinceCode: '48', name: 'Đà Nẵng', jwksUri: 'https://dn.example/jwks.json' },
    { id: 'ops', role: 'province', provinceCode: '31', name: 'x', jwksUri: 'https://x.example', keyRecovery: true },
  ]))
  const mixed = await applySystemsFile(file, database.db)
  t.same(mixed.registered, ['province-48'])
  const lines = systemsFileWarnings(mixed)
  t.equal(lines.length, 4)
  t.match(lines.join('\n'), /province-79 is registered with another name, jwksUri; the registry is kept/)
  t.match(lines.join('\n'), /\/1 \(province-80\) not applied: a provincial system's id is province-79/)
  t.match(lines.join('\n'), /\/2 \(province-01\) not applied: \/extra: is not a field/)
  t.match(lines.join('\n'), /\/4 \(ops\) not applied/)

  await writeFile(file, '{ not json')
  t.match(systemsFileWarnings(await applySystemsFile(file, database.db)), [/cannot be read as JSON/])
})
