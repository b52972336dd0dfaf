import { createServer } from 'node:http'
import t from 'tap'
import { TtnClient } from '../../src/client/index.js'
import { buildTestApp } from '../helpers/app.js'
import { feedsSettled } from '../helpers/database.js'
import { newKey, typedClients } from '../helpers/systems.js'

t.test('the typed client: pushes, paged lists, ETags and the changes feed as iterators', async (t) => {
  const { app, database } = await buildTestApp(t)
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const { asProvince, asCentral } = await typedClients(database, baseUrl)

  const stations = Array.from({ length: 25 }, (_, i) => ({ id: `st-${String(i).padStart(2, '0')}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip' as const, status: 'operating' as const }))
  t.match(await asProvince.push('stations', '79', stations), { created: 25 })
  const pushed = await asProvince.pushRegistry('79', { clusters: [{ id: 'c-1', stationId: 'st-00', kind: 'ip', status: 'operating' }] })
  t.equal(pushed.clusters.created, 1)

  const listed = []
  for await (const station of asProvince.records('stations', '79', { limit: 10 })) listed.push(station.id)
  t.equal(listed.length, 25, 'three pages walked')
  t.same(listed, stations.map((s) => s.id))

  const { record, etag } = await asProvince.getRecord('stations', '79', 'st-03')
  t.equal(etag, '"1"')
  const { id: _id, ...fields } = stations[3]!
  const replaced = await asProvince.replace('stations', '79', 'st-03', { ...fields, name: 'Đài mới', communeCode: record.communeCode }, etag)
  t.equal(replaced.record.version, 2)
  t.match(await asProvince.replace('stations', '79', 'st-03', fields, etag).catch((e: unknown) => e), { status: 412, problem: { code: 'precondition-failed' } })

  const cursors: string[] = []
  const changes = []
  await feedsSettled(database.db)
  for await (const change of asCentral.changes({ onCursor: (c) => cursors.push(c) })) changes.push(`${change.entity}/${change.id}@${change.version}`)
  t.equal(changes.length, 27, '25 stations, a cluster, a replacement')
  t.ok(cursors.length > 0)
  await asProvince.push('stations', '79', [{ ...stations[0]!, status: 'degraded' }])
  const resumed = []
  await feedsSettled(database.db)
  for await (const change of asCentral.changes({ after: cursors.at(-1) })) resumed.push(`${change.entity}/${change.id}@${change.version}`)
  t.same(resumed, ['station/st-00@2'], 'resuming from the saved cursor gives only what came since')

  const units = []
  for await (const unit of asProvince.adminUnits({ level: 'province', limit: 20 })) units.push(unit.code)
  t.equal(units.length, 34)
})

t.test('idempotent calls are retried as Retry-After says; others are not', async (t) => {
  let calls = 0
  const server = createServer((req, res) => {
    calls++
    if (calls === 1) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ type: '/problems/overloaded', title: 'x', status: 503, detail: 'busy', code: 'overloaded' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ ok: true, idempotencyKey: req.headers['idempotency-key'] ?? null }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const client = new TtnClient({ baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, systemId: 'province-79', key: await newKey(), retry: { baseDelayMs: 10 } })

  const started = Date.now()
  const answer = await client.http.call<{ ok: boolean }>('GET', '/v2/anything')
  t.same(answer, { ok: true, idempotencyKey: null })
  t.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms, as Retry-After asked`)
  t.equal(calls, 2)

  calls = 0
  t.match(await client.http.call('POST', '/v2/anything', {}, { idempotent: false }).catch((e: unknown) => e), { status: 503 })
  t.equal(calls, 1, 'a call that is not idempotent is not sent twice')

  calls = 0
  const keyed = await client.http.call<{ idempotencyKey: string }>('POST', '/v2/anything', {})
  t.equal(calls, 2, 'a POST is retried under an Idempotency-Key the client made')
  t.match(keyed.idempotencyKey, /^[0-9a-f-]{36}$/)
})
