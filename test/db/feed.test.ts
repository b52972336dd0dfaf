import t, { type Test } from 'tap'
import fc from 'fast-check'
import { sql } from 'kysely'
import type { App } from '../../src/app-type.js'
import type { Db } from '../../src/db/database.js'
import { RegistryStore } from '../../src/modules/registry/store.js'
import type { StationInput } from '../../schemas/registry.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { burnTransactionIds, feedsSettled, nextTransactionId, serverUrl, testDatabase } from '../helpers/database.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

const station = (id: string): StationInput => ({ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating' } as StationInput)

type Feed = '/v2/changes' | '/v2/contents/feed'

/** Follows nextCursor from the start with pages of `limit` until a page comes back empty. */
async function walk(app: App, reader: TestSystem, feed: Feed, limit: number): Promise<string[]> {
  const keys: string[] = []
  let after = ''
  for (let pages = 0; ; pages++) {
    if (pages > 10_000) throw new Error('the walk does not end')
    const response = await signedInject(app, reader, { method: 'GET', url: `${feed}?limit=${limit}${after ? `&after=${after}` : ''}` })
    if (response.statusCode !== 200) throw new Error(`${feed} answered ${response.statusCode}: ${response.body}`)
    const page = response.json() as { items: { seq?: number, id: string }[], nextCursor: string }
    if (page.items.length === 0) {
      if (page.nextCursor !== after && after !== '') throw new Error('an empty page moved the cursor')
      return keys
    }
    keys.push(...page.items.map((item) => String(item.seq ?? item.id)))
    after = page.nextCursor
  }
}

/** What a walk must return: every settled row once, in transaction-id order compared as numbers. */
async function truth(db: Db, feed: Feed): Promise<string[]> {
  if (feed === '/v2/changes') {
    const { rows } = await sql<{ key: string }>`select seq::text as key from registry_changes order by xid, seq`.execute(db)
    return rows.map((r) => r.key)
  }
  const { rows } = await sql<{ key: string }>`select id::text as key from content_events order by xid, seq`.execute(db)
  return rows.map((r) => r.key)
}

async function setup(t: Test) {
  const built = await buildTestApp(t)
  const province = await registerSystem(built.database, 'province-79')
  const central = await registerSystem(built.database, 'central-portal')
  return { ...built, province, central }
}

t.test('a walk from the start with small pages reads every change once, across transaction ids of every length', async (t) => {
  const { app, database, province, central } = await setup(t)
  const { db } = database

  // Real writes through the API, one transaction each; when a power of ten is within reach the
  // counter is moved next to it so that the writes themselves cross to ids one digit longer.
  const next = await nextTransactionId(db)
  const boundary = 10n ** BigInt(next.toString().length)
  if (boundary - next < 200_000n) await burnTransactionIds(db, Number(boundary - next) - 10)
  for (let i = 0; i < 20; i++) {
    const put = await signedInject(app, province, { method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [station(`s${i}`)] } })
    t.equal(put.statusCode, 200)
    const publish = await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ title: `Bản tin ${i}` }) })
    if (publish.statusCode !== 201) t.fail(publish.body)
  }
  // Rows of older transactions of every shorter length, as a database that lived long has them.
  const current = await nextTransactionId(db)
  const older = [] as string[]
  for (let p = 1n; p * 10n < current; p *= 10n) older.push(String(p * 10n - 1n), String(p * 10n), String(p * 10n + 1n))
  for (const xid of older) {
    await sql`insert into registry_changes (xid, province_code, entity, record_id, operation, version, record, changed_at)
      select ${xid}::xid8, province_code, entity, record_id || ${`-x${xid}`}, operation, version, record, changed_at
      from registry_changes order by seq limit 1`.execute(db)
    await sql`insert into content_events (xid, id, content_id, version, type, audience, item, occurred_at)
      select ${xid}::xid8, gen_random_uuid(), content_id, version, type, audience, item, occurred_at
      from content_events order by seq limit 1`.execute(db)
  }
  const lengths = new Set((await sql<{ xid: string }>`select xid::text as xid from registry_changes`.execute(db)).rows.map((r) => r.xid.length))
  t.ok(lengths.size >= 2, `transaction ids of ${[...lengths].join(', ')} digits are in the feed`)

  for (const feed of ['/v2/changes', '/v2/contents/feed'] as const) {
    const expected = await truth(db, feed)
    for (const limit of [1, 2, 3, 24, 1000]) {
      const keys = await walk(app, central, feed, limit)
      t.same(keys, expected, `${feed} with limit=${limit}: every row once, in order`)
    }
  }
})

t.test('a transaction open in another database of the server holds the feed back, and nothing is skipped once it ends', { skip: serverUrl ? false : 'needs a PostgreSQL server with a second database' }, async (t) => {
  const { app, database, central } = await setup(t)
  const other = await testDatabase(t)
  let end!: () => void
  const ended = new Promise<void>((resolve) => { end = resolve })
  let began!: () => void
  const holding = new Promise<void>((resolve) => { began = resolve })
  const elsewhere = other.db.transaction().execute(async (trx) => {
    await sql`select pg_current_xact_id()`.execute(trx)
    began()
    await ended
  })
  await holding
  await database.db.transaction().execute((trx) => new RegistryStore(database.db).applyBatch(trx, '79', { stations: [station('held')] }, {}))
  const ids = async () => (await signedInject(app, central, { method: 'GET', url: '/v2/changes' })).json().items.map((item: { id: string }) => item.id)
  t.same(await ids(), [], 'not served while the older transaction in the other database is open')
  end()
  await elsewhere
  await feedsSettled(database.db)
  t.same(await ids(), ['held'], 'served once it ends')
})

t.test('a forged feed cursor is a 400, never a 500', async (t) => {
  const { app, central } = await setup(t)
  const forged = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url')
  for (const cursor of [forged(['99999999999999999999', 1]), forged(['1', 1.5]), forged(['1', -1]), forged(['1', 1e300]), forged(['x', 1]), forged(['1\u0000', 1])]) {
    for (const feed of ['/v2/changes', '/v2/contents/feed']) {
      const response = await signedInject(app, central, { method: 'GET', url: `${feed}?after=${cursor}` })
      t.equal(response.statusCode, 400, `${feed} ${cursor}`)
      t.equal(response.json().code, 'invalid-cursor')
    }
  }
})

/**
 * Random interleavings of writers and a reader. Each run starts with a history of changes
 * written by older transactions (ids of any shorter length, as a long-lived database holds
 * them), then writers open transactions that write changes
 * and later commit or roll back in any order (on PostgreSQL several stay open at once; the
 * embedded database has one connection, so there each writer commits before the next step);
 * the transaction counter jumps between steps so ids change length; the reader pages with
 * random sizes. The pages together must hold every committed change exactly once, none of a
 * rolled-back one, in the same order a fresh walk from the start gives.
 */
t.test('property: the pages a reader gets equal the committed changes, each once, in a stable order', async (t) => {
  const { app, database, central } = await setup(t)
  const { db } = database
  const store = new RegistryStore(db)
  const concurrent = serverUrl !== undefined

  const Step = fc.oneof(
    fc.record({ kind: fc.constant('open' as const), records: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('close' as const), pick: fc.nat(), commit: fc.boolean() }),
    fc.record({ kind: fc.constant('burn' as const), ids: fc.integer({ min: 1, max: 400 }) }),
    fc.record({ kind: fc.constant('read' as const), limit: fc.integer({ min: 1, max: 4 }) }),
  )
  // Close to a power of ten, the runs themselves carry the counter across it.
  const next = await nextTransactionId(db)
  const boundary = 10n ** BigInt(next.toString().length)
  if (boundary - next < 200_000n) await burnTransactionIds(db, Number(boundary - next) - 300)
  await db.transaction().execute((trx) => store.applyBatch(trx, '79', { stations: [station('template')] }, {}))
  const storedRecord = (await sql<{ record: string }>`select record::text as record from registry_changes limit 1`.execute(db)).rows[0]!.record
  const History = fc.array(fc.record({ digits: fc.integer({ min: 1, max: 12 }), lead: fc.integer({ min: 1, max: 99 }) }), { maxLength: 8 })

  let run = 0
  await fc.assert(fc.asyncProperty(History, fc.array(Step, { minLength: 5, maxLength: 30 }), async (history, steps) => {
    run++
    await sql`truncate registry_changes`.execute(db)
    const below = await nextTransactionId(db) - 1n
    for (const [i, { digits, lead }] of history.entries()) {
      const xid = BigInt(lead) * 10n ** BigInt(Math.min(digits, below.toString().length - 1))
      await sql`insert into registry_changes (xid, province_code, entity, record_id, operation, version, record)
        values (${String(xid < below ? xid : below - 1n)}::xid8, '79', 'station', ${`r${run}-h${i}`}, 'upsert', 1, ${storedRecord}::jsonb)`.execute(db)
    }
    const open: { release: (commit: boolean) => void, done: Promise<unknown> }[] = []
    const delivered: string[] = []
    let after = ''
    const read = async (limit: number) => {
      const page = (await signedInject(app, central, { method: 'GET', url: `/v2/changes?limit=${limit}${after ? `&after=${after}` : ''}` })).json()
      delivered.push(...page.items.map((item: { id: string, version: number }) => `${item.id}@${item.version}`))
      after = page.nextCursor
      return page.items.length as number
    }
    const write = (records: number, n: number) => {
      let release!: (commit: boolean) => void
      const decided = new Promise<boolean>((resolve) => { release = resolve })
      let wrote!: () => void
      const written = new Promise<void>((resolve) => { wrote = resolve })
      const done = db.transaction().execute(async (trx) => {
        await store.applyBatch(trx, '79', { stations: Array.from({ length: records }, (_, i) => station(`r${run}-w${n}-${i}`)) }, {})
        wrote()
        if (!await decided) throw new Error('rolled back')
      }).catch((error: Error) => { if (error.message !== 'rolled back') throw error })
      return { release, done, written }
    }
    let writers = 0
    for (const step of steps) {
      if (step.kind === 'open') {
        const writer = write(step.records, writers++)
        await writer.written
        if (concurrent && open.length < 4) open.push(writer)
        else {
          writer.release(true)
          await writer.done
        }
      } else if (step.kind === 'close' && open.length > 0) {
        const [writer] = open.splice(step.pick % open.length, 1)
        writer!.release(step.commit)
        await writer!.done
      } else if (step.kind === 'burn' && open.length === 0) {
        await burnTransactionIds(db, step.ids)
      } else if (step.kind === 'read') {
        await read(step.limit)
      }
    }
    for (const writer of open) {
      writer.release(true)
      await writer.done
    }
    await feedsSettled(db)
    while (await read(3) > 0) { /* drain */ }

    const committed = (await sql<{ key: string }>`select record_id || '@' || version as key from registry_changes order by xid, seq`.execute(db)).rows.map((r) => r.key)
    if (delivered.length !== new Set(delivered).size) throw new Error(`a change was delivered twice: ${delivered.join(' ')}`)
    if ([...delivered].sort().join() !== [...committed].sort().join()) throw new Error(`delivered ${delivered.join(' ')} but committed ${committed.join(' ')}`)
    if (delivered.join() !== committed.join()) throw new Error('the order differs from a walk from the start')
  }), { numRuns: concurrent ? 30 : 20, seed: Number(process.env.FEED_PROPERTY_SEED ?? Date.now() % 2 ** 31), endOnFailure: true })
  t.pass(`${run} interleavings`)
})
