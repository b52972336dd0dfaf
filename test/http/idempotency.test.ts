import t from 'tap'
import { sql } from 'kysely'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const { app, database } = await buildTestApp(t)
const central = await registerSystem(database, 'central-portal')
const receipts = async () => Number((await sql<{ n: number }>`select count(*)::int as n from receipts`.execute(database.db)).rows[0]!.n)

const register = (key: string, id: string, name = 'Province') => signedInject(app, central, {
  method: 'POST', url: '/v2/systems', headers: { 'idempotency-key': key },
  body: { id, role: 'province', provinceCode: id.slice(-2), name, jwksUri: 'https://province.example/jwks.json' },
})

t.test('a retried write with the same key gets the first answer, and nothing is done twice', async (t) => {
  const first = await register('register-79', 'province-79')
  t.equal(first.statusCode, 201)
  const before = await receipts()
  const retry = await register('register-79', 'province-79')
  t.equal(retry.statusCode, 201, 'the first status, not 409 conflict')
  t.equal(retry.headers['idempotency-replayed'], 'true')
  t.same(retry.json(), first.json(), 'the same body, receipt included')
  t.equal(await receipts(), before, 'no second receipt: nothing was applied again')
})

t.test('the same key with another request is 422', async (t) => {
  await register('register-01', 'province-01')
  const other = await register('register-01', 'province-01', 'Another name')
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'idempotency-key-reused')
})

t.test('a key still in flight is 409; a claim abandoned before commit is taken over', async (t) => {
  await database.db.insertInto('idempotency_keys').values({
    caller: 'central-portal', key: 'busy', request_hash: 'x', state: 'in_flight', locked_until: new Date(Date.now() + 60_000), expires_at: new Date(Date.now() + 3_600_000),
  }).execute()
  const busy = await register('busy', 'province-31')
  t.equal(busy.statusCode, 422, 'another request under the key is refused before anything else')

  const body = { id: 'province-31', role: 'province', provinceCode: '31', name: 'Province', jwksUri: 'https://province.example/jwks.json' }
  const { sha256 } = await import('../../src/http/json-body.js')
  const hash = sha256(`POST /v2/systems ${sha256(JSON.stringify(body))}`)
  await database.db.updateTable('idempotency_keys').set({ request_hash: hash }).where('key', '=', 'busy').execute()
  const inFlight = await signedInject(app, central, { method: 'POST', url: '/v2/systems', headers: { 'idempotency-key': 'busy' }, body })
  t.equal(inFlight.statusCode, 409)
  t.equal(inFlight.json().code, 'idempotency-key-in-flight')
  t.equal(inFlight.headers['retry-after'], '1')

  await database.db.updateTable('idempotency_keys').set({ locked_until: new Date(Date.now() - 1000) }).where('key', '=', 'busy').execute()
  const takenOver = await signedInject(app, central, { method: 'POST', url: '/v2/systems', headers: { 'idempotency-key': 'busy' }, body })
  t.equal(takenOver.statusCode, 201, 'a lapsed claim with nothing committed runs again')

  await database.db.updateTable('idempotency_keys').set({ state: 'in_flight', response_status: null, locked_until: new Date(Date.now() - 1000) }).where('key', '=', 'busy').execute()
  const lost = await signedInject(app, central, { method: 'POST', url: '/v2/systems', headers: { 'idempotency-key': 'busy' }, body })
  t.equal(lost.statusCode, 409, 'a lapsed claim whose write committed is never run again')
  t.match(lost.json().detail, /was applied \(receipt [A-Za-z0-9_-]+\)/)
})

t.test('a bad key is a 400; the key is in the contract of every signed write', async (t) => {
  const bad = await register('has space', 'province-33')
  t.equal(bad.statusCode, 400)
  t.same(bad.json().errors.map((e: { in: string }) => e.in), ['header'])
  const contract = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  const parameter = contract.paths['/v2/systems'].post.parameters.find((p: { name: string }) => p.name === 'idempotency-key')
  t.match(parameter, { in: 'header', required: false })
})
