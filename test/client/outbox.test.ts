import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'

const freePort = () => new Promise<number>((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resolve(port))
  })
})

const indicators = (bulletinBoards: number) => ({
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 1 }, clusters: { ip: 0, fm: 0, wired: 0 },
  investment: { newStations: 0, clustersReplaced: 0, clustersAddedToVillages: 0 }, bulletinBoards,
  informationWorkers: { total: 1, trained: 0 }, bulletins: { produced: 0, aired: 0, airtimeHours: 0 },
  fundingMillionVnd: { newRuralDevelopment: 0, sustainablePovertyReduction: 0, localBudget: 0, other: 0 },
})

t.test('pushes made while the service is down arrive exactly once, in order, after the client restarted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-outbox-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const database = await testDatabase(t)
  await ttn(['keys', 'generate', '--out', join(dir, 'keys')])
  const jwks = JSON.parse(await readFile(join(dir, 'keys', 'public.jwks.json'), 'utf8'))
  await new SystemsStore(database.db).register({ id: 'province-79', role: 'province', provinceCode: '79', name: 'HCM', jwks }, database.db)
  const port = await freePort()
  const env = { TTN_URL: `http://127.0.0.1:${port}`, TTN_SYSTEM_ID: 'province-79', TTN_KEY_FILE: join(dir, 'keys', 'private.jwk.json') }
  const outbox = join(dir, 'outbox')

  // The service is down: every command queues its push and exits, each one a new client process.
  await writeFile(join(dir, 'stations.csv'), 'id,communeCode,name,kind,status,latitude,longitude,operatorName\nst-1,26740,Đài phường Sài Gòn,ip,operating,10.776,106.70,Chị Lan\n')
  const queued = [await ttn(['push', 'stations', join(dir, 'stations.csv'), '--outbox', outbox, '--wait', '1'], env)]
  for (const boards of [1, 2, 3]) {
    await writeFile(join(dir, `report-${boards}.json`), JSON.stringify(indicators(boards)))
    queued.push(await ttn(['report', 'submit', '2030-H1', 'indicators', join(dir, `report-${boards}.json`), '--outbox', outbox, '--wait', '1'], env))
  }
  for (const result of queued) {
    t.equal(result.code, 3, 'exits saying pushes wait')
    t.match(result.stdout, /waiting in/)
  }
  await writeFile(join(dir, 'status.csv'), 'deviceType,deviceId,state,observedAt\nstation,st-1,online,' + new Date().toISOString() + '\n')
  const status = await ttn(['status', 'send', join(dir, 'status.csv'), '--outbox', outbox, '--wait', '1'], env)
  t.equal(status.code, 3, 'status events wait too')
  t.equal((await readdir(outbox)).filter((f) => f.endsWith('.json')).length, 5, 'five pushes on disk')
  const backup = join(dir, 'backup')
  await cp(outbox, backup, { recursive: true })

  // The service comes back; a fresh client process sends what waits.
  const { app } = await buildTestApp(t, { database })
  await app.listen({ port, host: '127.0.0.1' })
  await app.inject({ method: 'GET', url: '/health/ready' })
  const drained = await ttn(['outbox', 'send', '--outbox', outbox, '--wait', '5'], env)
  t.equal(drained.code, 0, drained.stderr)
  t.match(drained.stdout, /5 sent, 0 rejected, 0 sent with entries refused/)
  t.same((await readdir(outbox)).filter((f) => f.endsWith('.json')), [], 'nothing left waiting')

  const history = async () => (await app.inject({ method: 'GET', url: '/v2/report-periods?year=2030' }), database.db.selectFrom('report_submissions')
    .select(['version', 'data']).where('province_code', '=', '79').orderBy('version').execute())
  const versions = await history()
  t.same(versions.map((v) => [v.version, (v.data as { bulletinBoards: number }).bulletinBoards]), [[1, 1], [2, 2], [3, 3]], 'each report once, in the order made')
  const station = await database.db.selectFrom('stations').select(['id', 'version', 'operator', 'latitude']).execute()
  t.match(station, [{ id: 'st-1', version: 1, latitude: 10.776, operator: { name: 'Chị Lan' } }])
  t.match(await database.db.selectFrom('device_status').select(['device_id', 'state']).execute(), [{ device_id: 'st-1', state: 'online' }],
    'the status event sent after the station it is about')

  // The client died after sending but before forgetting: the same entries are sent again.
  for (const file of (await readdir(backup)).filter((f) => f.endsWith('.json'))) await cp(join(backup, file), join(outbox, file))
  const again = await ttn(['outbox', 'send', '--outbox', outbox, '--wait', '5'], env)
  t.match(again.stdout, /5 sent, 0 rejected/)
  t.equal((await history()).length, 3, 'replayed, not applied twice')
})

t.test('a push the service refuses for good is set aside, and the rest go on', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-outbox-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { app, database } = await buildTestApp(t)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  await ttn(['keys', 'generate', '--out', join(dir, 'keys')])
  const jwks = JSON.parse(await readFile(join(dir, 'keys', 'public.jwks.json'), 'utf8'))
  await new SystemsStore(database.db).register({ id: 'province-79', role: 'province', provinceCode: '79', name: 'HCM', jwks }, database.db)
  const env = { TTN_URL: address, TTN_SYSTEM_ID: 'province-79', TTN_KEY_FILE: join(dir, 'keys', 'private.jwk.json') }
  await writeFile(join(dir, 'clusters.json'), JSON.stringify([{ id: 'c-1', stationId: 'missing', kind: 'ip', status: 'operating' }]))
  await writeFile(join(dir, 'stations.json'), JSON.stringify({ items: [{ id: 's-1', communeCode: '26740', name: 'A', kind: 'ip', status: 'operating' }] }))
  const outbox = join(dir, 'outbox')
  const refused = await ttn(['push', 'clusters', join(dir, 'clusters.json'), '--outbox', outbox, '--wait', '2'], env)
  t.match(refused.stdout, /0 sent, 1 rejected/)
  const accepted = await ttn(['push', 'stations', join(dir, 'stations.json'), '--outbox', outbox, '--wait', '2'], env)
  t.match(accepted.stdout, /1 sent, 0 rejected/)
  const [rejected] = await readdir(join(outbox, 'rejected'))
  t.match(JSON.parse(await readFile(join(outbox, 'rejected', rejected!), 'utf8')), { path: '/v2/provinces/79/clusters', problem: { code: 'rule-violated' } })

  await writeFile(join(dir, 'logs.json'), JSON.stringify([
    { stationId: 's-1', localRef: 'ban-tin-1', startedAt: '2026-05-01T08:00:00+07:00', endedAt: '2026-05-01T08:10:00+07:00', source: 'commune' },
    { stationId: 's-9', localRef: 'ban-tin-1', startedAt: '2026-05-01T08:00:00+07:00', endedAt: '2026-05-01T08:10:00+07:00', source: 'commune' },
    { stationId: 's-1', localRef: 'ban-tin-2', startedAt: '2026-05-01T09:00:00+07:00', endedAt: '2026-05-01T09:10:00+07:00', source: 'commune' },
  ]))
  const logs = await ttn(['logs', 'send', join(dir, 'logs.json'), '--batch-size', '2', '--outbox', outbox, '--wait', '2'], env)
  t.equal(logs.code, 4, 'some entries were refused')
  t.match(logs.stdout, /2 sent, 0 rejected, 1 sent with entries refused/)
  const stored = await database.db.selectFrom('broadcast_logs').select('local_ref').orderBy('started_at').execute()
  t.same(stored.map((row) => row.local_ref), ['ban-tin-1', 'ban-tin-2'], 'the valid entries of both batches are stored')
  const setAside = await Promise.all((await readdir(join(outbox, 'rejected'))).sort().map(async (name) => JSON.parse(await readFile(join(outbox, 'rejected', name), 'utf8'))))
  t.match(setAside.at(-1), { path: '/v2/provinces/79/broadcast-logs', answer: { accepted: 1, rejected: 1, rejections: [{ index: 1, reason: 'unknown-station' }] } },
    'the batch taken in part is kept with the answer naming what was refused')

  await writeFile(join(dir, 'bad.csv'), 'id,communeCode,name,kind,status\ns-2,123,B,satellite,operating\n')
  const bad = await ttn(['push', 'stations', join(dir, 'bad.csv')], env)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /line 2: \/communeCode/)
  t.match(bad.stderr, /line 2: \/kind/)
})
