import t from 'tap'
import { decodeJwt } from 'jose'
import { verifyReceipt } from '../../src/client/verify.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from '../helpers/app.js'
import { Receiver, until } from '../helpers/receiver.js'
import { newKey, registerSystem, signedInject } from '../helpers/systems.js'

t.test('central cannot add its key to a province, nor change its name, webhook or JWKS URL; the province can', async (t) => {
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-79')
  const intruder = await newKey()

  const added = await signedInject(app, central, { method: 'POST', url: '/v2/systems/province-79/keys', body: intruder.publicJwk })
  t.equal(added.statusCode, 403)
  t.equal(added.json().code, 'scope-forbidden')
  const asProvince = await signedInject(app, { id: 'province-79', key: intruder }, { method: 'GET', url: '/v2/systems/province-79' })
  t.equal(asProvince.json().code, 'key-unknown', 'so central cannot sign as the province')
  t.equal((await signedInject(app, central, { method: 'DELETE', url: `/v2/systems/province-79/keys/${province.key.kid}` })).statusCode, 403)
  for (const body of [{ name: 'x' }, { webhookUrl: 'https://evil.example/hook' }, { jwksUri: 'https://evil.example/jwks.json' }]) {
    const refused = await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-79', body })
    t.equal(refused.statusCode, 403, JSON.stringify(body))
  }
  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-79', body: { provinceCode: '01' } })).statusCode, 400, 'a province is never changed')
  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/central-portal', body: { status: 'suspended' } })).statusCode, 422, 'central does not suspend itself')
  t.equal((await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-79', body: { status: 'suspended' } })).statusCode, 200, 'central suspends')
  await signedInject(app, central, { method: 'PATCH', url: '/v2/systems/province-79', body: { status: 'active' } })

  const next = await newKey('EdDSA')
  const own = await signedInject(app, province, { method: 'POST', url: '/v2/systems/province-79/keys', body: next.publicJwk })
  t.equal(own.statusCode, 201, 'the province introduces its new key with a call signed by its current one')
  const claims = await verifyReceipt(own.json().receipt.jws, app.deps.serviceKeys.jwks)
  t.equal(claims.req.kid, province.key.kid, 'the receipt names the key that signed')
  const renamed = await signedInject(app, { id: 'province-79', key: next }, { method: 'PATCH', url: '/v2/systems/province-79', body: { name: 'HTTTN TP. Hồ Chí Minh' } })
  t.equal(renamed.statusCode, 200)
  t.equal((await verifyReceipt(renamed.json().receipt.jws, app.deps.serviceKeys.jwks)).req.kid, next.kid)
})

t.test('a system holds at most 10 active keys', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-01')
  for (let i = 0; i < 9; i++) {
    t.equal((await signedInject(app, province, { method: 'POST', url: '/v2/systems/province-01/keys', body: (await newKey()).publicJwk })).statusCode, 201)
  }
  const eleventh = await signedInject(app, province, { method: 'POST', url: '/v2/systems/province-01/keys', body: (await newKey()).publicJwk })
  t.equal(eleventh.statusCode, 422)
  t.match(eleventh.json().detail, /10 active keys/)
})

t.test('key recovery is an explicit act of a central system the operator allowed: audited, notified, and it replaces every key', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { WEBHOOK_POLL_MS: '20' } })
  const receiver = await new Receiver({ serviceId: app.deps.config.SERVICE_ID, systemId: 'province-79', keys: app.deps.serviceKeys.jwks }).start(t)
  const province = await registerSystem(database, 'province-79', { extra: { webhookUrl: receiver.url } })
  const portal = await registerSystem(database, 'central-portal')
  const recoverer = await registerSystem(database, 'central-recovery')
  const fresh = await newKey()
  const body = { jwks: { keys: [fresh.publicJwk] }, reason: 'the province lost its private key in a disk failure' }

  const unallowed = await signedInject(app, portal, { method: 'POST', url: '/v2/systems/province-79/key-recovery', body })
  t.equal(unallowed.statusCode, 403)
  t.match(unallowed.json().detail, /SYSTEMS_FILE/)
  t.equal((await signedInject(app, province, { method: 'POST', url: '/v2/systems/province-79/key-recovery', body })).statusCode, 403, 'not a province\'s')

  await new SystemsStore(database.db).setKeyRecovery('central-recovery', true)
  app.keyDirectory.invalidate('central-recovery')
  const recovered = await signedInject(app, recoverer, { method: 'POST', url: '/v2/systems/province-79/key-recovery', body })
  t.equal(recovered.statusCode, 200, recovered.body)
  t.match(recovered.json().system.keys, [{ kid: province.key.kid, status: 'retired' }, { kid: fresh.kid, status: 'active' }])
  t.equal((await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79' })).json().code, 'key-retired', 'the old key is refused')
  t.equal((await signedInject(app, { id: 'province-79', key: fresh }, { method: 'GET', url: '/v2/systems/province-79' })).statusCode, 200, 'the new one works')

  const receipt = await verifyReceipt(recovered.json().receipt.jws, app.deps.serviceKeys.jwks)
  t.match(receipt.res.records, [{ entity: 'system-key-recovery', id: 'province-79', reason: body.reason, keys: [fresh.kid], retired: [province.key.kid] }])
  const entry = await database.db.selectFrom('audit_log').selectAll().where('receipt_id', '=', receipt.jti).executeTakeFirstOrThrow()
  t.match(entry, { operation: 'recoverSystemKeys', caller: 'central-recovery', verified: true })
  t.equal(decodeJwt(entry.call_token!).iss, 'central-recovery', 'the audit entry holds the recoverer\'s signed token')

  await until(() => receiver.delivered.length > 0, 10_000, 'the province is told')
  const notification = JSON.parse(receiver.calls.find((c) => c.verified)!.body.toString())
  t.match(notification, { type: 'system.keys-recovered', system: { id: 'province-79', recoveredBy: 'central-recovery', reason: body.reason, keys: [fresh.kid], retired: [province.key.kid], receiptId: receipt.jti } })

  const self = await signedInject(app, recoverer, { method: 'POST', url: '/v2/systems/central-recovery/key-recovery', body })
  t.equal(self.statusCode, 422, 'not of itself')
  const reused = await signedInject(app, recoverer, { method: 'POST', url: '/v2/systems/province-79/key-recovery', body: { ...body, jwks: { keys: [province.key.publicJwk] } } })
  t.equal(reused.statusCode, 409, 'a retired key does not come back')
})
