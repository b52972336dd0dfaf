import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { PublicJwk } from '../../schemas/trust.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from '../helpers/app.js'
import { feedsSettled } from '../helpers/database.js'
import { ttn } from '../helpers/cli.js'
import { bulletin } from '../helpers/content.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-content-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const { app, database } = await buildTestApp(t)
const address = await app.listen({ port: 0, host: '127.0.0.1' })
const central = await registerSystem(database, 'central-portal')
const { privateJwk, publicJwk } = await generateKey()
await new SystemsStore(database.db).register({ id: 'province-79', role: 'province', provinceCode: '79', name: 'HTTTN TP. Hồ Chí Minh', jwks: { keys: [publicJwk as PublicJwk] } }, database.db)
const keyFile = join(dir, 'province-79.jwk.json')
await writeFile(keyFile, JSON.stringify(privateJwk))
const env = { TTN_URL: address, TTN_SYSTEM_ID: 'province-79', TTN_KEY_FILE: keyFile }

t.test('ttn feed pull prints the feed as JSON lines, resumes from its cursor file and acknowledges with --ack', async (t) => {
  const first = (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ title: 'Tin 1' }) })).json().content
  await signedInject(app, central, { method: 'POST', url: `/v2/contents/${first.id}/withdrawal`, body: { reason: 'Hết hiệu lực' } })
  const cursorFile = join(dir, 'feed.cursor')
  await feedsSettled(database.db)
  const pulled = await ttn(['feed', 'pull', '--cursor-file', cursorFile, '--ack'], env)
  t.equal(pulled.code, 0, pulled.stderr)
  const lines = pulled.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string, content: { title: string, version: number } })
  t.same(lines.map((n) => `${n.type} ${n.content.title}@${n.content.version}`), ['content.published Tin 1@1', 'content.withdrawn Tin 1@2'])
  t.match(pulled.stderr, /2 notifications/)
  t.ok((await readFile(cursorFile, 'utf8')).trim().length > 0, 'the cursor is saved')
  const acks = await database.db.selectFrom('content_acks').select(['content_id', 'province_code']).execute()
  t.same(acks, [{ content_id: first.id, province_code: '79' }], 'the publication was acknowledged')

  await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin({ title: 'Tin 2' }) })
  await feedsSettled(database.db)
  const resumed = await ttn(['feed', 'pull', '--cursor-file', cursorFile], env)
  t.same(resumed.stdout.trim().split('\n').map((line) => JSON.parse(line).content.title), ['Tin 2'], 'only what came since')
})

t.test('ttn logs send takes CSV or JSON, lists rejected lines, and re-sending stores nothing twice', async (t) => {
  await signedInject(app, { id: 'province-79', key: await importSigningKey(privateJwk) }, {
    method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [{ id: 's1', communeCode: '26740', name: 'Đài 1', kind: 'ip', status: 'operating' }] },
  })
  const csv = join(dir, 'logs.csv')
  await writeFile(csv, [
    'stationId,contentId,localRef,startedAt,endedAt,clustersReached,source',
    's1,,ban-tin-1,2026-05-01T08:00:00+07:00,2026-05-01T08:10:00+07:00,12,commune',
    's1,,ban-tin-2,2026-05-01T09:00:00+07:00,2026-05-01T09:10:00+07:00,,commune',
    's9,,ban-tin-3,2026-05-01T09:00:00+07:00,2026-05-01T09:10:00+07:00,,commune',
  ].join('\n') + '\n')
  const sent = await ttn(['logs', 'send', csv], env)
  t.equal(sent.code, 4, 'some entries were rejected')
  t.match(sent.stdout, /3 entries: 2 stored, 0 already stored, 1 rejected/)
  t.match(sent.stdout, /line 4: unknown-station: province 79 has no station s9/)
  t.match(sent.stderr, /sent 3\/3/)
  const again = await ttn(['logs', 'send', csv], env)
  t.match(again.stdout, /3 entries: 0 stored, 2 already stored, 1 rejected/)

  const json = join(dir, 'logs.json')
  await writeFile(json, JSON.stringify({ entries: [{ stationId: 's1', localRef: 'x', startedAt: '2026-05-02T08:00:00Z', endedAt: '2026-05-02T08:01:00Z', source: 'relay' }] }))
  const fromJson = await ttn(['logs', 'send', json, '--batch-size', '1'], env)
  t.equal(fromJson.code, 0, fromJson.stderr)
  t.match(fromJson.stdout, /1 entries: 1 stored/)

  const listed = await ttn(['logs', 'list', '--from', '2026-05-01T08:30:00+07:00'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.same(listed.stdout.trim().split('\n').map((line) => JSON.parse(line).localRef), ['x', 'ban-tin-2'], 'ttn logs list prints the stored plays, latest first')
  t.match(listed.stderr, /2 entries/)
  const asCentral = await ttn(['logs', 'list', '--station', 's9'], { ...env, TTN_SYSTEM_ID: 'central-portal' })
  t.equal(asCentral.code, 1, 'central names the province')
  t.match(asCentral.stderr, /central-portal is not a provincial system id/)

  await writeFile(json, JSON.stringify([{ stationId: 's1', localRef: 'x', startedAt: 'yesterday', endedAt: '2026-05-02T08:01:00Z', source: 'relay' }]))
  const malformed = await ttn(['logs', 'send', json], env)
  t.equal(malformed.code, 1)
  t.match(malformed.stderr, /entry 0: \/startedAt/)
})

t.test('ttn changes pull prints registry changes as JSON lines and resumes from its cursor file', async (t) => {
  const asProvince = { id: 'province-79', key: await importSigningKey(privateJwk) }
  const push = (items: unknown[]) => signedInject(app, asProvince, { method: 'PUT', url: '/v2/provinces/79/boards', body: { items } })
  await push([{ id: 'b1', communeCode: '26740', placement: 'outdoor', status: 'operating' }, { id: 'b2', communeCode: '26740', placement: 'indoor', status: 'operating' }])
  const cursorFile = join(dir, 'changes.cursor')
  await feedsSettled(database.db)
  const pulled = await ttn(['changes', 'pull', '--cursor-file', cursorFile, '--province', '79'], env)
  t.equal(pulled.code, 0, pulled.stderr)
  const boards = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as { entity: string, id: string })
    .filter((change) => change.entity === 'board').map((change) => change.id)
  t.same(boards(pulled.stdout), ['b1', 'b2'])
  t.match(pulled.stderr, /\d+ changes/)

  await push([{ id: 'b3', communeCode: '26740', placement: 'outdoor', status: 'operating' }])
  await feedsSettled(database.db)
  const resumed = await ttn(['changes', 'pull', '--cursor-file', cursorFile], env)
  t.same(boards(resumed.stdout), ['b3'], 'only what changed since the saved cursor')
  const fromStart = await ttn(['changes', 'pull', '--after', '0'], env)
  t.equal(fromStart.code, 1, 'a malformed cursor is refused')
  t.match(fromStart.stderr, /400/)
})
