import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { RegistryStore } from '../../src/modules/registry/store.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-status-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const { app, database } = await buildTestApp(t)
const address = await app.listen({ port: 0, host: '127.0.0.1' })

const keys = join(dir, 'province-79')
await ttn(['keys', 'generate', '--out', keys])
await new SystemsStore(database.db).register({ id: 'province-79', role: 'province', provinceCode: '79', name: 'TP. Hồ Chí Minh', jwks: JSON.parse(await readFile(join(keys, 'public.jwks.json'), 'utf8')) }, database.db)
await database.db.transaction().execute((trx) => new RegistryStore(database.db).applyBatch(trx, '79', {
  stations: [{ id: 'st-1', communeCode: '26740', name: 'Đài 1', kind: 'ip', status: 'operating' }],
  clusters: [{ id: 'cl-1', stationId: 'st-1', kind: 'ip', status: 'operating' }, { id: 'cl-2', stationId: 'st-1', kind: 'ip', status: 'operating' }],
}, { station: '/stations', cluster: '/clusters' }))
const env = { TTN_URL: address, TTN_SYSTEM_ID: 'province-79', TTN_KEY_FILE: join(keys, 'private.jwk.json') }
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString()

t.test('ttn status send sends a JSON file in batches and reports each rejected event', async (t) => {
  const file = join(dir, 'status.json')
  await writeFile(file, JSON.stringify(Array.from({ length: 7 }, (_, i) => ({ deviceType: 'cluster', deviceId: i === 3 ? 'cl-9' : `cl-${1 + (i % 2)}`, state: 'online', observedAt: at(i + 1) }))))
  const sent = await ttn(['status', 'send', file, '--batch-size', '3'], env)
  t.equal(sent.code, 4, 'a rejected event makes the exit status 4')
  t.match(sent.stdout, /^7 events: 6 accepted, 0 duplicate, 1 rejected in 3 batches$/m)
  t.match(sent.stdout, /^event 3: unknown-device: cluster cl-9 is not in the registry of province 79$/m)
  t.match(sent.stderr, /sent 7\/7 events/)
})

t.test('ttn status send reads CSV, numbers included, and names lines', async (t) => {
  const file = join(dir, 'status.csv')
  await writeFile(file, [
    'deviceType,deviceId,state,observedAt,volumePercent,signalDbm,faultCode',
    `cluster,cl-1,playing,${at(0.5)},70,-80.5,`,
    `station,st-1,fault,${at(0.5)},,,PWR-2`,
    `cluster,cl-2,online,${at(0.5)},loud,,`,
  ].join('\n'))
  const sent = await ttn(['status', 'send', file], env)
  t.match(sent.stdout, /^3 events: 2 accepted, 0 duplicate, 1 rejected in 1 batches$/m)
  t.match(sent.stdout, /^line 4: bad-value: must be integer \(\/events\/2\/volumePercent\)$/m)
  const current = await database.db.selectFrom('device_status').selectAll().where('device_id', '=', 'cl-1').executeTakeFirstOrThrow()
  t.match(current, { state: 'playing', volume_percent: 70, signal_dbm: -80.5 })

  const missing = await ttn(['status', 'send', join(dir, 'none.json')], env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /ENOENT/)
})
