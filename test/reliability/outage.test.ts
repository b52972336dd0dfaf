import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl } from '../helpers/database.js'
import { registerSystem, signedInject } from '../helpers/systems.js'
import { proxiedDatabase } from '../helpers/tcp-proxy.js'

t.test('PostgreSQL going away under load: 503s, never 500s, and recovery without a restart', { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server to cut off)' }, async (t) => {
  const { target, database, proxy } = await proxiedDatabase(t, { connectionTimeoutMs: 500 })
  const { app } = await buildTestApp(t, { database, env: { RATE_LIMIT_PER_MINUTE: '100000' } })
  const province = await registerSystem(target, 'province-79')

  const statuses = new Map<number, number>()
  let running = true
  let n = 0
  const load = Array.from({ length: 4 }, async () => {
    while (running) {
      const i = n++
      const response = await signedInject(app, province, {
        method: 'PUT', url: '/v2/provinces/79/stations',
        body: { items: [{ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' }] },
      })
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
      if (response.statusCode === 503) {
        t.ok(response.headers['retry-after'], 'a 503 says when to retry')
        t.match(response.headers['content-type'], /problem\+json/)
      }
      await sleep(10)
    }
  })
  await sleep(500)
  const cutAt = Date.now()
  await proxy.cut()
  await sleep(2000)
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503, 'not ready while the database is away')
  await proxy.restore()
  let recovered = 0
  for (let i = 0; i < 100 && !recovered; i++) {
    if ((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200) recovered = Date.now()
    else await sleep(100)
  }
  await sleep(500)
  running = false
  await Promise.all(load)

  t.ok(recovered > 0, 'ready again without a restart')
  t.notOk(statuses.has(500), `no 500: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok((statuses.get(503) ?? 0) > 0, 'the outage was answered with 503s')
  t.ok((statuses.get(200) ?? 0) > 0)
  const written = await target.db.selectFrom('stations').select('id').execute()
  const changes = await target.db.selectFrom('registry_changes').select('record_id').execute()
  t.equal(changes.length, written.length, 'every stored station has its change and no change lacks its station: nothing half-written')
  t.comment(`outage run: ${JSON.stringify(Object.fromEntries(statuses))}; ready again ${recovered - cutAt - 2000} ms after the database came back`)
})
