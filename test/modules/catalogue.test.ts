import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openEmbedded, type Database } from '../../src/db/database.js'
import { projectPath } from '../../src/paths.js'
import { buildTestApp } from '../helpers/app.js'
import { testDatabase, serverUrl } from '../helpers/database.js'
import { ttn } from '../helpers/cli.js'

const SAMPLE = projectPath('reference', 'communes-sample.csv')

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

t.test('ttn catalogue import lists the communes, and a second import changes nothing', async (t) => {
  const target = await importTarget(t)
  const first = await ttn(['catalogue', 'import', SAMPLE], target.env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /10 rows: 10 added, 0 updated, 0 unchanged, 19 former units retired, 19 successions recorded/)

  const second = await ttn(['catalogue', 'import', SAMPLE], target.env)
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, /10 rows: 0 added, 0 updated, 10 unchanged, 0 former units retired, 0 successions recorded/)
  t.match(second.stdout, /no change/)

  const database = await target.open()
  if (!serverUrl) t.teardown(() => database.close())
  const { app } = await buildTestApp(t, { database })
  const communes = (await app.inject({ method: 'GET', url: '/v2/admin-units?level=commune&province=79' })).json()
  t.same(communes.items.map((u: { code: string }) => u.code), ['26680', '26734', '26740', '26743', '27004'])
  t.match(communes.items[0], { name: 'Côn Đảo', kind: 'dac_khu', provinceCode: '79' })

  const former = (await app.inject({ method: 'GET', url: '/v2/admin-units/27007' })).json()
  t.match(former, { status: 'retired', successorCode: '27004', successor: { code: '27004', name: 'Cần Giờ' } })
  const resolved = (await app.inject({ method: 'POST', url: '/v2/admin-units/resolve', payload: { codes: ['27010'] } })).json()
  t.equal(resolved.items[0].current.code, '27004')
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
  const communes = (await app.inject({ method: 'GET', url: '/v2/admin-units?level=commune&includeRetired=true' })).json()
  t.same(communes.items, [], 'nothing was imported')
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
