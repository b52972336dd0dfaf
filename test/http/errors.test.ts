import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { buildTestApp } from '../helpers/app.js'

const { app, database } = await buildTestApp(t, { env: { BODY_LIMIT_BYTES: '2048' } })

const isProblem = (t: Test, response: { statusCode: number, headers: Record<string, unknown>, json(): any }, status: number, code: string) => {
  t.equal(response.statusCode, status, `status ${status}`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, 'problem content type')
  const body = response.json()
  t.equal(body.status, status)
  t.equal(body.code, code)
  t.equal(body.type, `/problems/${code}`)
  t.type(body.title, 'string')
  t.type(body.detail, 'string')
  t.equal(body.instance, response.headers['x-request-id'], 'instance is the request id')
  return body
}

t.test('malformed JSON is a 400 malformed-json', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', headers: { 'content-type': 'application/json' }, payload: '{"codes": [' })
  isProblem(t, response, 400, 'malformed-json')
})

t.test('prototype poisoning in JSON is refused', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', headers: { 'content-type': 'application/json' }, payload: '{"codes":["01"],"__proto__":{"x":1}}' })
  isProblem(t, response, 400, 'malformed-json')
})

t.test('an empty JSON body is a 400', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', headers: { 'content-type': 'application/json' }, payload: '' })
  isProblem(t, response, 400, 'malformed-json')
})

t.test('a body that is not JSON is a 415', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', headers: { 'content-type': 'text/plain' }, payload: 'codes=01' })
  isProblem(t, response, 415, 'unsupported-media-type')
})

t.test('a body over the limit is a 413', async (t) => {
  const codes = Array.from({ length: 400 }, (_, i) => String(10000 + i))
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes } })
  isProblem(t, response, 413, 'body-too-large')
})

t.test('an unknown route is a 404 route-not-found', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/v2/nothing-here' })
  isProblem(t, response, 404, 'route-not-found')
})

t.test('an unknown body field is a 400 naming it', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: ['01'], extra: true } })
  const body = isProblem(t, response, 400, 'validation-failed')
  t.same(body.errors, [{ in: 'body', pointer: '/extra', message: 'is not a field of this schema' }])
})

t.test('every failing field is listed with a JSON pointer', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: ['01', 'x', 7] } })
  const body = isProblem(t, response, 400, 'validation-failed')
  const pointers = body.errors.map((e: { pointer: string }) => e.pointer)
  t.ok(pointers.includes('/codes/1'), 'the bad string is named')
  t.ok(pointers.includes('/codes/2'), 'the number is named')
})

t.test('a missing field is named', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: {} })
  const body = isProblem(t, response, 400, 'validation-failed')
  t.same(body.errors, [{ in: 'body', pointer: '/codes', message: 'is required' }])
})

t.test('types are not coerced in bodies', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: [79] } })
  isProblem(t, response, 400, 'validation-failed')
})

t.test('an unknown query parameter is a 400', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/v2/admin-units?colour=red' })
  const body = isProblem(t, response, 400, 'validation-failed')
  t.same(body.errors, [{ in: 'query', pointer: '/colour', message: 'is not a field of this schema' }])
})

t.test('a query parameter out of range or of the wrong type is a 400', async (t) => {
  for (const query of ['limit=1001', 'limit=0', 'limit=ten', 'level=district', 'includeRetired=maybe']) {
    const response = await app.inject({ method: 'GET', url: `/v2/admin-units?${query}` })
    isProblem(t, response, 400, 'validation-failed')
  }
})

t.test('a bad path parameter is a 400', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/v2/admin-units/abc' })
  const body = isProblem(t, response, 400, 'validation-failed')
  t.equal(body.errors[0].in, 'path')
})

t.test('a forged cursor is a 400 invalid-cursor', async (t) => {
  for (const cursor of ['bm90LWpzb24', Buffer.from('[1]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
    const response = await app.inject({ method: 'GET', url: `/v2/admin-units?cursor=${cursor}` })
    isProblem(t, response, 400, 'invalid-cursor')
  }
})

t.test('a cursor whose instant is not one the service wrote is a 400 invalid-cursor, not a database error', async (t) => {
  const { registerSystem, signedInject } = await import('../helpers/systems.js')
  const central = await registerSystem(database, 'central-errors')
  for (const instant of ['tomorrow', '2026-13-45T99:00:00.000Z', '2026-12-02 10:00', '']) {
    const cursor = Buffer.from(JSON.stringify([instant, 'x'])).toString('base64url')
    for (const url of [`/v2/contents?cursor=${cursor}`, `/v2/provinces/79/broadcast-logs?cursor=${cursor}`, `/v2/provinces/79/devices/station/st-1/status-history?cursor=${cursor}`]) {
      isProblem(t, await signedInject(app, central, { method: 'GET', url }), 400, 'invalid-cursor')
    }
  }
  const notUuid = Buffer.from(JSON.stringify([new Date().toISOString(), 'x'])).toString('base64url')
  isProblem(t, await signedInject(app, central, { method: 'GET', url: `/v2/contents?cursor=${notUuid}` }), 400, 'invalid-cursor')
  const good = Buffer.from(JSON.stringify([new Date().toISOString(), '00000000-0000-4000-8000-000000000000'])).toString('base64url')
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/contents?cursor=${good}` })).statusCode, 200, 'one it could have written is read')
})

t.test('a caller request id is echoed; an unsafe one is replaced', async (t) => {
  const kept = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'abc-123' } })
  t.equal(kept.headers['x-request-id'], 'abc-123')
  const replaced = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id\n' } })
  t.not(replaced.headers['x-request-id'], 'bad id\n')
  t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('a failure inside the service is a 500 that leaks neither stack nor SQL', async (t) => {
  await sql`drop table admin_unit_predecessors`.execute(database.db)
  const response = await app.inject({ method: 'GET', url: '/v2/admin-units/24' })
  const body = isProblem(t, response, 500, 'internal-error')
  t.notMatch(response.body, /admin_unit|relation|select|at .*\.ts/i)
  t.equal(body.detail, 'the service failed while handling this request')
})

t.test('the problem catalogue describes every code', async (t) => {
  const list = await app.inject({ method: 'GET', url: '/problems' })
  t.equal(list.statusCode, 200)
  const codes = list.json().map((p: { code: string }) => p.code)
  t.ok(codes.includes('validation-failed'))
  const one = await app.inject({ method: 'GET', url: '/problems/body-too-large' })
  t.match(one.json(), { code: 'body-too-large', status: 413, type: '/problems/body-too-large' })
  isProblem(t, await app.inject({ method: 'GET', url: '/problems/none-such' }), 404, 'not-found')
})

t.test('a validation problem names the allowed values of an enum or a constant, in its detail and its field errors', async (t) => {
  const query = await app.inject({ method: 'GET', url: '/v2/admin-units?level=district' })
  const body = isProblem(t, query, 400, 'validation-failed')
  t.match(body.detail, 'query /level: must be one of province, commune')
  t.same(body.errors, [{ in: 'query', pointer: '/level', message: 'must be one of province, commune' }])

  const { registerSystem, signedInject } = await import('../helpers/systems.js')
  const central = await registerSystem(database, 'central-enums')
  const content = { title: 'Tin', topic: 'disasters-fire-epidemics', priority: 'urgent', targets: 'everyone' }
  const refused = isProblem(t, await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: content }), 400, 'validation-failed')
  t.match(refused.detail, 'body /priority: must be one of normal, priority, emergency; body /targets: must be all')
})
