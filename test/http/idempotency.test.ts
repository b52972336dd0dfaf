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

t.test('concurrent requests under one key: one write, the others wait for its answer', async (t) => {
  const before = await receipts()
  const answers = await Promise.all(Array.from({ length: 5 }, () => register('together', 'province-31')))
  const statuses = answers.map((a) => a.statusCode)
  t.ok(statuses.every((s) => s === 201 || s === 409), `201 or 409 only: ${statuses.join(', ')}`)
  t.equal(await receipts(), before + 1, 'applied once')
  const retried = await register('together', 'province-31')
  t.equal(retried.statusCode, 201)
  t.equal(retried.headers['idempotency-replayed'], 'true')
})

t.test('a write applied whose answer was not kept is never applied again', async (t) => {
  const applied = await register('answer-lost', 'province-33')
  t.equal(applied.statusCode, 201)
  await database.db.updateTable('idempotency_keys').set({ response_status: null, response_body: null }).where('key', '=', 'answer-lost').execute()
  const before = await receipts()
  const soon = await register('answer-lost', 'province-33')
  t.equal(soon.statusCode, 409, 'right after the write, its answer may still be on its way')
  t.equal(soon.json().code, 'idempotency-key-in-flight')
  await database.db.updateTable('idempotency_keys').set({ created_at: new Date(Date.now() - 60_000) }).where('key', '=', 'answer-lost').execute()
  const lost = await register('answer-lost', 'province-33')
  t.equal(lost.statusCode, 409)
  t.match(lost.json(), { code: 'idempotency-answer-lost', receiptId: applied.json().receipt.id })
  t.equal(await receipts(), before, 'applied once')
})

t.test('a refused write keeps no key: the corrected request may use it', async (t) => {
  const refused = await signedInject(app, central, { method: 'POST', url: '/v2/systems', headers: { 'idempotency-key': 'fix-me' }, body: { id: 'province-02', role: 'province', provinceCode: '02', name: 'x', jwksUri: 'https://x.example/jwks' } })
  t.equal(refused.statusCode, 422)
  const fixed = await register('fix-me', 'province-37')
  t.equal(fixed.statusCode, 201)
})

t.test('a bad key is a 400; the key is in the contract of every signed write', async (t) => {
  const bad = await register('has space', 'province-38')
  t.equal(bad.statusCode, 400)
  t.same(bad.json().errors.map((e: { in: string }) => e.in), ['header'])
  const contract = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  const parameter = contract.paths['/v2/systems'].post.parameters.find((p: { name: string }) => p.name === 'idempotency-key')
  t.match(parameter, { in: 'header', required: false })
})
