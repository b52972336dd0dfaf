import { randomBytes } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { ephemeralServiceKeys } from '../../src/auth/service-keys.js'
import { TtnClient } from '../../src/client/client.js'
import { auditLeafHash } from '../../src/client/transparency.js'
import { witnessLog } from '../../src/client/witness.js'
import { openEmbedded, openPostgres, type Database, type Db } from '../../src/db/database.js'
import { rowToEntry } from '../../src/modules/audit/store.js'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { EMBEDDED_TEMPLATE, TEMPLATE_DATABASE, onServer, serverUrl, withDatabaseName } from '../helpers/database.js'
import { registerSystem } from '../helpers/systems.js'

/**
 * An insider with write access to the database tries each way of rewriting history. `ttn audit
 * verify`, given only the service's public keys and a witness's kept checkpoint, must name each.
 */

const dir = await mkdtemp(join(tmpdir(), 'ttn-tamper-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const serviceKeys = await ephemeralServiceKeys()
const jwksFile = join(dir, 'jwks.json')
const witnessFile = join(dir, 'witness-79.json')

/** A database of this test: a folder of its own (embedded) or a database of its own (PostgreSQL), and how to copy it. */
interface Place { env: Record<string, string>, open: () => Promise<Database> }
const created: string[] = []
t.teardown(async () => { if (serverUrl) await onServer(created.map((name) => `drop database if exists ${name} with (force)`)) })

async function newPlace(from?: Place & { name: string }): Promise<Place & { name: string }> {
  const name = `ttn_tamper_${process.pid}_${randomBytes(3).toString('hex')}`
  if (serverUrl) {
    await onServer([`create database ${name} template ${from?.name ?? TEMPLATE_DATABASE}`])
    created.push(name)
    const url = withDatabaseName(serverUrl, name)
    return { name, env: { DATABASE_URL: url }, open: async () => openPostgres({ url, poolMax: 4 }) }
  }
  const folder = join(dir, name)
  if (from) await cp(join(dir, from.name), folder, { recursive: true })
  const template = from ? undefined : new Blob([await readFile(EMBEDDED_TEMPLATE)])
  let first = true
  return {
    name,
    env: { DATA_DIR: folder },
    open: () => {
      const database = openEmbedded({ dataDir: folder, ...(first && template ? { loadFrom: template } : {}) })
      first = false
      return database
    },
  }
}

async function withPlace<T>(place: Place, work: (db: Db) => Promise<T>): Promise<T> {
  const database = await place.open()
  try {
    return await work(database.db)
  } finally {
    await database.close()
  }
}

const verify = (place: Place, withWitness = true) =>
  ttn(['audit', 'verify', '--jwks', jwksFile, ...(withWitness ? ['--witness', witnessFile] : [])], place.env)

const station = (id: string) => ({ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating' })

// The history: writes, reads and refusals in three checkpoints, watched by province 79 after each.
const base = await newPlace()
{
  const database = await base.open()
  // Checkpoints only where the history seals them: a busy machine must not let the timer add one.
  const { app } = await buildTestApp(t, { database, serviceKeys, env: { AUDIT_SEAL_INTERVAL_MS: '3600000' } })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const system = await registerSystem(database, 'province-79')
  const client = new TtnClient({ baseUrl: url, systemId: system.id, key: system.key })
  let state
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) await client.push('stations', '79', [station(`r${round}-${i}`)] as never)
    await client.getSystem('province-79')
    await app.inject({ method: 'GET', url: '/v2/systems/province-79' })
    await app.audit.sealNow()
    state = (await witnessLog(client, { systemId: system.id, key: system.key }, state)).state
  }
  await writeFile(witnessFile, JSON.stringify(state))
  await writeFile(jwksFile, (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  await app.close()
  await database.close()
}

const sizes = await withPlace(base, async (db) => (await db.selectFrom('audit_checkpoints').select('tree_size').orderBy('tree_size').execute()).map((r) => r.tree_size))

t.test('the untouched log verifies, with and without the witness', async (t) => {
  t.equal(sizes.length, 3, 'three checkpoints')
  for (const withWitness of [true, false]) {
    const result = await verify(base, withWitness)
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, new RegExp(`audit log verified: ${sizes.at(-1)} entries in 3 checkpoints`))
  }
})

async function tampered(t: Test, change: (db: Db) => Promise<unknown>, expected: RegExp, withWitness = true) {
  const place = await newPlace(base)
  await withPlace(place, change)
  const result = await verify(place, withWitness)
  t.equal(result.code, 1, 'verification fails')
  t.match(result.stderr, expected, 'and names what was done')
  return result
}

t.test('a changed entry is named, whether or not its leaf hash was recomputed', async (t) => {
  await tampered(t, (db) => sql`update audit_log set status = 500 where id = 3`.execute(db), /entry 3 was altered after it was written/)
  await tampered(t, async (db) => {
    const row = await db.selectFrom('audit_log').selectAll().where('id', '=', 3).executeTakeFirstOrThrow()
    const forged = { ...rowToEntry({ ...row, caller: 'province-01' }) }
    await db.updateTable('audit_log').set({ caller: 'province-01', leaf_hash: auditLeafHash(forged) }).where('id', '=', 3).execute()
  }, /the tree node 1\/1 that proofs are built from does not match the entries(.|\n)*the entries up to \d+ do not give the root checkpoint \d+ signed/)
})

t.test('a deleted entry is named', async (t) => {
  await tampered(t, (db) => sql`delete from audit_log where id = 4`.execute(db), /entry 4 was deleted/)
})

t.test('an entry inserted into the history is caught', async (t) => {
  await tampered(t, async (db) => {
    await sql`update audit_log set id = -id where id >= 5`.execute(db)
    await sql`update audit_log set id = -id + 1 where id < 0`.execute(db)
    const row = await db.selectFrom('audit_log').selectAll().where('id', '=', 6).executeTakeFirstOrThrow()
    const { id: _id, actor, ...copy } = row
    await db.insertInto('audit_log').values({ ...copy, actor: actor === null ? null : JSON.stringify(actor), id: 5, request_id: 'inserted', leaf_hash: auditLeafHash({ ...rowToEntry(row), requestId: 'inserted' }) }).execute()
  }, /do not give the root checkpoint/)
})

t.test('a truncated tail is caught against the witness', async (t) => {
  const keep = sizes[0]!
  const truncate = async (db: Db) => {
    await sql`delete from audit_cosignatures where tree_size > ${keep}`.execute(db)
    await sql`delete from audit_checkpoints where tree_size > ${keep}`.execute(db)
    await sql`delete from audit_tree_nodes where (index + 1) * power(2, level) > ${keep}`.execute(db)
    await sql`delete from audit_log where id > ${keep}`.execute(db)
    await sql`update audit_tree_state set tree_size = ${keep}, pending_upto = null, pending_xmax = null`.execute(db)
  }
  await tampered(t, truncate, new RegExp(`witness province-79 saw ${sizes.at(-1)} entries but the log holds ${keep}: its tail was removed`))
})

t.test('a deleted or rewritten checkpoint is named', async (t) => {
  await tampered(t, async (db) => {
    await sql`delete from audit_cosignatures where tree_size = ${sizes[1]!}`.execute(db)
    await sql`delete from audit_checkpoints where tree_size = ${sizes[1]!}`.execute(db)
  }, new RegExp(`checkpoint ${sizes[1]}, named by checkpoint ${sizes[2]} as the one before it, is missing`))
  await tampered(t, (db) => sql`update audit_checkpoints set root_hash = sha256(root_hash) where tree_size = ${sizes[0]!}`.execute(db),
    new RegExp(`checkpoint ${sizes[0]} was rewritten`))
})

t.test('a history edited and re-sealed by the service itself is caught against the witness\'s checkpoint', async (t) => {
  const place = await newPlace(base)
  await withPlace(place, async (db) => {
    const row = await db.selectFrom('audit_log').selectAll().where('id', '=', 2).executeTakeFirstOrThrow()
    const forged = rowToEntry({ ...row, status: 403 })
    await db.updateTable('audit_log').set({ status: 403, leaf_hash: auditLeafHash(forged) }).where('id', '=', 2).execute()
    await sql`delete from audit_cosignatures`.execute(db)
    await sql`delete from audit_checkpoints`.execute(db)
    await sql`delete from audit_tree_nodes`.execute(db)
    await sql`update audit_tree_state set tree_size = 0, pending_upto = null, pending_xmax = null`.execute(db)
  })
  const database = await place.open()
  const { app } = await buildTestApp(t, { database, serviceKeys })
  await app.audit.sealNow()
  await app.close()
  await database.close()

  const alone = await verify(place, false)
  t.equal(alone.code, 0, 'without outside evidence the re-sealed log is self-consistent')
  const result = await verify(place)
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`witness province-79 saw another root at ${sizes.at(-1)} than the entries give: the log was rewritten after it saw it`))
})
