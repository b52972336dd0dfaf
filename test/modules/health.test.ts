import t from 'tap'
import { sql } from 'kysely'
import { openPostgres } from '../../src/db/database.js'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl, testDatabase } from '../helpers/database.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

t.test('live and ready', async (t) => {
  const { app, database } = await buildTestApp(t)
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.same(live.json(), { status: 'live' })
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', database: database.kind })
})

t.test('ready is 503 while a migration is pending', async (t) => {
  const { app, database } = await buildTestApp(t)
  await sql`delete from kysely_migration where name = '0002-provinces'`.execute(database.db)
  const response = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '5')
  t.match(response.json(), { code: 'not-ready', detail: /migrations pending: 0002-provinces/ })
})

t.test('ready is 503 while PostgreSQL is unreachable and 200 once it is back, without a restart',
  { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server to cut off)' }, async (t) => {
    const target = await testDatabase(t)
    const url = new URL(target.url!)
    const proxy = await new TcpProxy(url.hostname, Number(url.port || 5432)).start()
    t.teardown(() => proxy.stop())
    url.host = `127.0.0.1:${proxy.port}`
    const database = openPostgres({ url: url.toString(), connectionTimeoutMs: 1000 })
    t.teardown(() => database.close())
    const { app } = await buildTestApp(t, { database })

    t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'ready through the relay')
    await proxy.cut()
    const down = await app.inject({ method: 'GET', url: '/health/ready' })
    t.equal(down.statusCode, 503, 'not ready while cut off')
    t.equal(down.json().code, 'not-ready')
    const read = await app.inject({ method: 'GET', url: '/v2/admin-units/79' })
    t.equal(read.statusCode, 503, 'a request needing the database is a 503, not a 500')
    t.equal(read.json().code, 'database-unavailable')
    t.ok(read.headers['retry-after'])

    await proxy.restore()
    t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'ready again')
    t.equal((await app.inject({ method: 'GET', url: '/v2/admin-units/79' })).statusCode, 200, 'serving again')
  })
