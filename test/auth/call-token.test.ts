import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { SignJWT, base64url } from 'jose'
import { sql } from 'kysely'
import { signCall } from '../../src/client/sign.js'
import { buildTestApp } from '../helpers/app.js'
import { newKey, registerSystem, signedInject } from '../helpers/systems.js'

const { app, database } = await buildTestApp(t)
const hcm = await registerSystem(database, 'province-79')
const hanoi = await registerSystem(database, 'province-01')
const central = await registerSystem(database, 'central-portal')
const suspended = await registerSystem(database, 'province-48', { status: 'suspended' })
const retiredKey = await newKey()
await database.db.insertInto('system_keys').values({ system_id: hcm.id, kid: retiredKey.kid, alg: 'ES256', jwk: JSON.stringify(retiredKey.publicJwk), status: 'retired' }).execute()

const target = { method: 'PATCH' as const, url: `/v2/systems/${hcm.id}`, body: { name: 'HTTTN TP. Hồ Chí Minh' } }

/** What a refused call may leave behind: only its audit entry (and the jti it consumed). */
async function businessState() {
  const [systems, receipts, keys] = await Promise.all([
    database.db.selectFrom('systems').select(['id', 'name', 'status', 'version']).orderBy('id').execute(),
    sql<{ n: number }>`select count(*)::int as n from receipts`.execute(database.db),
    database.db.selectFrom('system_keys').select(['system_id', 'kid', 'status']).orderBy('kid').execute(),
  ])
  return { systems, receipts: receipts.rows[0]!.n, keys }
}

async function lastAudit() {
  await app.audit.flush()
  return database.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()
}

async function expectRefused(t: Test, send: () => Promise<{ statusCode: number, headers: Record<string, unknown>, json(): any }>, status: number, code: string) {
  const before = await businessState()
  const response = await send()
  t.equal(response.statusCode, status, `answers ${status}`)
  t.match(response.headers['content-type'], /application\/problem\+json/)
  t.equal(response.json().code, code, `problem code ${code}`)
  if (status === 401) t.match(response.headers['www-authenticate'], new RegExp(`Bearer error="invalid_token", error_description="${code}"`))
  t.same(await businessState(), before, 'nothing is written')
  const audit = await lastAudit()
  t.match(audit, { status, problem_code: code, receipt_id: null }, 'the refusal is in the audit log')
  if (status === 401) t.equal(audit.verified, false, 'as a call that failed verification')
  return response
}

/** Assembles a token from raw parts, for headers a well-behaved signer would never produce. */
const rawToken = (header: object, payload: object, signature = '') =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.${signature}`

const claimsFor = (overrides: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000)
  return { iss: hcm.id, aud: 'ttn-central', iat: now, exp: now + 60, jti: randomUUID(), htm: 'GET', htu: `/v2/systems/${hcm.id}`, bsh: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU', ...overrides }
}
const getWith = (token: string) => app.inject({ method: 'GET', url: `/v2/systems/${hcm.id}`, headers: { authorization: `Bearer ${token}` } })

t.test('a valid call passes and its write gets a receipt', async (t) => {
  const response = await signedInject(app, hcm, target)
  t.equal(response.statusCode, 200)
  t.equal(response.json().system.name, 'HTTTN TP. Hồ Chí Minh')
  t.type(response.json().receipt.jws, 'string')
  const audit = await lastAudit()
  t.match(audit, { caller: hcm.id, verified: true, status: 200, problem_code: null, receipt_id: response.json().receipt.id })
})

t.test('no token', (t) => expectRefused(t, () => app.inject({ method: 'GET', url: `/v2/systems/${hcm.id}` }), 401, 'token-missing'))

t.test('not a bearer JWS', (t) => expectRefused(t, () => getWith('not a token'), 401, 'token-malformed'))

t.test('wrong typ', async (t) => {
  const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid: hcm.key.kid, typ: 'JWT' }).sign(hcm.key.key)
  await expectRefused(t, () => getWith(token), 401, 'token-type')
})

t.test('alg: none', (t) => expectRefused(t, () => getWith(rawToken({ alg: 'none', typ: 'ttn-call+jwt', kid: hcm.key.kid }, claimsFor())), 401, 'token-algorithm'))

t.test('HS256 signed with the public key as the secret', async (t) => {
  const secret = new TextEncoder().encode(JSON.stringify(hcm.key.publicJwk))
  const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'HS256', kid: hcm.key.kid, typ: 'ttn-call+jwt' }).sign(secret)
  await expectRefused(t, () => getWith(token), 401, 'token-algorithm')
})

t.test('a jwk in the header', async (t) => {
  const attacker = await newKey()
  const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid: hcm.key.kid, typ: 'ttn-call+jwt', jwk: attacker.publicJwk }).sign(attacker.key)
  await expectRefused(t, () => getWith(token), 401, 'token-embedded-key')
})

t.test('a jku in the header', async (t) => {
  const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid: hcm.key.kid, typ: 'ttn-call+jwt', jku: 'http://127.0.0.1:1/jwks.json' }).sign(hcm.key.key)
  await expectRefused(t, () => getWith(token), 401, 'token-embedded-key')
})

t.test('an unknown issuer', async (t) => {
  const stranger = { id: 'province-96', key: await newKey() }
  await expectRefused(t, () => signedInject(app, stranger, { method: 'GET', url: `/v2/systems/${hcm.id}` }), 401, 'issuer-unknown')
})

t.test('an unknown kid', async (t) => {
  const other = await newKey()
  await expectRefused(t, () => signedInject(app, { id: hcm.id, key: other }, target), 401, 'key-unknown')
})

t.test('a retired key', (t) => expectRefused(t, () => signedInject(app, { id: hcm.id, key: retiredKey }, target), 401, 'key-retired'))

t.test('a signature that does not verify', async (t) => {
  const token = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'GET', pathAndQuery: `/v2/systems/${hcm.id}` })
  const [header, payload, signature] = token.split('.')
  const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString())
  forged.exp += 100
  await expectRefused(t, () => getWith(`${header}.${base64url.encode(JSON.stringify(forged))}.${signature}`), 401, 'signature-invalid')
})

t.test('another audience', (t) => expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { audience: 'province-01' } }), 401, 'audience-mismatch'))

t.test('expired', (t) => expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { now: new Date(Date.now() - 200_000), lifetimeSeconds: 60 } }), 401, 'token-expired'))

t.test('issued in the future beyond the skew', (t) => expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { now: new Date(Date.now() + 120_000) } }), 401, 'token-not-yet-valid'))

t.test('a lifetime over 300 seconds', (t) => expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { lifetimeSeconds: 301 } }), 401, 'token-lifetime'))

t.test('the htm of another request', (t) => expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { method: 'POST' } }), 401, 'method-mismatch'))

t.test('the htu of another request', async (t) => {
  await expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { pathAndQuery: `/v2/systems/${hanoi.id}` } }), 401, 'path-mismatch')
  await expectRefused(t, () => signedInject(app, hcm, { ...target, sign: { pathAndQuery: `${target.url}?x=1` } }), 401, 'path-mismatch')
})

t.test('the body changed after signing', async (t) => {
  const token = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'PATCH', pathAndQuery: target.url, body: JSON.stringify({ name: 'A' }) })
  await expectRefused(t, () => app.inject({
    method: 'PATCH', url: target.url, payload: JSON.stringify({ name: 'B' }),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  }), 401, 'body-hash-mismatch')
  await expectRefused(t, () => app.inject({
    method: 'PATCH', url: target.url, payload: '{"name": "A"}',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  }), 401, 'body-hash-mismatch')
})

t.test('a body that is not the signed one is refused before it is parsed', async (t) => {
  const token = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'PATCH', pathAndQuery: target.url, body: '{"name":"A"}' })
  await expectRefused(t, () => app.inject({
    method: 'PATCH', url: target.url, payload: '{"name": ',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  }), 401, 'body-hash-mismatch')
})

t.test('a replayed jti', async (t) => {
  const token = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'GET', pathAndQuery: `/v2/systems/${hcm.id}` })
  t.equal((await getWith(token)).statusCode, 200, 'first use passes')
  await expectRefused(t, () => getWith(token), 401, 'token-replayed')
})

t.test('a suspended system', (t) => expectRefused(t, () => signedInject(app, suspended, { method: 'GET', url: `/v2/systems/${suspended.id}` }), 403, 'issuer-suspended'))

t.test('a province calling an operation reserved to central', (t) => expectRefused(t, () => signedInject(app, hcm, { method: 'GET', url: '/v2/systems' }), 403, 'role-forbidden'))

t.test('a province acting on another province through the path', async (t) => {
  await expectRefused(t, () => signedInject(app, hcm, { method: 'PATCH', url: `/v2/systems/${hanoi.id}`, body: { name: 'taken over' } }), 403, 'scope-forbidden')
  await expectRefused(t, () => signedInject(app, hcm, { method: 'GET', url: `/v2/systems/${hanoi.id}` }), 403, 'scope-forbidden')
  const attacker = await newKey()
  await expectRefused(t, () => signedInject(app, hcm, { method: 'POST', url: `/v2/systems/${hanoi.id}/keys`, body: attacker.publicJwk }), 403, 'scope-forbidden')
})

t.test('a province acting beyond its scope through the body', async (t) => {
  await expectRefused(t, () => signedInject(app, hcm, { ...target, body: { status: 'active' } }), 403, 'scope-forbidden')
  await expectRefused(t, () => signedInject(app, hcm, { ...target, body: { provinceCode: '01' } }), 400, 'validation-failed')
})

t.test('a province reading another system\'s receipt', async (t) => {
  const write = await signedInject(app, hanoi, { method: 'PATCH', url: `/v2/systems/${hanoi.id}`, body: { name: 'HTTTN Hà Nội' } })
  t.equal(write.statusCode, 200)
  const id = write.json().receipt.id
  await expectRefused(t, () => signedInject(app, hcm, { method: 'GET', url: `/v2/receipts/${id}` }), 403, 'scope-forbidden')
  t.equal((await signedInject(app, hanoi, { method: 'GET', url: `/v2/receipts/${id}` })).statusCode, 200, 'its own system reads it')
  t.equal((await signedInject(app, central, { method: 'GET', url: `/v2/receipts/${id}` })).statusCode, 200, 'central reads it')
})

t.test('an EdDSA key works as well as ES256', async (t) => {
  const ed = await registerSystem(database, 'province-92', { alg: 'EdDSA' })
  const response = await signedInject(app, ed, { method: 'GET', url: `/v2/systems/${ed.id}` })
  t.equal(response.statusCode, 200)
})
