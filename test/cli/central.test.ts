import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { PublicJwk } from '../../schemas/trust.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { projectPath } from '../../src/paths.js'
import { buildTestApp } from '../helpers/app.js'
import { childEnv } from '../helpers/child-env.js'
import { ttn } from '../helpers/cli.js'
import { bulletin } from '../helpers/content.js'
import { sha256Hex, wav } from '../helpers/media.js'
import { signedInject, type TestSystem } from '../helpers/systems.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-central-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const { app, database } = await buildTestApp(t)
const address = await app.listen({ port: 0, host: '127.0.0.1' })

/** Registers a system and writes its private key where the command reads it. */
async function system(id: string): Promise<TestSystem & { env: Record<string, string> }> {
  const { privateJwk, publicJwk } = await generateKey()
  const province = /^province-(\d{2})$/.exec(id)?.[1]
  await new SystemsStore(database.db).register({
    id, role: province ? 'province' : 'central', ...(province ? { provinceCode: province } : {}), name: `HTTTN ${id}`, jwks: { keys: [publicJwk as PublicJwk] },
  }, database.db)
  const keyFile = join(dir, `${id}.jwk.json`)
  await writeFile(keyFile, JSON.stringify(privateJwk))
  return { id, key: await importSigningKey(privateJwk), env: { TTN_URL: address, TTN_SYSTEM_ID: id, TTN_KEY_FILE: keyFile } }
}

const central = await system('central-portal')
const hcm = await system('province-79')

const indicators = {
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 2 },
  clusters: { ip: 3, fm: 0, wired: 0 },
  investment: { newStations: 1, clustersReplaced: 0, clustersAddedToVillages: 2 },
  bulletinBoards: 1,
  informationWorkers: { total: 120, trained: 40 },
  bulletins: { produced: 300, aired: 320, airtimeHours: 410.5 },
  fundingMillionVnd: { newRuralDevelopment: 1200, sustainablePovertyReduction: 300, localBudget: 450.5, other: 0 },
}

t.test('ttn --version prints the version of package.json', async (t) => {
  const { version } = JSON.parse(await readFile(projectPath('package.json'), 'utf8')) as { version: string }
  const answer = await ttn(['--version'])
  t.equal(answer.code, 0, answer.stderr)
  t.equal(answer.stdout, `${version}\n`)
})

t.test('ttn content publishes with media uploaded first, then reads, lists, versions, follows deliveries and withdraws', async (t) => {
  const file = join(dir, 'bulletin.json')
  await writeFile(file, JSON.stringify(bulletin({ title: 'Cảnh báo lũ quét' })))
  const audio = wav(0.5)
  const audioFile = join(dir, 'ban-tin.wav')
  await writeFile(audioFile, audio)
  const published = await ttn(['content', 'publish', file, '--media', audioFile], central.env)
  t.equal(published.code, 0, published.stderr)
  const { content } = JSON.parse(published.stdout) as { content: { id: string, version: number, media: { sha256: string, mimeType: string }[] } }
  t.match(content, { version: 1, media: [{ sha256: sha256Hex(audio), mimeType: /^audio\// }] }, 'the uploaded file is attached by its hash')
  t.match(published.stderr, `${audioFile}: stored as ${sha256Hex(audio)}`)

  const got = await ttn(['content', 'get', content.id], central.env)
  t.equal(got.code, 0, got.stderr)
  t.match(JSON.parse(got.stdout), { id: content.id, title: 'Cảnh báo lũ quét', status: 'active' })

  await writeFile(file, JSON.stringify(bulletin({ title: 'Cảnh báo lũ quét (cập nhật)', media: [{ sha256: sha256Hex(audio) }] })))
  const updated = await ttn(['content', 'update', content.id, file], central.env)
  t.equal(updated.code, 0, updated.stderr)
  t.match(JSON.parse(updated.stdout), { content: { id: content.id, version: 2, title: 'Cảnh báo lũ quét (cập nhật)' } })

  await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${content.id}/acks`, body: { receivedAt: new Date().toISOString() } })
  const deliveries = await ttn(['content', 'deliveries', content.id], central.env)
  t.equal(deliveries.code, 0, deliveries.stderr)
  const [header, row] = deliveries.stdout.trim().split('\n')
  t.match(header, /^province\s+system\s+webhook\s+notifications\s+acknowledged$/)
  t.match(row, /^79\s+\S+\s+none\s+\d+\s+\d{4}-\d\d-\d\dT/, 'province 79 acknowledged, without a webhook')
  const asJson = JSON.parse((await ttn(['content', 'deliveries', content.id, '--json'], central.env)).stdout)
  t.match(asJson, { contentId: content.id, provinces: [{ province: '79', webhook: 'none' }] })

  const withdrawn = await ttn(['content', 'withdraw', content.id, '--reason', 'Hết nguy cơ lũ'], central.env)
  t.equal(withdrawn.code, 0, withdrawn.stderr)
  t.match(JSON.parse(withdrawn.stdout), { content: { id: content.id, status: 'withdrawn', version: 3 } })

  const listed = await ttn(['content', 'list', '--status', 'withdrawn'], central.env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, new RegExp(`^id\\s+version\\s+status.*\\n${content.id}\\s+3\\s+withdrawn\\s+normal\\s+disasters-fire-epidemics\\s+\\S+\\s+Cảnh báo lũ quét \\(cập nhật\\)\\n$`))
  const listedJson = JSON.parse((await ttn(['content', 'list', '--json'], central.env)).stdout) as { id: string }[]
  t.same(listedJson.map((item) => item.id), [content.id])
  const bad = await ttn(['content', 'list', '--status', 'gone'], central.env)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /Allowed choices are active, withdrawn/, 'a wrong choice is named with the allowed values')
})

t.test('a content file that is not JSON or does not fit the schema is named, with the line or the field', async (t) => {
  const file = join(dir, 'broken.json')
  await writeFile(file, '{\n  "title": "Tin",\n  "priority": normal\n}\n')
  const notJson = await ttn(['content', 'publish', file], central.env)
  t.equal(notJson.code, 1)
  t.match(notJson.stderr, `ttn: ${file}: line 3, column 16: not valid JSON: Unexpected token 'o'\n`)

  const contents = () => database.db.selectFrom('contents').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow()
  const before = await contents()
  await writeFile(file, JSON.stringify(bulletin({ priority: 'urgent', targets: 'everyone' })))
  const invalid = await ttn(['content', 'publish', file], central.env)
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, `ttn: ${file}: /priority must be one of normal, priority, emergency; /targets must be all; /targets must be array`)
  t.same(await contents(), before, 'nothing was sent')

  const badKey = await ttn(['content', 'publish', file], { ...central.env, TTN_KEY_FILE: file })
  t.match(badKey.stderr, `ttn: ${file}: a signing key must be a private JWK`, 'a key file that holds no key is named')

  const missing = await ttn(['content', 'publish', join(dir, 'nowhere.json')], central.env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /ttn: ENOENT: no such file or directory, open '.*nowhere\.json'/)
})

t.test('a refused call names the method, the URL, the status, the problem code and detail, and each failing field', async (t) => {
  const id = '5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a71'
  const notFound = await ttn(['content', 'get', id], central.env)
  t.equal(notFound.code, 1)
  t.equal(notFound.stderr, `ttn: GET ${address}/v2/contents/${id}: 404 not-found: content ${id} does not exist\n`)

  const unreachable = await ttn(['period', 'list', '--url', 'http://127.0.0.1:1'], central.env)
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^ttn: GET http:\/\/127\.0\.0\.1:1\/v2\/report-periods: connect ECONNREFUSED/, 'an unreachable service is named by the URL called')

  const invalid = await ttn(['registry', 'stations', '--commune', 'x1', '--province', '79'], central.env)
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, new RegExp(`^ttn: GET ${address}/v2/stations\\?commune=x1&limit=1000&province=79: 400 validation-failed: query /commune: .*\\n  query /commune: `))
})

t.test('ttn period list and status, and ttn report review accepting or returning the latest version', async (t) => {
  const opened = await signedInject(app, central, { method: 'POST', url: '/v2/report-periods', body: { id: '2030-Q1', title: 'Số liệu quý I', dueOn: '2030-04-10', forms: ['indicators'] } })
  t.equal(opened.statusCode, 201, opened.body)
  const listed = await ttn(['period', 'list', '--year', '2030', '--json'], central.env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout), [{ id: '2030-Q1', dueOn: '2030-04-10', forms: ['indicators'] }])
  t.match((await ttn(['period', 'list', '--year', '2030'], central.env)).stdout, /^period\s+kind\s+due on\s+forms\s+title\n2030-Q1\s+extra\s+2030-04-10\s+indicators\s+Số liệu quý I\n2030-H1\s+six_month\s/)

  const nothing = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--accept'], central.env)
  t.equal(nothing.code, 1)
  t.match(nothing.stderr, 'ttn: province 79 has submitted no indicators for 2030-Q1')

  const url = '/v2/provinces/79/reports/2030-Q1/indicators'
  t.equal((await signedInject(app, hcm, { method: 'PUT', url, body: indicators })).statusCode, 201)
  const returned = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--return', '--comment', 'Thiếu số liệu kinh phí'], central.env)
  t.equal(returned.code, 0, returned.stderr)
  t.equal(returned.stdout, 'version 1 of indicators of province 79 for 2030-Q1 returned\n')
  t.equal((await signedInject(app, hcm, { method: 'PUT', url, body: indicators })).statusCode, 201)
  const accepted = await ttn(['report', 'review', '2030-Q1', '79', 'indicators', '--accept'], central.env)
  t.equal(accepted.code, 0, accepted.stderr)
  t.equal(accepted.stdout, 'version 2 of indicators of province 79 for 2030-Q1 accepted\n')
  const neither = await ttn(['report', 'review', '2030-Q1', '79', 'indicators'], central.env)
  t.equal(neither.code, 1)
  t.match(neither.stderr, 'say --accept or --return')

  const status = await ttn(['period', 'status', '2030-Q1'], central.env)
  t.equal(status.code, 0, status.stderr)
  const lines = status.stdout.trim().split('\n')
  t.equal(lines[0], '2030-Q1 Số liệu quý I, due on 2030-04-10')
  t.match(lines[1], /^province\s+indicators$/)
  t.ok(lines.includes('79        accepted v2'), 'province 79 accepted at version 2')
  t.ok(lines.some((line) => /^01\s+missing$/.test(line)), 'a province that sent nothing is missing')
  const json = JSON.parse((await ttn(['period', 'status', '2030-Q1', '--json'], central.env)).stdout) as { provinces: { province: string }[] }
  t.equal(json.provinces.length, 34)
})

t.test('ttn registry lists and gets records, and its output redirected to a file is the data alone', async (t) => {
  const pushed = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [
      { id: 'dai-1', communeCode: '26740', name: 'Đài Sài Gòn', kind: 'ip', status: 'operating' },
      { id: 'dai-2', communeCode: '26743', name: 'Đài Bến Thành', kind: 'fm', status: 'degraded' },
    ] },
  })
  t.equal(pushed.statusCode, 200, pushed.body)
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/boards', body: { items: [{ id: 'bang-1', communeCode: '26740', placement: 'outdoor', status: 'operating' }] } })).statusCode, 200)

  const stations = await ttn(['registry', 'stations', '--commune', '26743'], central.env)
  t.equal(stations.code, 0, stations.stderr)
  t.match(stations.stdout, /^province\s+id\s+commune\s+kind\s+status\s+name\n79\s+dai-2\s+26743\s+fm\s+degraded\s+Đài Bến Thành\n$/)
  const boards = await ttn(['registry', 'boards', '--json'], hcm.env)
  t.equal(boards.code, 0, boards.stderr)
  t.match(JSON.parse(boards.stdout), [{ id: 'bang-1', province: '79', placement: 'outdoor' }], 'a province lists its own')
  const elsewhere = await ttn(['registry', 'stations', '--province', '01', '--json'], central.env)
  t.same(JSON.parse(elsewhere.stdout), [])

  const got = await ttn(['registry', 'get', 'station', 'dai-1', '--province', '79'], central.env)
  t.equal(got.code, 0, got.stderr)
  t.match(JSON.parse(got.stdout), { id: 'dai-1', name: 'Đài Sài Gòn', version: 1 })
  t.match(JSON.parse((await ttn(['registry', 'get', 'board', 'bang-1'], hcm.env)).stdout), { id: 'bang-1' }, 'a province gets its own without --province')
  const wrongKind = await ttn(['registry', 'get', 'tower', 'x'], hcm.env)
  t.match(wrongKind.stderr, 'ttn: tower: the kinds are station, cluster and board')

  // As a shell redirect does: the command's standard output is the file itself.
  const out = join(dir, 'stations.json')
  const handle = await open(out, 'w')
  const child = spawn(process.execPath, ['--import', 'tsx', projectPath('src/cli/ttn.ts'), 'registry', 'stations', '--json'], {
    env: childEnv({ DATABASE_URL: undefined, LOG_LEVEL: 'silent', ...central.env }), cwd: projectPath(), stdio: ['ignore', handle.fd, 'ignore'],
  })
  const [code] = await once(child, 'exit') as [number]
  await handle.close()
  t.equal(code, 0)
  const written = await readFile(out, 'utf8')
  t.same((JSON.parse(written) as { id: string }[]).map((s) => s.id), ['dai-1', 'dai-2'], 'the file holds the JSON and nothing else')
  t.ok(written.startsWith('[') && written.endsWith(']\n'))
})
