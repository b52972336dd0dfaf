import t from 'tap'
import { sql } from 'kysely'
import { compactVerify, createLocalJWKSet, decodeJwt } from 'jose'
import { verifyReceipt } from '../../src/client/verify.js'
import { TtnClient } from '../../src/client/client.js'
import { checkpointsConsistent, cosign, verifyCheckpoint, verifyReceiptInclusion, type ReceiptProof } from '../../src/client/transparency.js'
import { witnessLog } from '../../src/client/witness.js'
import { signCall } from '../../src/client/sign.js'
import { verifyAuditLog } from '../../src/modules/audit/verify.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const station = (id: string) => ({ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating' })

t.test('every /v2 call is recorded: writes in their transaction with their token, reads of verified callers, the rest sampled and counted', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { AUDIT_UNVERIFIED_SAMPLE: '3' } })
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-79')

  const write = await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('a')] } })
  t.equal(write.statusCode, 200)
  // No flush: the write's entry committed with the write.
  const [written] = await database.db.selectFrom('audit_log').selectAll().where('receipt_id', '=', write.json().receipt.id).execute()
  t.match(written, { kind: 'call', caller: 'province-79', verified: true, kid: province.key.kid, method: 'PUT', status: 200, operation: 'pushStations' })
  t.equal(decodeJwt(written!.call_token!).htu, '/v2/provinces/79/stations', 'the signed call token is kept with the entry')
  const { payload } = await compactVerify(written!.call_token!, createLocalJWKSet({ keys: [province.key.publicJwk] }))
  t.equal(JSON.parse(new TextDecoder().decode(payload)).bsh, written!.body_sha256, 'anyone with the caller\'s public key verifies what it signed')
  const receipt = await verifyReceipt(write.json().receipt.jws, app.deps.serviceKeys.jwks)
  t.same(receipt.log, { index: written!.id - 1, leafHash: written!.leaf_hash!.toString('base64url') }, 'the receipt names the entry\'s leaf')
  t.equal(receipt.req.kid, province.key.kid, 'the receipt names the key that signed')

  await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79' })
  for (let i = 0; i < 10; i++) await app.inject({ method: 'GET', url: '/v2/systems/province-79' })
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/v2/admin-units/79' })
  await app.inject({ method: 'GET', url: '/health/live' })
  await app.audit.flush()

  const entries = (await signedInject(app, central, { method: 'GET', url: '/v2/audit?limit=100' })).json().items
  const calls = entries.filter((e: { kind: string }) => e.kind === 'call')
  t.equal(calls.length, 1 + 1 + 3, 'the write, the verified read, and 3 sampled unverified calls; health checks are not inter-system calls')
  t.match(calls[1], { caller: 'province-79', verified: true, method: 'GET', status: 200, callToken: null, kid: province.key.kid })
  t.match(calls[2], { caller: null, verified: false, status: 401, problemCode: 'token-missing' })
  const counted = entries.filter((e: { kind: string }) => e.kind === 'refusals')
  t.same(counted.map((e: { status: number, problemCode: string | null, operation: string, refusals: number }) => [e.status, e.problemCode, e.operation, e.refusals]).sort(),
    [[200, null, 'getAdminUnit', 5], [401, 'token-missing', 'getSystem', 7]], 'the rest counted per status, problem and operation')

  const byCaller = await signedInject(app, central, { method: 'GET', url: '/v2/audit?caller=province-79' })
  t.equal(byCaller.json().items.length, 2)
  const refused = await signedInject(app, province, { method: 'GET', url: '/v2/audit' })
  t.equal(refused.json().code, 'role-forbidden')
})

t.test('10,000 anonymous calls grow the log by a bounded number of entries', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '1000000' } })
  for (let i = 0; i < 10_000; i++) await app.inject({ method: 'GET', url: `/v2/systems/province-${String(i % 90 + 10)}` })
  await app.audit.flush()
  const { rows: [row] } = await sql<{ n: number }>`select count(*)::int as n, sum(coalesce(refusals, 1))::int as calls from audit_log`.execute(database.db)
  t.ok(row!.n <= app.deps.config.AUDIT_UNVERIFIED_SAMPLE + 5, `${row!.n} entries for 10,000 calls`)
  t.equal((row as unknown as { calls: number }).calls, 10_000, 'every call is counted')
})

t.test('a write rolled back after taking its entry leaves a void leaf, and the tree still covers every id', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  // A cluster of an unknown station: the batch is refused after the receipt and entry would be written? No: checks come first,
  // so roll a transaction back by hand after it took an id, as a failed COMMIT would.
  await database.db.transaction().execute(async (trx) => {
    await trx.insertInto('audit_log').values({ kind: 'call', status: 200 }).execute()
    throw new Error('rolled back')
  }).catch(() => {})
  await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('a')] } })
  await app.audit.sealNow()
  const kinds = (await database.db.selectFrom('audit_log').select(['id', 'kind']).orderBy('id').execute())
  t.same(kinds.map((k) => k.id), kinds.map((_, i) => i + 1), 'ids are dense')
  t.ok(kinds.some((k) => k.kind === 'void'), 'the rolled-back id is a void leaf')
  const result = await verifyAuditLog(database.db, app.deps.serviceKeys.jwks)
  t.ok(result.ok, result.problems.join('; '))
  t.equal(result.unsealedEntries, 0)
})

t.test('a receipt is proven to be in a signed checkpoint; proofs against later checkpoints and between them verify', async (t) => {
  const { app, database } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  const other = await registerSystem(database, 'province-01')
  const write = (await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station('a')] } })).json()

  const early = await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${write.receipt.id}/proof` })
  t.equal(early.statusCode, 409, 'not in a checkpoint before the next seal')
  t.equal(early.json().code, 'log-entry-pending')
  t.ok(early.headers['retry-after'])

  await app.audit.sealNow()
  const first = (await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${write.receipt.id}/proof` })).json() as ReceiptProof
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const { checkpoint: firstCheckpoint } = await verifyReceiptInclusion(write.receipt.jws, first, jwks)
  t.equal(firstCheckpoint.previous, null, 'the first checkpoint names none before it')

  for (let i = 0; i < 37; i++) await signedInject(app, other, { method: 'GET', url: '/v2/systems/province-01' })
  await app.audit.sealNow()
  const later = (await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${write.receipt.id}/proof` })).json() as ReceiptProof
  const { checkpoint: laterCheckpoint } = await verifyReceiptInclusion(write.receipt.jws, later, jwks)
  t.ok(laterCheckpoint.treeSize > firstCheckpoint.treeSize)
  t.same(laterCheckpoint.previous, { treeSize: firstCheckpoint.treeSize, rootHash: firstCheckpoint.rootHash }, 'each checkpoint names the one before')
  const consistency = (await signedInject(app, other, { method: 'GET', url: `/v2/audit/consistency?from=${firstCheckpoint.treeSize}&to=${laterCheckpoint.treeSize}` })).json()
  t.ok(checkpointsConsistent(firstCheckpoint, laterCheckpoint, consistency.proof), 'the later checkpoint extends the first')

  await t.rejects(verifyReceiptInclusion(write.receipt.jws, { ...later, entry: { ...later.entry, status: 201 } }, jwks), /status/, 'an entry that is not the receipt\'s is refused')
  await t.rejects(verifyReceiptInclusion(write.receipt.jws, { ...later, proof: later.proof.slice(1) }, jwks), /not in the tree/, 'a bad proof is refused')

  t.equal((await signedInject(app, other, { method: 'GET', url: `/v2/receipts/${write.receipt.id}/proof` })).json().code, 'scope-forbidden')
  const entry = await signedInject(app, other, { method: 'GET', url: `/v2/audit/entries/${later.leafIndex}/proof` })
  t.equal(entry.json().code, 'scope-forbidden', 'another province does not read the entry')
  const past = await signedInject(app, province, { method: 'GET', url: `/v2/audit/entries/${later.leafIndex}/proof?treeSize=${firstCheckpoint.treeSize}` })
  t.equal(past.json().treeSize, firstCheckpoint.treeSize, 'a proof against an earlier checkpoint')
  const beyond = await signedInject(app, province, { method: 'GET', url: `/v2/audit/consistency?from=1&to=${laterCheckpoint.treeSize + 1000}` })
  t.equal(beyond.statusCode, 404)
  const pages = (await signedInject(app, other, { method: 'GET', url: '/v2/audit/checkpoints?limit=1' })).json()
  t.equal(pages.items.length, 1)
  t.equal(pages.nextCursor, String(firstCheckpoint.treeSize))
})

t.test('provinces witness the log: each checks consistency, cosigns, and the cosignatures are published', async (t) => {
  const { app, database } = await buildTestApp(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const hcm = await registerSystem(database, 'province-79')
  const hanoi = await registerSystem(database, 'province-01')
  const asHcm = new TtnClient({ baseUrl: base, systemId: hcm.id, key: hcm.key })
  const asHanoi = new TtnClient({ baseUrl: base, systemId: hanoi.id, key: hanoi.key })

  await asHcm.push('stations', '79', [station('a')] as never)
  await app.audit.sealNow()
  const first = await witnessLog(asHcm, { systemId: hcm.id, key: hcm.key }, undefined)
  await witnessLog(asHanoi, { systemId: hanoi.id, key: hanoi.key }, undefined)
  await asHcm.push('stations', '79', [station('b')] as never)
  await app.audit.sealNow()
  const second = await witnessLog(asHcm, { systemId: hcm.id, key: hcm.key }, first.state)
  t.ok(second.grewBy > 0)
  const latest = await asHanoi.latestCheckpoint()
  t.same(latest.cosignatures.map((c) => c.witness), ['province-79'], 'the latest checkpoint carries its cosignature')
  const firstPublished = (await asHanoi.listCheckpoints()).items.find((c) => c.treeSize === first.checkpoint.treeSize)!
  t.same(firstPublished.cosignatures.map((c) => c.witness).sort(), ['province-01', 'province-79'])

  // A witness offered a history that does not extend what it saw refuses to cosign.
  const forged = { ...first.state, checkpoint: second.state.checkpoint }
  const seenLater = await witnessLog(asHcm, { systemId: hcm.id, key: hcm.key }, forged)
  t.equal(seenLater.grewBy, 0, 'the same checkpoint again: nothing grew')

  const claims = await verifyCheckpoint(latest.jws, (await asHcm.serviceKeys()) as never)
  const wrongRoot = await cosign({ ...claims, rootHash: claims.rootHash.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, { systemId: hcm.id, key: hcm.key })
  const mismatch = await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: wrongRoot } })
  t.equal(mismatch.statusCode, 409)
  t.equal(mismatch.json().code, 'checkpoint-mismatch')
  const asOther = await cosign(claims, { systemId: hanoi.id, key: hanoi.key })
  const notMine = await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: asOther } })
  t.equal(notMine.statusCode, 422, 'a cosignature must be the caller\'s own')
  const again = await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: second.state.cosignature } })
  t.equal(again.statusCode, 200, 'sending the same cosignature again changes nothing')
  const unknownSize = await cosign({ ...claims, treeSize: claims.treeSize + 5 }, { systemId: hcm.id, key: hcm.key })
  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: unknownSize } })).statusCode, 404)
  const garbage = await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: 'not.a.jws' } })
  t.equal(garbage.statusCode, 422)
  const token = await signCall({ issuer: hcm.id, audience: 'ttn-central', key: hcm.key, method: 'GET', pathAndQuery: '/x' })
  t.equal((await signedInject(app, hcm, { method: 'POST', url: '/v2/audit/cosignatures', body: { cosignature: token } })).statusCode, 422, 'a call token is not a cosignature')

  const result = await verifyAuditLog(database.db, app.deps.serviceKeys.jwks, [second.state])
  t.ok(result.ok, result.problems.join('; '))
  t.ok(result.cosignatures >= 3)
})
