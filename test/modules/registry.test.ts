import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { CatalogueStore } from '../../src/modules/catalogue/store.js'
import { parseCommuneCsv } from '../../src/modules/catalogue/csv.js'
import { RegistryStore } from '../../src/modules/registry/store.js'
import type { StationInput } from '../../schemas/registry.js'
import { buildTestApp } from '../helpers/app.js'
import { feedsSettled, serverUrl } from '../helpers/database.js'
import { registerSystem, signedInject, type TestSystem } from '../helpers/systems.js'

const station = (id: string, extra: Record<string, unknown> = {}) => ({ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating', ...extra })
const cluster = (id: string, stationId: string, extra: Record<string, unknown> = {}) => ({ id, stationId, kind: 'ip', status: 'operating', village: 'Khu phố 1', ...extra })

async function setup(t: Test) {
  const built = await buildTestApp(t)
  const hcm = await registerSystem(built.database, 'province-79')
  const hanoi = await registerSystem(built.database, 'province-01')
  const central = await registerSystem(built.database, 'central-portal')
  const count = async (table: 'stations' | 'clusters' | 'boards' | 'registry_changes') =>
    Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(built.database.db)).rows[0]!.n)
  return { ...built, hcm, hanoi, central, count }
}

const push = (app: Parameters<typeof signedInject>[0], system: TestSystem, entity: string, items: unknown[], province = system.id.slice(-2)) =>
  signedInject(app, system, { method: 'PUT', url: `/v2/provinces/${province}/${entity}`, body: { items } })

t.test('a batch is created, re-pushing it changes nothing, changing one record bumps only it', async (t) => {
  const { app, hcm, count } = await setup(t)
  const items = [station('st-1', { location: { latitude: 10.77, longitude: 106.7 }, operator: { name: 'Chị Lan', phone: '0909 000 111' } }), station('st-2'), station('st-3')]
  const first = await push(app, hcm, 'stations', items)
  t.equal(first.statusCode, 200)
  t.match(first.json(), { created: 3, updated: 0, unchanged: 0, unverifiedCommunes: [], receipt: { jws: String } })
  t.same(first.json().items.map((i: { version: number }) => i.version), [1, 1, 1])
  t.equal(await count('registry_changes'), 3)

  const again = await push(app, hcm, 'stations', items)
  t.match(again.json(), { created: 0, updated: 0, unchanged: 3 })
  t.same(again.json().items.map((i: { version: number }) => i.version), [1, 1, 1], 'no version bump')
  t.equal(await count('registry_changes'), 3, 'no change emitted')

  const reordered = await push(app, hcm, 'stations', [{ ...items[0], operator: { phone: '0909 000 111', name: 'Chị Lan' } }])
  t.equal(reordered.json().unchanged, 1, 'key order does not count as a change')

  const changed = await push(app, hcm, 'stations', [items[0], { ...items[1], status: 'degraded' }, items[2]])
  t.match(changed.json(), { created: 0, updated: 1, unchanged: 2 })
  t.same(changed.json().items.map((i: { version: number }) => i.version), [1, 2, 1])
  t.equal(await count('registry_changes'), 4)

  const read = await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/stations/st-1' })
  t.match(read.json(), { id: 'st-1', province: '79', location: { latitude: 10.77, longitude: 106.7 }, hasIntegrationDevice: false, communeVerified: true, version: 1, deletedAt: null })
  t.equal(read.headers.etag, '"1"')
})

t.test('a batch with bad records is refused whole, every bad record named', async (t) => {
  const { app, database, hcm, count } = await setup(t)
  // 27010 was a commune before the 2025 reorganisation, merged into 27004.
  await new CatalogueStore(database.db).importCommunes(parseCommuneCsv('code,name,kind,province_code,former_codes\n27004,Phường Tân Bình,phuong,79,27010\n'), { name: 'test.csv', sha256: '0'.repeat(64) })
  await push(app, hcm, 'stations', [station('st-old', { status: 'decommissioned' })])
  const before = { stations: await count('stations'), changes: await count('registry_changes') }

  const stationsResponse = await push(app, hcm, 'stations', [
    station('st-a'), station('st-b', { communeCode: '00070' }), station('st-a'), station('st-c', { communeCode: '27010' }), station('st-d', { communeCode: '99999' }),
  ])
  t.equal(stationsResponse.statusCode, 422)
  t.equal(stationsResponse.json().code, 'rule-violated')
  t.same(stationsResponse.json().errors.map((e: { pointer: string }) => e.pointer).sort(), ['/items/1/communeCode', '/items/2/id', '/items/3/communeCode', '/items/4/communeCode'])
  t.match(stationsResponse.json().errors.find((e: { pointer: string }) => e.pointer === '/items/1/communeCode').message, /belongs to province 01/)
  t.match(stationsResponse.json().errors.find((e: { pointer: string }) => e.pointer === '/items/3/communeCode').message, /became part of 27004/)
  t.match(stationsResponse.json().errors.find((e: { pointer: string }) => e.pointer === '/items/4/communeCode').message, /commune 99999 is not in the catalogue of province 79/)

  const clustersResponse = await push(app, hcm, 'clusters', [cluster('c-1', 'st-missing'), cluster('c-2', 'st-old'), cluster('c-3', 'st-old')])
  t.equal(clustersResponse.statusCode, 422)
  t.same(clustersResponse.json().errors.map((e: { pointer: string, message: string }) => [e.pointer, e.message]), [
    ['/items/0/stationId', 'station st-missing does not exist in province 79'],
    ['/items/1/stationId', 'station st-old is decommissioned and takes no new clusters'],
    ['/items/2/stationId', 'station st-old is decommissioned and takes no new clusters'],
  ])
  t.same({ stations: await count('stations'), changes: await count('registry_changes') }, before, 'nothing was written')
  t.equal(await count('clusters'), 0)

  const invalid = await push(app, hcm, 'stations', [station('ok'), { ...station('bad'), kind: 'satellite' }, { ...station('bad2'), location: { latitude: 48.85, longitude: 2.35 } }, { ...station('bad3'), colour: 'red' }])
  t.equal(invalid.statusCode, 400)
  const pointers = invalid.json().errors.map((e: { pointer: string }) => e.pointer)
  for (const p of ['/items/1/kind', '/items/2/location/latitude', '/items/2/location/longitude', '/items/3/colour']) t.ok(pointers.includes(p), `${p} is named`)

  const tooMany = await push(app, hcm, 'stations', Array.from({ length: 1001 }, (_, i) => station(`s${i}`)))
  t.equal(tooMany.statusCode, 400, 'more than 1000 records is refused')
})

t.test('commune codes are checked from the first start: a real commune is verified, a code that does not exist is named', async (t) => {
  const { app, hcm } = await setup(t)
  const verified = await push(app, hcm, 'boards', [{ id: 'b-1', communeCode: '26740', placement: 'outdoor', status: 'operating' }])
  t.match(verified.json(), { created: 1, unverifiedCommunes: [] })
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/boards/b-1' })).json().communeVerified, true)
  const refused = await push(app, hcm, 'stations', [station('st-x', { communeCode: '26734' })])
  t.equal(refused.statusCode, 422)
  t.match(refused.json().errors, [{ pointer: '/items/0/communeCode', message: 'commune 26734 is not in the catalogue of province 79' }])
})

t.test('a mixed batch: clusters may name a station of the same batch', async (t) => {
  const { app, hcm, count } = await setup(t)
  const response = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry',
    body: { stations: [station('st-new')], clusters: [cluster('c-1', 'st-new'), cluster('c-2', 'st-new')], boards: [{ id: 'b-1', communeCode: '26740', placement: 'indoor', status: 'operating', screenSizeInches: 55 }] },
  })
  t.equal(response.statusCode, 200)
  t.match(response.json(), { stations: { created: 1 }, clusters: { created: 2 }, boards: { created: 1 } })
  t.equal(await count('registry_changes'), 4)

  const refused = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/registry',
    body: { stations: [station('st-gone', { status: 'decommissioned' })], clusters: [cluster('c-9', 'st-gone')] },
  })
  t.equal(refused.statusCode, 422)
  t.same(refused.json().errors.map((e: { pointer: string }) => e.pointer), ['/clusters/0/stationId'])
})

t.test('If-Match: 428 without, 412 when stale, 200 when current; If-None-Match gives 304', async (t) => {
  const { app, hcm } = await setup(t)
  await push(app, hcm, 'stations', [station('st-1')])
  const replacement = { communeCode: '26740', name: 'Đài mới', kind: 'wired_fm', status: 'operating' }
  const url = '/v2/provinces/79/stations/st-1'
  const missing = await signedInject(app, hcm, { method: 'PUT', url, body: replacement })
  t.equal(missing.statusCode, 428)
  t.equal(missing.json().code, 'precondition-required')
  const stale = await signedInject(app, hcm, { method: 'PUT', url, body: replacement, headers: { 'if-match': '"7"' } })
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().code, 'precondition-failed')
  const ok = await signedInject(app, hcm, { method: 'PUT', url, body: replacement, headers: { 'if-match': '"1"' } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { record: { name: 'Đài mới', kind: 'wired_fm', version: 2 }, result: 'updated', receipt: { id: String } })
  t.equal(ok.headers.etag, '"2"')
  const same = await signedInject(app, hcm, { method: 'PUT', url, body: replacement, headers: { 'if-match': '"2"' } })
  t.match(same.json(), { record: { version: 2 }, result: 'unchanged' })

  const notModified = await signedInject(app, hcm, { method: 'GET', url, headers: { 'if-none-match': '"2"' } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  t.equal(notModified.headers['content-type'], undefined, 'a 304 claims no body type')
  t.notOk(Number(notModified.headers['content-length'] ?? 0) > 0, 'nor a length')
  t.equal(notModified.headers.etag, '"2"')
  const missingRecord = await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/stations/none', body: replacement, headers: { 'if-match': '*' } })
  t.equal(missingRecord.statusCode, 404)
})

t.test('a soft delete leaves the lists and reaches the changes feed', async (t) => {
  const { app, hcm, central } = await setup(t)
  await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/registry', body: { stations: [station('st-1'), station('st-2')], clusters: [cluster('c-1', 'st-1')] } })
  const blocked = await signedInject(app, hcm, { method: 'DELETE', url: '/v2/provinces/79/stations/st-1' })
  t.equal(blocked.statusCode, 422, 'a station with clusters is not deleted')
  const stale = await signedInject(app, hcm, { method: 'DELETE', url: '/v2/provinces/79/stations/st-2', headers: { 'if-match': '"5"' } })
  t.equal(stale.statusCode, 412)
  const deleted = await signedInject(app, hcm, { method: 'DELETE', url: '/v2/provinces/79/stations/st-2' })
  t.equal(deleted.statusCode, 200)
  t.match(deleted.json(), { result: 'deleted', record: { id: 'st-2', version: 2, deletedAt: String } })
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/stations/st-2' })).statusCode, 404)
  t.equal((await signedInject(app, hcm, { method: 'DELETE', url: '/v2/provinces/79/stations/st-2' })).statusCode, 404)

  const list = await signedInject(app, central, { method: 'GET', url: '/v2/provinces/79/stations' })
  t.same(list.json().items.map((s: { id: string }) => s.id), ['st-1'])
  const withDeleted = await signedInject(app, central, { method: 'GET', url: '/v2/provinces/79/stations?includeDeleted=true' })
  t.same(withDeleted.json().items.map((s: { id: string }) => s.id), ['st-1', 'st-2'])

  await feedsSettled(app.deps.database.db)
  const feed = await signedInject(app, central, { method: 'GET', url: '/v2/changes?entity=station' })
  const last = feed.json().items.at(-1)
  t.match(last, { entity: 'station', id: 'st-2', operation: 'delete', version: 2, record: { deletedAt: String } })

  const revived = await push(app, hcm, 'stations', [station('st-2')])
  t.match(revived.json().items[0], { id: 'st-2', version: 3, result: 'updated' }, 'pushing a deleted record brings it back')
})

t.test('filters and central reads across provinces', async (t) => {
  const { app, hcm, hanoi, central } = await setup(t)
  await push(app, hcm, 'stations', [station('a', { kind: 'wired' }), station('b'), station('c', { communeCode: '26743', status: 'degraded' })])
  await push(app, hanoi, 'stations', [station('a', { communeCode: '00070' })])
  const byKind = await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/stations?kind=ip&status=operating' })
  t.same(byKind.json().items.map((s: { id: string }) => s.id), ['b'])
  const byCommune = await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/stations?commune=26743' })
  t.same(byCommune.json().items.map((s: { id: string }) => s.id), ['c'])
  const national = await signedInject(app, central, { method: 'GET', url: '/v2/stations?limit=2' })
  t.same(national.json().items.map((s: { province: string, id: string }) => `${s.province}/${s.id}`), ['01/a', '79/a'])
  const next = await signedInject(app, central, { method: 'GET', url: `/v2/stations?limit=2&cursor=${national.json().nextCursor}` })
  t.same(next.json().items.map((s: { province: string, id: string }) => `${s.province}/${s.id}`), ['79/b', '79/c'])
  const oneProvince = await signedInject(app, central, { method: 'GET', url: '/v2/stations?province=01' })
  t.equal(oneProvince.json().items.length, 1)
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/stations' })).json().code, 'role-forbidden')
})

t.test('a province cannot reach another province\'s registry through the path, the body or a query', async (t) => {
  const { app, hcm, hanoi } = await setup(t)
  await push(app, hanoi, 'stations', [station('hn-1', { communeCode: '00070' })])
  const viaPath = await push(app, hcm, 'stations', [station('x')], '01')
  t.equal(viaPath.statusCode, 403)
  t.equal(viaPath.json().code, 'scope-forbidden')
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/01/stations/hn-1' })).statusCode, 403)
  const viaBody = await push(app, hcm, 'clusters', [cluster('c-x', 'hn-1')])
  t.equal(viaBody.statusCode, 422, 'a station of another province cannot be referenced')
  t.match(viaBody.json().errors[0].message, /does not exist in province 79/)
  const viaQuery = await signedInject(app, hcm, { method: 'GET', url: '/v2/changes?province=01' })
  t.equal(viaQuery.statusCode, 403)
  t.equal(viaQuery.json().code, 'scope-forbidden')
  await feedsSettled(app.deps.database.db)
  const own = await signedInject(app, hcm, { method: 'GET', url: '/v2/changes' })
  t.same(own.json().items, [], 'a province\'s feed holds only its own province')
  const central = await signedInject(app, hanoi, { method: 'GET', url: '/v2/changes' })
  t.equal(central.json().items.length, 1)
})

t.test('a reader paging concurrently with writers that commit out of order never skips a change', async (t) => {
  const { app, database, central } = await setup(t)
  const store = new RegistryStore(database.db)
  const writers = 6
  const batchesPerWriter = 8
  let writing = true
  const seen: { seq: number, key: string }[] = []
  let cursor = ''
  let outOfOrder = 0

  const read = async () => {
    const response = await signedInject(app, central, { method: 'GET', url: `/v2/changes?limit=50${cursor ? `&after=${cursor}` : ''}` })
    const page = response.json()
    for (const item of page.items) {
      if (seen.length > 0 && item.seq < seen[seen.length - 1]!.seq) outOfOrder++
      seen.push({ seq: item.seq, key: `${item.province}/${item.entity}/${item.id}@${item.version}` })
    }
    cursor = page.nextCursor
    return page.items.length
  }
  const reader = (async () => {
    while (writing) {
      await read()
      await sleep(2)
    }
  })()

  // Each writer holds its transaction open for a random while after taking its sequence
  // numbers, so transactions that started later often commit first.
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let b = 0; b < batchesPerWriter; b++) {
      await database.db.transaction().execute(async (trx) => {
        await store.applyBatch(trx, '79', { stations: [station(`w${w}-b${b}-1`), station(`w${w}-b${b}-2`)] as StationInput[] }, {})
        await sleep(Math.random() * 15)
      })
    }
  }))
  writing = false
  await reader
  await feedsSettled(database.db)
  while (await read() > 0) { /* drain */ }

  const written = await database.db.selectFrom('registry_changes').select(['province_code', 'entity', 'record_id', 'version']).execute()
  const expected = written.map((r) => `${r.province_code}/${r.entity}/${r.record_id}@${r.version}`).sort()
  const keys = seen.map((s) => s.key)
  t.equal(keys.length, writers * batchesPerWriter * 2, 'every change was read')
  t.same([...keys].sort(), expected, 'exactly the changes written')
  t.equal(new Set(keys).size, keys.length, 'none twice')
  t.comment(`changes read out of sequence order: ${outOfOrder}`)
})

t.test('a change committed while an earlier one is still open is held back until the earlier commits', { skip: serverUrl ? false : 'needs concurrent connections (real PostgreSQL)' }, async (t) => {
  const { app, database, central } = await setup(t)
  const store = new RegistryStore(database.db)
  const read = async (after: string) => {
    const page = (await signedInject(app, central, { method: 'GET', url: `/v2/changes?limit=50${after ? `&after=${after}` : ''}` })).json()
    return { ids: page.items.map((item: { id: string }) => item.id) as string[], cursor: page.nextCursor as string }
  }
  let releaseEarly!: () => void
  const earlyMayCommit = new Promise<void>((resolve) => { releaseEarly = resolve })
  let earlyWrote!: () => void
  const earlyHasWritten = new Promise<void>((resolve) => { earlyWrote = resolve })
  const early = database.db.transaction().execute(async (trx) => {
    await store.applyBatch(trx, '79', { stations: [station('early')] as StationInput[] }, {})
    earlyWrote()
    await earlyMayCommit
  })
  await earlyHasWritten
  await database.db.transaction().execute((trx) => store.applyBatch(trx, '79', { stations: [station('late')] as StationInput[] }, {}))

  const whileOpen = await read('')
  t.same(whileOpen.ids, [], 'the later change is not served while the earlier transaction is open')
  releaseEarly()
  await early
  await feedsSettled(database.db)
  const afterCommit = await read(whileOpen.cursor)
  t.same(afterCommit.ids, ['early', 'late'], 'both are served, the earlier first, none skipped')
})

t.test('programmes on clusters: a replacement names the clusters it replaced, an extension its villages; summaries count them', async (t) => {
  const { app, hcm, central } = await setup(t)
  await push(app, hcm, 'stations', [station('st-1', { programme: 'new_station', fundingSource: 'new_rural_development' }), station('st-2')])
  await push(app, hcm, 'clusters', [cluster('fm-1', 'st-1', { kind: 'fm', status: 'out_of_service' }), cluster('fm-2', 'st-1', { kind: 'wired', status: 'out_of_service' })])
  const pushed = await push(app, hcm, 'clusters', [
    cluster('ip-1', 'st-1', { programme: 'replacement', fundingSource: 'local_budget', replaces: ['fm-1', 'fm-2'] }),
    cluster('ip-2', 'st-2', { programme: 'extension', villagesCovered: ['Ấp 3', 'Ấp 4'] }),
    cluster('ip-3', 'st-2', { programme: 'extension', village: 'Ấp 5' }),
  ])
  t.equal(pushed.statusCode, 200, pushed.body)
  const read = (await signedInject(app, hcm, { method: 'GET', url: '/v2/provinces/79/clusters/ip-1' })).json()
  t.match(read, { programme: 'replacement', fundingSource: 'local_budget', replaces: ['fm-1', 'fm-2'] })

  const refused = await push(app, hcm, 'clusters', [
    cluster('ip-9', 'st-1', { replaces: ['fm-1'] }),
    cluster('ip-8', 'st-1', { programme: 'replacement', replaces: ['nope', 'ip-8'] }),
  ])
  t.equal(refused.statusCode, 422)
  t.same(refused.json().errors.map((e: { pointer: string, message: string }) => `${e.pointer} ${e.message}`), [
    '/items/0/replaces only a replacement (programme replacement) names the clusters it replaced',
    '/items/1/replaces cluster nope does not exist in province 79',
    '/items/1/replaces a cluster does not replace itself',
  ])

  const summary = (await signedInject(app, central, { method: 'GET', url: '/v2/summaries/provinces/79' })).json()
  t.same(summary.province.programmes, { newStations: 1, replacementClusters: 1, clustersReplaced: 2, extensionClusters: 2, villagesNewlyCovered: 3 })
  const national = (await signedInject(app, central, { method: 'GET', url: '/v2/summaries/national' })).json()
  t.equal(national.total.programmes.villagesNewlyCovered, 3)
})
