import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openEmbedded, type Database } from '../../src/db/database.js'
import { projectPath } from '../../src/paths.js'
import { buildTestApp } from '../helpers/app.js'
import { testDatabase, serverUrl } from '../helpers/database.js'
import { ttn } from '../helpers/cli.js'


t.test('the 34 provinces of 2025, paged by cursor', async (t) => {
  const { app } = await buildTestApp(t)
  const codes: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const response: { statusCode: number, json(): any } = await app.inject({ method: 'GET', url: '/v2/admin-units', query: { level: 'province', limit: '10', ...(cursor ? { cursor } : {}) } })
    t.equal(response.statusCode, 200)
    const page: { items: { code: string }[], nextCursor: string | null } = response.json()
    codes.push(...page.items.map((u: { code: string }) => u.code))
    cursor = page.nextCursor
    pages++
  } while (cursor)
  t.equal(codes.length, 34)
  t.equal(pages, 4)
  t.same(codes, [...codes].sort(), 'ordered by code')
  t.ok(codes.includes('79') && codes.includes('01'))
  t.notOk(codes.includes('02'), 'former provinces are not listed by default')

  const all = await app.inject({ method: 'GET', url: '/v2/admin-units?level=province&includeRetired=true&limit=1000' })
  t.equal(all.json().items.length, 63, 'with retired units, every code ever used: 63')
})

t.test('a former province names its successor; a merged one names its predecessors', async (t) => {
  const { app } = await buildTestApp(t)
  const former = (await app.inject({ method: 'GET', url: '/v2/admin-units/02' })).json()
  t.match(former, { code: '02', name: 'Hà Giang', status: 'retired', successorCode: '08', retiredOn: '2025-07-01', successor: { code: '08', name: 'Tuyên Quang' } })

  const merged = (await app.inject({ method: 'GET', url: '/v2/admin-units/79' })).json()
  t.match(merged, { code: '79', name: 'Hồ Chí Minh', kind: 'thanh_pho', status: 'active', successor: null })
  t.same(merged.predecessors.map((p: { code: string, name: string }) => `${p.code} ${p.name}`),
    ['74 Bình Dương', '77 Bà Rịa - Vũng Tàu', '79 Hồ Chí Minh'])

  const renamed = (await app.inject({ method: 'GET', url: '/v2/admin-units/24' })).json()
  t.equal(renamed.name, 'Bắc Ninh', 'the code continues under the new name')
  t.same(renamed.predecessors.map((p: { name: string }) => p.name), ['Bắc Giang', 'Bắc Ninh'])

  const missing = await app.inject({ method: 'GET', url: '/v2/admin-units/99' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'not-found')
})

t.test('codes resolve to the units that exist today', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: ['77', '79', '98'] } })
  t.equal(response.statusCode, 200)
  const items = response.json().items
  t.same(items.map((i: { code: string, current: { code: string } | null }) => [i.code, i.current?.code ?? null]),
    [['77', '79'], ['79', '79'], ['98', null]])
  t.same(items.map((i: { successors: unknown[] }) => i.successors.length), [1, 1, 0])
})

t.test('a fresh service knows all 3,321 communes of 2025, from version 1 of the catalogue with its checksum', async (t) => {
  const { app, database } = await buildTestApp(t)
  const count = async (province?: string) => {
    let query = database.db.selectFrom('admin_units').select((eb) => eb.fn.countAll<number>().as('n')).where('level', '=', 'commune').where('status', '=', 'active')
    if (province) query = query.where('province_code', '=', province)
    return Number((await query.executeTakeFirstOrThrow()).n)
  }
  t.equal(await count(), 3321)
  t.equal(await count('01'), 126, 'Hà Nội')
  t.equal(await count('79'), 168, 'Hồ Chí Minh')
  const saiGon = (await app.inject({ method: 'GET', url: '/v2/admin-units/26740' })).json()
  t.match(saiGon, { name: 'Phường Sài Gòn', kind: 'phuong', provinceCode: '79', status: 'active' })
  t.match((await app.inject({ method: 'GET', url: '/v2/admin-units/26732' })).json(), { name: 'Đặc khu Côn Đảo', kind: 'dac_khu' })
  const page = (await app.inject({ method: 'GET', url: '/v2/admin-units?level=commune&province=01&limit=1000' })).json()
  t.equal(page.items.length, 126)
  const versions = (await app.inject({ method: 'GET', url: '/v2/admin-units/versions' })).json()
  const { createHash } = await import('node:crypto')
  const { readFile } = await import('node:fs/promises')
  const sha256 = createHash('sha256').update(await readFile(projectPath('reference', 'communes-2025.csv'))).digest('hex')
  t.match(versions.items, [{ version: 1, source: 'communes-2025.csv', sha256, units: 3321, added: 3321 }])
  const changes = (await app.inject({ method: 'GET', url: '/v2/admin-units/versions/1/changes?limit=2' })).json()
  t.match(changes.items, [{ code: '00004', change: 'added', before: null, after: { name: 'Phường Ba Đình' } }, { code: '00008' }])
  t.equal((await app.inject({ method: 'GET', url: '/v2/admin-units/versions/9/changes' })).statusCode, 404)
})

/**
 * The import runs as the real command in its own process, on the database a running
 * service would use: a folder for the embedded database, or the test's server database.
 */
async function importTarget(t: Test): Promise<{ env: Record<string, string>, open: () => Promise<Database> }> {
  if (serverUrl) {
    const database = await testDatabase(t)
    return { env: { DATABASE_URL: database.url! }, open: async () => database }
  }
  const dir = await mkdtemp(join(tmpdir(), 'ttn-catalogue-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return { env: { DATA_DIR: dir }, open: () => openEmbedded({ dataDir: dir }) }
}

t.test('ttn catalogue import makes a new version with its differences; a commune split between two resolves to both', async (t) => {
  const target = await importTarget(t)
  const dir = await mkdtemp(join(tmpdir(), 'ttn-csv-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { writeFile } = await import('node:fs/promises')
  const file = join(dir, 'successions.csv')
  // Two units of the official list, unchanged, naming former communes; 90001 was split between them.
  await writeFile(file, 'code,name,kind,province_code,former_codes,succession_note\n' +
    '27004,Phường Tân Bình,phuong,79,90001;90002,\n' +
    '27007,Phường Tân Sơn,phuong,79,90001,the wards north of the canal\n')
  const dry = await ttn(['catalogue', 'import', file, '--dry-run'], target.env)
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /2 rows: 0 added, 0 updated, 2 unchanged, 2 former units retired, 3 successions recorded; split between several units: 90001/)
  t.match(dry.stdout, /dry run: nothing was written/)

  const first = await ttn(['catalogue', 'import', file], target.env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /catalogue version 2 \(sha256 [0-9a-f]{64}\)/)
  const second = await ttn(['catalogue', 'import', file], target.env)
  t.match(second.stdout, /0 former units retired, 0 successions recorded/)
  t.match(second.stdout, /no change/)

  const database = await target.open()
  if (!serverUrl) t.teardown(() => database.close())
  const { app } = await buildTestApp(t, { database })
  const resolved = (await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: ['90001', '90002'] } })).json()
  t.equal(resolved.items[0].current, null, 'a split unit has no single successor')
  t.same(resolved.items[0].successors.map((s: { unit: { code: string }, note: string | null }) => [s.unit.code, s.note]), [['27004', null], ['27007', 'the wards north of the canal']])
  t.equal(resolved.items[1].current.code, '27004')
  t.match((await app.inject({ method: 'GET', url: '/v2/admin-units/90001' })).json(), { status: 'retired', successorCode: null })
  const versions = (await app.inject({ method: 'GET', url: '/v2/admin-units/versions' })).json()
  t.match(versions.items.at(-1), { version: 2, source: 'successions.csv', retired: 2, successions: 3 })
  const changes = (await app.inject({ method: 'GET', url: '/v2/admin-units/versions/2/changes' })).json()
  t.same(changes.items.map((c: { code: string, change: string }) => `${c.change} ${c.code}`),
    ['retired 90001', 'succession 90001>27004', 'succession 90001>27007', 'retired 90002', 'succession 90002>27004'])
})

t.test('an import names every bad line and writes nothing', async (t) => {
  const target = await importTarget(t)
  const { writeFile } = await import('node:fs/promises')
  const dir = await mkdtemp(join(tmpdir(), 'ttn-csv-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'bad.csv')
  await writeFile(file, 'code,name,kind,province_code\n12345,Good,xã,79\n1234,Short,xã,79\n12346,Kindless,huyện,79\n12345,Twice,xa,79\n')
  const result = await ttn(['catalogue', 'import', file], target.env)
  t.equal(result.code, 1)
  t.match(result.stderr, /line 3: code/)
  t.match(result.stderr, /line 4: kind must be/)
  t.match(result.stderr, /line 5: code 12345 appears twice/)

  await writeFile(file, 'code,name,kind,province_code\n12345,Good,xã,02\n')
  const retired = await ttn(['catalogue', 'import', file], target.env)
  t.equal(retired.code, 1)
  t.match(retired.stderr, /unknown or retired province codes: 02/)

  const database = await target.open()
  if (!serverUrl) t.teardown(() => database.close())
  const { app } = await buildTestApp(t, { database })
  t.notOk((await app.inject({ method: 'GET', url: '/v2/admin-units/12345' })).statusCode === 200, 'nothing was imported')
  t.equal((await app.inject({ method: 'GET', url: '/v2/admin-units/versions' })).json().items.length, 1, 'no new version')
})

t.test('the embedded database folder is refused while another process holds it', { skip: serverUrl ? 'embedded only' : false }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-lock-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const held = await openEmbedded({ dataDir: dir })
  t.teardown(() => held.close())
  const result = await ttn(['migrate'], { DATA_DIR: dir })
  t.equal(result.code, 1)
  t.match(result.stderr, /in use by process \d+/)
})
