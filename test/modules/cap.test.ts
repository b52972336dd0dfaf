import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { projectPath } from '../../src/paths.js'
import { buildTestApp } from '../helpers/app.js'
import { bulletin } from '../helpers/content.js'
import { sha256Hex, upload, wav } from '../helpers/media.js'
import { registerSystem, signedInject } from '../helpers/systems.js'

const run = promisify(execFile)
/** The schema the alerts are checked against: the project's copy, or another (such as OASIS's own file) named by CAP_XSD. */
const schema = process.env.CAP_XSD ?? projectPath('test', 'fixtures', 'cap', 'cap-1.2.xsd')

/** Validates documents with the JDK's XML Schema validator: one verdict per document. */
async function validate(t: Test, documents: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-cap-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const files = await Promise.all(documents.map(async (document, i) => {
    const file = join(dir, `alert-${i}.xml`)
    await writeFile(file, document.startsWith('<?xml') ? document : `<?xml version="1.0" encoding="UTF-8"?>\n${document}`)
    return file
  }))
  const output = await run('java', [projectPath('test', 'fixtures', 'cap', 'ValidateXml.java'), schema, ...files], { timeout: 120_000 })
    .then((r) => r.stdout, (error: { stdout?: string }) => error.stdout ?? '')
  return output.trim().split('\n').map((line) => line.replace(/ \S+alert-\d+\.xml/, ''))
}

const tag = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1])

t.test('priority and emergency items are CAP 1.2 alerts valid against the schema, through every version; normal items are not', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { PUBLIC_URL: 'https://ttn.example.gov.vn' } })
  const central = await registerSystem(database, 'central-portal')
  const hcm = await registerSystem(database, 'province-79')
  const hanoi = await registerSystem(database, 'province-01')
  const file = wav(2)
  t.equal((await upload(app, central, file)).statusCode, 200)
  const publish = async (body: Record<string, unknown>) => (await signedInject(app, central, { method: 'POST', url: '/v2/contents', body: bulletin(body) })).json().content
  const cap = (id: string, system = central) => signedInject(app, system, { method: 'GET', url: `/v2/contents/${id}/cap` })

  const storm = await publish({
    title: 'Bão "số 3" <khẩn> & \'gấp\'', summary: 'Bão đổ bộ đêm nay', body: 'Sơ tán khỏi vùng trũng.', priority: 'emergency', targets: ['79', '01'],
    media: [{ sha256: sha256Hex(file) }], validUntil: new Date(Date.now() + 86_400_000).toISOString(),
  })
  const campaign = await publish({ title: 'Tiêm chủng mở rộng', topic: 'task-2024-health-vietnam', priority: 'priority', targets: 'all' })
  const routine = await publish({ title: 'Lịch cắt điện', priority: 'normal' })
  const drill = await publish({ title: 'Diễn tập sơ tán', priority: 'emergency', test: true, language: 'km', targets: ['01'], communes: ['26740', '26743'] })

  const first = await cap(storm.id)
  t.equal(first.statusCode, 200)
  t.equal(first.headers['content-type'], 'application/cap+xml; charset=utf-8')
  const alert = first.body
  t.same(tag(alert, 'msgType'), ['Alert'])
  t.same(tag(alert, 'identifier'), [`ttn-central.${storm.id}.v1`])
  t.match(tag(alert, 'sent')[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/, 'sent in Vietnam time, no fraction, as CAP requires')
  t.same([tag(alert, 'urgency'), tag(alert, 'severity'), tag(alert, 'certainty')], [['Immediate'], ['Severe'], ['Observed']])
  t.same(tag(alert, 'headline'), ['Bão &quot;số 3&quot; &lt;khẩn&gt; &amp; &apos;gấp&apos;'], 'text is escaped')
  t.same(tag(alert, 'value'), ['01', '79'], 'an area per target province, by code')
  t.same(tag(alert, 'uri'), [`https://ttn.example.gov.vn/v2/media/${sha256Hex(file)}`])
  t.same(tag(alert, 'digest'), [createHash('sha1').update(file).digest('hex')], 'the digest is the file\'s SHA-1, as CAP defines it')
  t.same(tag(alert, 'size'), [String(file.length)])
  t.equal((await cap(routine.id)).statusCode, 404, 'a normal item is not an alert')
  const exercise = (await cap(drill.id)).body
  t.same(tag(exercise, 'status'), ['Exercise'], 'an exercise is one in CAP too')
  t.same(tag(exercise, 'language'), ['km'])
  t.same(tag(exercise, 'valueName'), ['VN-PROVINCE', 'VN-COMMUNE', 'VN-COMMUNE'], 'a province targeted whole, and the communes targeted in another')
  t.same(tag(exercise, 'value'), ['01', '26740', '26743'])
  t.same(tag(alert, 'status'), ['Actual'])
  t.equal((await cap(storm.id, hcm)).statusCode, 200, 'a target province reads it')
  t.equal((await cap(campaign.id, hanoi)).statusCode, 200)

  t.equal((await signedInject(app, central, { method: 'PUT', url: `/v2/contents/${storm.id}`, body: bulletin({ title: 'Bão số 3 mạnh thêm', priority: 'emergency', targets: ['79'] }) })).statusCode, 200)
  const second = (await cap(storm.id)).body
  t.same(tag(second, 'msgType'), ['Update'])
  t.match(tag(second, 'references')[0], new RegExp(`^ttn-central,ttn-central\\.${storm.id}\\.v1,\\S+\\+07:00$`), 'an update references the earlier alert')
  t.equal((await cap(storm.id, hanoi)).statusCode, 200, 'a province dropped from the targets still reads what it was sent')
  t.equal((await signedInject(app, central, { method: 'POST', url: `/v2/contents/${storm.id}/withdrawal`, body: { reason: 'Bão đã tan' } })).statusCode, 200)
  const cancel = (await cap(storm.id)).body
  t.same(tag(cancel, 'msgType'), ['Cancel'])
  t.same(tag(cancel, 'note'), ['Bão đã tan'])
  t.same(tag(cancel, 'references')[0]!.split(' ').length, 2, 'a cancel references both earlier versions')

  const feed = await signedInject(app, central, { method: 'GET', url: '/v2/cap/alerts' })
  t.equal(feed.statusCode, 200)
  t.equal(feed.headers['content-type'], 'application/atom+xml; charset=utf-8')
  const embedded = [...feed.body.matchAll(/<alert [\s\S]*?<\/alert>/g)].map((m) => m[0])
  t.equal(embedded.length, 3, 'the feed holds the drill, the campaign and the cancelled storm, not the normal item')
  t.equal((await signedInject(app, hcm, { method: 'GET', url: '/v2/cap/alerts' })).statusCode, 403, 'the export is central\'s')

  const documents = [alert, second, cancel, exercise, (await cap(campaign.id)).body, ...embedded]
  const verdicts = await validate(t, documents)
  t.same(verdicts, documents.map(() => 'valid'), 'every alert, and every one the feed carries, is valid against the CAP 1.2 schema')
  // The validation can fail: the same alert with a status CAP does not know is refused.
  const [broken] = await validate(t, [alert.replace('<status>Actual</status>', '<status>Real</status>')])
  t.match(broken, /^invalid: .*Real/)
})
