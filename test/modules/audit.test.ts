import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { generatedKeyFile, loadServiceKeys } from '../../src/auth/service-keys.js'
import { openEmbedded, type Database } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { verifyAuditLog } from '../../src/modules/audit/seal.js'
import { AuditStore } from '../../src/modules/audit/store.js'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl, testDatabase } from '../helpers/database.js'
import { ttn } from '../helpers/cli.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

t.test('every /v2 call is recorded, accepted or refused, and central pages through the log', async (t) => {
  const { app, database } = await buildTestApp(t)
  const central = await registerSystem(database, 'central-portal')
  const province = await registerSystem(database, 'province-79')
  await signedInject(app, province, { method: 'PATCH', url: '/v2/systems/province-79', body: { name: 'x' } })
  await app.inject({ method: 'GET', url: '/v2/systems/province-79' })
  await app.inject({ method: 'GET', url: '/v2/admin-units/79' })
  await app.inject({ method: 'GET', url: '/health/live' })
  await app.audit.flush()

  const page = await signedInject(app, central, { method: 'GET', url: '/v2/audit?limit=10' })
  t.equal(page.statusCode, 200)
  const entries = page.json().items
  t.equal(entries.length, 3, 'three /v2 calls; health checks are not inter-system calls')
  t.match(entries[0], { caller: 'province-79', verified: true, method: 'PATCH', status: 200, problemCode: null, receiptId: String, jti: String })
  t.match(entries[1], { caller: null, verified: false, status: 401, problemCode: 'token-missing', receiptId: null })
  t.match(entries[2], { caller: null, verified: false, path: '/v2/admin-units/79', status: 200 })

  const byCaller = await signedInject(app, central, { method: 'GET', url: '/v2/audit?caller=province-79' })
  t.equal(byCaller.json().items.length, 1)
  const refused = await signedInject(app, province, { method: 'GET', url: '/v2/audit' })
  t.equal(refused.json().code, 'role-forbidden')
})

t.test('sealing covers every entry written concurrently, and the log verifies', async (t) => {
  const { app, database, serviceKeys } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-01')
  await Promise.all(Array.from({ length: 60 }, (_, i) => i % 3 === 0
    ? app.inject({ method: 'GET', url: '/v2/systems/province-01' })
    : signedInject(app, province, { method: 'GET', url: '/v2/systems/province-01' })))
  await app.audit.sealNow()
  await Promise.all(Array.from({ length: 20 }, () => signedInject(app, province, { method: 'GET', url: '/v2/systems/province-01' })))
  await app.audit.sealNow()
  await app.inject({ method: 'GET', url: '/v2/admin-units' })
  await app.audit.flush()

  const result = await verifyAuditLog(new AuditStore(database.db), serviceKeys.jwks)
  t.match(result, { ok: true, seals: 2, sealedEntries: 80, unsealedEntries: 1 })

  await sql`update audit_log set status = 200 where id = 7`.execute(database.db)
  t.match(await verifyAuditLog(new AuditStore(database.db), serviceKeys.jwks), { ok: false, problem: { entryId: 7, sealId: 1 } }, 'an edited entry is named')
})

t.test('rewriting an entry together with its hash is caught by the seal', async (t) => {
  const { app, database, serviceKeys } = await buildTestApp(t)
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/v2/admin-units/01' })
  await app.audit.sealNow()
  const store = new AuditStore(database.db)
  const [row] = await store.sealedEntries(1)
  const { entryHash, rowToEntry } = await import('../../src/modules/audit/store.js')
  const forged = { ...rowToEntry(row!), status: 500 }
  await database.db.updateTable('audit_log').set({ status: 500, row_hash: entryHash(forged) }).where('id', '=', row!.id).execute()
  t.match(await verifyAuditLog(store, serviceKeys.jwks), { ok: false, problem: { sealId: 1, reason: /not the ones it sealed/ } })

  await database.db.deleteFrom('audit_log').where('id', '=', row!.id).execute()
  t.match(await verifyAuditLog(store, serviceKeys.jwks), { ok: false, problem: { sealId: 1, reason: /covers 5 entries but 4/ } })
})

t.test('ttn audit verify passes on an untouched log and names the record after one row is edited', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-audit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  let env: Record<string, string>
  let open: () => Promise<Database>
  if (serverUrl) {
    const database = await testDatabase(t)
    env = { DATABASE_URL: database.url!, CENTRAL_KEY_FILE: generatedKeyFile(dir) }
    open = async () => database
  } else {
    env = { DATA_DIR: dir }
    open = async () => {
      const database = await openEmbedded({ dataDir: dir })
      await migrateToLatest(database.db)
      return database
    }
  }
  const serviceKeys = await loadServiceKeys({ DATA_DIR: dir }, () => {})
  let database = await open()
  const { app } = await buildTestApp(t, { database, serviceKeys })
  const province = await registerSystem(database, 'province-79')
  for (let i = 0; i < 4; i++) await signedInject(app, province, { method: 'GET', url: '/v2/systems/province-79' })
  await app.inject({ method: 'GET', url: '/v2/systems/province-79' })
  await app.audit.sealNow()
  await app.close()
  if (!serverUrl) await database.close()

  const clean = await ttn(['audit', 'verify'], env)
  t.equal(clean.code, 0, clean.stderr)
  t.match(clean.stdout, /audit log verified: 1 seals covering 5 entries, 0 entries not yet sealed/)

  database = await open()
  await sql`update audit_log set caller = 'province-01' where id = 3`.execute(database.db)
  if (!serverUrl) await database.close()
  const tampered = await ttn(['audit', 'verify'], env)
  t.equal(tampered.code, 1)
  t.match(tampered.stderr, /audit log verification failed: entry 3 was altered after it was written/)
})
