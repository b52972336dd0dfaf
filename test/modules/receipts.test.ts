import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { base64url } from 'jose'
import { readServiceKeys, rotateServiceKeyFile, serviceKeysOf } from '../../src/auth/service-keys.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { bodyHash } from '../../src/client/sign.js'
import { verifyReceipt } from '../../src/client/verify.js'
import { verifyCheckpoint } from '../../src/client/transparency.js'
import { ServiceKeyHistory } from '../../src/modules/receipts/key-history.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

t.test('a receipt verifies with the JWKS alone and states the request and its result', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  const body = { name: 'HTTTN TP. Hồ Chí Minh' }
  const response = await signedInject(app, province, { method: 'PATCH', url: '/v2/systems/province-79', body })
  t.equal(response.statusCode, 200)
  const { receipt } = response.json()
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()

  const claims = await verifyReceipt(receipt.jws, jwks, 'ttn-central')
  t.match(claims, {
    iss: 'ttn-central', sub: 'province-79', jti: receipt.id,
    req: { htm: 'PATCH', htu: '/v2/systems/province-79', bsh: bodyHash(JSON.stringify(body)), receivedAt: String },
    res: { status: 200, records: [{ entity: 'system', id: 'province-79', version: 2 }] },
  })

  const again = await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${receipt.id}` })
  t.equal(again.json().jws, receipt.jws, 'the receipt can be fetched again')
})

t.test('a receipt fails to verify after any byte changes', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-01')
  const { receipt } = (await signedInject(app, province, { method: 'PATCH', url: '/v2/systems/province-01', body: { name: 'Hà Nội' } })).json()
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const segments = receipt.jws.split('.').map((s: string) => base64url.decode(s))
  let tried = 0
  let accepted = 0
  for (let segment = 0; segment < 3; segment++) {
    for (let i = 0; i < segments[segment].length; i++) {
      const altered = segments.map((s: Uint8Array) => Uint8Array.from(s))
      altered[segment][i] ^= 0x01
      tried++
      await verifyReceipt(altered.map((s: Uint8Array) => base64url.encode(s)).join('.'), jwks).then(() => accepted++, () => {})
    }
  }
  t.ok(tried > 300, `${tried} single-bit changes tried`)
  t.equal(accepted, 0, 'none verifies')
})

t.test('the service rotates its key; receipts signed before still verify', async (t) => {
  const old = await importSigningKey((await generateKey()).privateJwk)
  const before = await buildTestApp(t, { serviceKeys: serviceKeysOf([old]) })
  const province = await registerSystem(before.database, 'province-92')
  const first = (await signedInject(before.app, province, { method: 'PATCH', url: '/v2/systems/province-92', body: { name: 'a' } })).json().receipt

  const next = await importSigningKey((await generateKey('EdDSA')).privateJwk)
  const after = await buildTestApp(t, { database: before.database, serviceKeys: serviceKeysOf([next, old]) })
  const second = (await signedInject(after.app, province, { method: 'PATCH', url: '/v2/systems/province-92', body: { name: 'b' } })).json().receipt
  const jwks = (await after.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  t.same(jwks.keys.map((k: { kid: string }) => k.kid), [next.kid, old.kid], 'the new key first, the old one still published')
  t.equal((await verifyReceipt(first.jws, jwks)).jti, first.id, 'the old receipt verifies')
  t.equal((await verifyReceipt(second.jws, jwks)).jti, second.id, 'the new one too')
  t.equal(JSON.parse(Buffer.from(second.jws.split('.')[0], 'base64url').toString()).kid, next.kid, 'new receipts are signed with the new key')
})

t.test('after three rotations that drop private keys, everything the first key signed still verifies with the published JWKS', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-keys-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'service.json')
  await writeFile(file, JSON.stringify({ keys: [(await generateKey()).privateJwk] }), { mode: 0o644 })
  const first = await readServiceKeys(file)
  const before = await buildTestApp(t, { serviceKeys: first })
  const history = new ServiceKeyHistory(before.database.db)
  await history.record(first.current)
  const province = await registerSystem(before.database, 'province-92')
  const receipt = (await signedInject(before.app, province, { method: 'PATCH', url: '/v2/systems/province-92', body: { name: 'a' } })).json().receipt
  await before.app.audit.sealNow()
  const checkpoint = (await signedInject(before.app, province, { method: 'GET', url: '/v2/audit/checkpoint' })).json()

  for (let i = 0; i < 3; i++) {
    await rotateServiceKeyFile(file, 'ES256', 1)
    await history.record((await readServiceKeys(file)).current)
  }
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the rotated file is readable by its owner only, whatever it was before')
  const last = await readServiceKeys(file)
  t.equal(last.all.length, 1, 'only the newest private key is kept')
  const after = await buildTestApp(t, { database: before.database, serviceKeys: last })
  const jwks = (await after.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  t.equal(jwks.keys.length, 4, 'every key ever used is published')
  t.match(jwks.keys[0], { kid: last.current.kid, status: 'active', validUntil: null })
  t.match(jwks.keys.at(-1), { kid: first.current.kid, status: 'retired', validFrom: String, validUntil: String })
  t.equal((await verifyReceipt(receipt.jws, jwks)).jti, receipt.id, 'the old receipt verifies')
  t.equal((await verifyCheckpoint(checkpoint.jws, jwks)).treeSize, checkpoint.treeSize, 'the old checkpoint verifies')
})

t.test('rotating a service key file puts the new key first and keeps the old ones', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-keys-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'service.json')
  const { privateJwk } = await generateKey()
  await writeFile(file, JSON.stringify(privateJwk))
  const added = await rotateServiceKeyFile(file, 'EdDSA')
  const keys = await readServiceKeys(file)
  t.equal(keys.current.kid, added.kid)
  t.equal(keys.current.alg, 'EdDSA')
  t.same(keys.jwks.keys.map((k) => k.kid), [added.kid, privateJwk.kid])
  t.notOk(JSON.stringify(keys.jwks).includes('"d"'), 'the published set holds no private part')
})
