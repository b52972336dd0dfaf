import t from 'tap'
import { sql } from 'kysely'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl } from '../helpers/database.js'
import { proxiedDatabase } from '../helpers/tcp-proxy.js'

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
    const { database, proxy } = await proxiedDatabase(t, { connectionTimeoutMs: 1000 })
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
