import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { typedClients } from '../helpers/systems.js'

t.test('the client sends status in batches of at most 5000 and reads it back through iterators', async (t) => {
  const { app, database } = await buildTestApp(t)
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const { asProvince, asCentral } = await typedClients(database, baseUrl)
  await asProvince.push('stations', '79', [{ id: 'st-1', communeCode: '26740', name: 'Đài 1', kind: 'ip', status: 'operating' }])
  await asProvince.push('clusters', '79', Array.from({ length: 30 }, (_, i) => ({ id: `cl-${String(i).padStart(2, '0')}`, stationId: 'st-1', kind: 'ip' as const, status: 'operating' as const })))

  const now = Date.now()
  const events = Array.from({ length: 5003 }, (_, i) => ({
    deviceType: 'cluster' as const, deviceId: i === 5001 ? 'cl-missing' : `cl-${String(i % 30).padStart(2, '0')}`,
    // Each device's reports alternate between two states, so each one begins a period of its history.
    state: Math.floor(i / 30) % 2 ? 'online' as const : 'playing' as const, observedAt: new Date(now - 60_000 - i * 1000).toISOString(),
  }))
  const batches: number[] = []
  const summary = await asProvince.status.send('79', events, { onBatch: (sent) => batches.push(sent) })
  t.same(batches, [5000, 5003], 'two calls: 5000 and 3')
  t.match(summary, { accepted: 5002, duplicate: 0, rejected: 1, rejections: [{ index: 5001, reason: 'unknown-device' }] }, 'indexes count from the first event sent')
  t.equal(summary.receipts.length, 2)
  t.match(await asProvince.status.send('79', events.slice(0, 10)), { accepted: 0, duplicate: 10 })

  const current: string[] = []
  for await (const device of asProvince.status.current('79', { limit: 7 })) current.push(device.deviceId)
  t.equal(current.length, 30, 'five pages walked')
  t.same(current, [...current].sort())

  const history: string[] = []
  for await (const entry of asCentral.status.history('79', 'cluster', 'cl-00', { limit: 50, from: new Date(now - 3_600_000).toISOString() })) history.push(entry.observedAt)
  t.ok(history.length > 50 && history.every((at, i) => i === 0 || at < history[i - 1]!), 'several pages, newest first')

  const overview = await asCentral.status.overview()
  t.match(overview, { staleAfterSeconds: 600, provinces: [{ province: '79', devices: 30, stale: 0 }] })
  t.match(await asProvince.status.overview().catch((e: unknown) => e), { status: 403, problem: { code: 'role-forbidden' } })
})
